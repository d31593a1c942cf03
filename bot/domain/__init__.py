"""The pure domain: the detection rule, the report parser, the workflow policy, digest facts.

No I/O, and no imports from the rest of the bot (an import-linter contract checks it).
"""
