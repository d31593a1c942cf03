"""The shape of the code: one-way imports (import-linter contracts in pyproject.toml), small
modules, and entry points that load only what their command uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
HEAVY = ("moto", "matplotlib", "alembic", "boto3", "sqlalchemy", "slack_sdk", "slack_bolt", "flask")


def test_imports_go_one_way():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


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


def loaded_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_help_loads_none_of_the_heavy_libraries():
    code = "from bot.__main__ import build_parser\nbuild_parser().format_help()"
    assert loaded_by(code) & set(HEAVY) == set()


def test_the_terminal_scan_loads_neither_slack_nor_the_demo_nor_charts():
    loaded = loaded_by("import bot.entry.cli")
    assert {"boto3", "sqlalchemy"} <= loaded  # the scan's own work
    assert loaded & {"moto", "matplotlib", "alembic", "slack_sdk", "slack_bolt", "flask"} == set()
