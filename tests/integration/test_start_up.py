"""Entry points load only what their command uses: `--help` nothing heavy, the terminal scan
AWS first and never Slack (fresh interpreters, so each test is a process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import bot_env, moto_http

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.process  # each test starts a fresh interpreter

HEAVY = ("moto", "matplotlib", "alembic", "boto3", "sqlalchemy", "slack_sdk", "slack_bolt", "flask")


LOADED = "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), flush=True)"


def printed_by(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The words a fresh interpreter prints running `code` (with sys imported)."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}"],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def loaded_by(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    return set(printed_by(f"{code}\n{LOADED}", env))


def test_help_loads_none_of_the_heavy_libraries():
    code = "from bot.__main__ import build_parser\nbuild_parser().format_help()"
    assert loaded_by(code) & set(HEAVY) == set()


FIRST_REQUEST = f"""
import os, botocore.hooks
emit = botocore.hooks.HierarchicalEmitter.emit
def first_request(self, name, **kwargs):
    if name.startswith("before-send"):
        {LOADED}
        os._exit(0)
    return emit(self, name, **kwargs)
botocore.hooks.HierarchicalEmitter.emit = first_request
from bot.__main__ import main
main(["scan"])"""


def test_the_terminal_scan_asks_aws_before_it_loads_the_database_and_never_loads_slack(
    tmp_path,
):
    fake_aws = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    loaded = loaded_by(FIRST_REQUEST, fake_aws | database)
    assert "boto3" in loaded and not loaded & {"sqlalchemy", "tabulate"}  # loaded while AWS answers
    assert loaded & {"moto", "matplotlib", "alembic", "slack_sdk", "slack_bolt", "flask"} == set()
    assert "slack_sdk" not in loaded_by("import bot.entry.cli, bot.application.scans")


LOADED_WHILE_AWS_ANSWERS = """
import time, botocore.hooks
emit = botocore.hooks.HierarchicalEmitter.emit
seen = {}
def watch(self, name, **kwargs):
    if name.startswith("before-send.iam") and "first" not in seen:
        seen["first"] = "sqlalchemy" in sys.modules
    if name.startswith("before-send.iam.GetAccountAuthorizationDetails") and "bulk" not in seen:
        deadline = time.monotonic() + 20  # AWS answers the bulk call once the database loads
        while "sqlalchemy" not in sys.modules and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["bulk"] = "sqlalchemy" in sys.modules
    return emit(self, name, **kwargs)
botocore.hooks.HierarchicalEmitter.emit = watch
from bot.__main__ import main
try:
    main(["scan", "--json"])
except SystemExit:
    pass
print("database-loaded-at", "first-iam-request", seen["first"], "bulk-call", seen["bulk"])"""


def test_the_terminal_scan_loads_its_database_once_its_first_iam_request_is_out(tmp_path):
    """Not at its first request (GetCallerIdentity): before the first IAM request, botocore
    still reads IAM's models, and they must not wait on the GIL behind SQLAlchemy's loading.
    Nor after the scan: the bulk call, held until the database loads, is answered."""
    with moto_http() as aws:
        env = bot_env(aws, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
        printed = printed_by(LOADED_WHILE_AWS_ANSWERS, env)
    at = printed.index("database-loaded-at")
    assert printed[at + 1 :] == ["first-iam-request", "False", "bulk-call", "True"]


TUNING = "gc.isenabled(), gc.get_threshold()[0], sys.getswitchinterval()"
TUNED_ONCE_LOADED = f"""
import gc, botocore.hooks
from bot.__main__ import main
emit = botocore.hooks.HierarchicalEmitter.emit
while_loading = []
def first_request(self, name, **kwargs):
    if name.startswith("before-send") and not while_loading:
        while_loading.append(({TUNING}))
    return emit(self, name, **kwargs)
botocore.hooks.HierarchicalEmitter.emit = first_request
try:
    main(["scan", "--demo", "--json"])
except SystemExit:
    pass
print("while-loading", *while_loading[0], "after", {TUNING})"""


def test_the_terminal_scan_tunes_its_process_once_loaded_and_the_web_app_not_at_all(tmp_path):
    """While the terminal scan loads, its AWS requests go out with the collector off and the
    interpreter's own switch interval; once loaded, it is tuned for scanning."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    printed = printed_by(TUNED_ONCE_LOADED, env)
    at = printed.index("while-loading")
    while_loading, after = printed[at + 1 : at + 4], printed[at + 5 :]
    assert while_loading[:2] == ["False", "700"] and float(while_loading[2]) == pytest.approx(0.005)
    assert after[:2] == ["True", "50000"] and float(after[2]) == pytest.approx(0.05)
    web = "import gc, bot.entry.web; print(gc.get_threshold()[0], sys.getswitchinterval())"
    threshold, interval = printed_by(web)
    assert int(threshold) == 700 and float(interval) == pytest.approx(0.005)


SCANNED = """
from bot.__main__ import main
try:
    main(["scan", "--demo", "--json"])
except SystemExit:
    pass
modules = ("sqlalchemy.orm", "storage.models", "alembic")
print("loaded", *(name in sys.modules for name in modules))"""


def test_the_terminal_scan_of_a_database_already_there_records_without_the_orm(tmp_path):
    """The ORM would be a tenth of a small account's scan: the scan's lease and recording are
    on SQLAlchemy Core (storage.scan_store), and alembic loads only to create or migrate."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    first = printed_by(SCANNED, env)
    assert first[first.index("loaded") + 3] == "True"  # the schema created
    again = printed_by(SCANNED, env)
    assert again[again.index("loaded") + 1 :] == ["False", "False", "False"]
