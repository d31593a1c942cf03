"""The shape of the code: one-way imports (import-linter contracts in pyproject.toml) and small
modules. What each entry point loads: tests/integration/test_start_up.py."""

from __future__ import annotations

import logging
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400


def test_imports_go_one_way():
    # import-linter configures logging as a command line tool does, disabling every logger that
    # exists by then: the bot's are enabled again, for the tests that read what they log.
    loggers = logging.root.manager.loggerDict.values()
    enabled = [logger for logger in loggers if isinstance(logger, logging.Logger)]
    enabled = [logger for logger in enabled if not logger.disabled]
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
    finally:
        for logger in enabled:
            logger.disabled = False


def test_no_module_is_over_400_lines():
    sources = [
        path
        for folder in ("bot", "handlers", "storage", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
    ]
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


PROCESS_WIDE = ("gc.set_threshold", "sys.setswitchinterval", "gc.disable", "gc.freeze")


def test_only_entry_points_change_the_interpreter_for_the_whole_process():
    """Library code that tunes the interpreter tunes every thread of whatever process imports
    it (the web workers answering Slack among them): only bot/entry does, once."""
    library = [
        path
        for folder in ("bot", "handlers", "storage")
        for path in (ROOT / folder).rglob("*.py")
        if "entry" not in path.relative_to(ROOT).parts
    ]
    tuning = {
        str(path.relative_to(ROOT))
        for path in library
        if any(call in path.read_text() for call in PROCESS_WIDE)
    }
    assert tuning == set()
