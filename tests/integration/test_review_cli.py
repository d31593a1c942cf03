"""Review of the terminal side: `python -m bot ...` as an operator meets it (hostile cases)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_cli import ROOT, run_bot

pytestmark = pytest.mark.process


def test_ctrl_c_during_a_scan_stops_without_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env.update(PYTHONPATH=str(ROOT), AWS_EC2_METADATA_DISABLED="true")
    scan = subprocess.Popen(
        [sys.executable, "-m", "bot", "scan", "--demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal delivers it (a background child of a shell would ignore SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(0.3)  # still loading: what an operator pressing Ctrl-C at once meets
    scan.send_signal(signal.SIGINT)
    _out, err = scan.communicate(timeout=120)
    assert "Traceback" not in err, err[-600:]
    assert "KeyboardInterrupt" not in err


def _newer_schema(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    assert run_bot("migrate", cwd=tmp_path, DATABASE_URL=url).returncode == 0
    with sqlite3.connect(tmp_path / "bot.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    return url


@pytest.mark.parametrize("args", [["scan", "--demo"], ["migrate"]])
def test_a_database_of_a_newer_schema_stops_with_one_line_and_exit_2(tmp_path, args):
    """README: exit 2 for bad settings or a database that cannot be used, one line; exit 1
    means an account could not be scanned. export already says this in one line."""
    result = run_bot(*args, cwd=tmp_path, DATABASE_URL=_newer_schema(tmp_path))
    assert "Traceback" not in result.stderr, result.stderr[-400:]
    assert result.returncode == 2
    assert "newer than this version" in result.stderr


@pytest.mark.parametrize(
    "period",
    [["--until", "9999-12-31"], ["--until", "0001-01-05"]],
    ids=["until-the-last-day", "until-year-one"],
)
def test_export_periods_at_the_calendars_ends_stop_with_one_line(tmp_path, period):
    assert run_bot("scan", "--demo", cwd=tmp_path).returncode == 0
    url = f"sqlite:///{tmp_path / 'iam-inactive-demo.db'}"
    result = run_bot("export", *period, cwd=tmp_path, DATABASE_URL=url)
    assert "Traceback" not in result.stderr, result.stderr[-300:]
    assert result.returncode == 2
    (only_line,) = result.stderr.strip().splitlines()
    assert only_line.startswith("iam-inactive: --until")


@pytest.mark.parametrize("command", ["run", "scanner"])
def test_a_missing_slack_token_stops_with_one_line_and_creates_no_database(tmp_path, command):
    """README: 'A missing token or channel stops start-up with one line naming it'; the brief
    of a bad setting: change nothing."""
    result = run_bot(command, cwd=tmp_path, SLACK_CHANNEL="C0123456789")
    assert result.returncode == 2
    (only_line,) = result.stderr.strip().splitlines()
    assert "SLACK_BOT_TOKEN" in only_line
    assert not (tmp_path / "iam-inactive.db").exists()
