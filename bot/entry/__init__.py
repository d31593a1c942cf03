"""Entry points: the command line, the web process, settings from the environment, logging, and
the one bootstrap that wires everything. Nothing else in the bot imports this package."""
