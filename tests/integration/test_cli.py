"""`python -m bot scan` as a person runs it: a real process, its output and its exit code."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.sheets import read_csv
from bot.entry import cli
from bot.entry.terminal import write_csv
from tests.unit.test_messages import row

pytestmark = pytest.mark.process  # each test starts processes of its own

ROOT = Path(__file__).resolve().parents[2]
DEMO_FINDINGS = {
    "alice@example.com",
    "bob",
    "carol",  # an idle access key beside a password in use
    "dave",
    "frank",
    "grace",
    "ivan",
    "legacy-etl",  # an idle access key, no password
    "svc-reporting",
    "trent",
}


def run_bot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    clean.update(PYTHONPATH=str(ROOT), AWS_EC2_METADATA_DISABLED="true", **env)
    clean.pop("DATABASE_URL", None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_scan_prints_a_table_and_records_it(tmp_path):
    first = run_bot("scan", "--demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split()[:4] == ["account", "user", "risk", "category"]
    # the riskiest first: privileged without MFA (longest idle first), privileged, the rest
    assert [line.split()[1] for line in lines[2:5]] == ["dave", "alice@example.com", "ivan"]
    assert "PRIVILEGED, NO MFA" in lines[2] and "PRIVILEGED " in lines[4]
    for user in DEMO_FINDINGS:
        assert user in first.stdout
    assert "heidi" not in first.stdout
    assert "10 findings (10 new, 0 resolved)" in first.stdout
    # appended columns: an idle key's finding names its key, its last use and its age; a
    # password finding, how many idle keys its decision deactivates with it
    assert lines[0].split()[-7:] == ["owner", "key", "key", "last", "use", "key", "age"]
    (etl,) = [line for line in lines if " legacy-etl " in line]
    assert "NO MFA ON KEYS" in etl and "idle_key (fully inactive)" in etl
    assert "key created " in etl and etl.endswith(" 800 days")
    (ivan,) = [line for line in lines if " ivan " in line]
    assert ivan.rstrip().endswith("+2 idle keys")
    assert "scanning 123456789012" in first.stderr
    assert (tmp_path / "iam-inactive-demo.db").exists()
    # closed by the command (the interpreter's last collection no longer sees its connections)
    assert not (tmp_path / "iam-inactive-demo.db-wal").exists()

    again = run_bot("scan", "--demo", cwd=tmp_path)
    assert "10 findings (0 new, 0 resolved)" in again.stdout
    assert "recorded as scan #2" in again.stdout


def test_demo_scan_as_json(tmp_path):
    result = run_bot("scan", "--demo", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    assert {f["user_name"] for f in findings} == DEMO_FINDINGS
    dave = next(f for f in findings if f["user_name"] == "dave")
    assert dave["password_last_used"] is None and dave["days_idle"] == 300
    assert dave["category"] == "dormant" and dave["fully_inactive"] is True
    bob = next(f for f in findings if f["user_name"] == "bob")
    assert bob["category"] == "keys_only" and bob["owner"] == "bob@example.com"
    assert bob["password_last_used"].endswith("+00:00")
    required = {"account_id", "user_name", "category", "fully_inactive", "password_last_used"}
    assert all(required | {"days_idle", "owner"} <= set(f) for f in findings)
    assert [f["user_name"] for f in findings][:3] == ["dave", "alice@example.com", "ivan"]
    alice = findings[1]
    assert alice["privileged"] is True and alice["mfa_active"] is False
    assert alice["privilege"] == "AdministratorAccess through group admins"
    assert alice["risk"] == "privileged, no MFA"
    assert alice["user_arn"] == "arn:aws:iam::123456789012:user/alice@example.com"
    assert alice["user_path"] == "/" and alice["access_keys"] == []
    # iam:* through a group: not administrator itself, but the user can make itself one
    assert findings[0]["privilege"] == "can iam:PutUserPolicy on self"
    assert findings[2]["mfa_active"] is True and findings[2]["risk"] == "privileged"
    assert [key["active"] for key in findings[2]["access_keys"]] == [True, True]
    assert bob["privileged"] is False and bob["risk"] == "no MFA"
    assert bob["key_id"] is bob["key_created"] is None and bob["idle_keys"] == []
    etl = next(f for f in findings if f["user_name"] == "legacy-etl")
    assert etl["category"] == "idle_key" and etl["risk"] == "no MFA on keys"
    assert etl["key_id"] is None  # the report names no key ids: its creation names it
    assert etl["key_created"].endswith("+00:00") and etl["key_age_days"] == 800
    assert etl["key_last_used"] == etl["newest_key_used"] and etl["days_idle"] == 200
    assert "key_last_used_service" in etl and etl["idle_keys"] == []
    ivan = findings[2]  # a password finding: both his keys are idle, and ride on it
    assert ivan["key_created"] is None and len(ivan["idle_keys"]) == 2
    assert all(key["active"] and key["created"] for key in ivan["idle_keys"])


def test_the_scan_csv_keeps_spreadsheets_from_running_owner_tags():
    out = io.StringIO()
    write_csv([row(owner="=HYPERLINK(1)", privilege="AdministratorAccess", privileged=True)], out)
    (written,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert written["owner"] == "'=HYPERLINK(1)" and written["privilege"] == "AdministratorAccess"
    assert written["days_idle"] == "120" and written["privileged"] == "true"
    assert written["account_id"] == "'111122223333"  # read as a number, its zeros would go
    _described, (restored,) = read_csv(out.getvalue())
    assert restored["owner"] == "=HYPERLINK(1)" and restored["account_id"] == "111122223333"


def test_demo_scan_as_csv_through_the_api_path(tmp_path):
    result = run_bot("scan", "--demo", "--csv", "--source", "api", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _described, rows = read_csv(result.stdout)
    assert {row["user_name"] for row in rows} == DEMO_FINDINGS
    assert rows[0]["account_id"] == "123456789012"
    # privilege comes from the bulk call, whatever the source; MFA only from the report, and
    # MFA not known counts as off: the privileged users, the longest idle first
    assert [row["user_name"] for row in rows][:3] == ["ivan", "dave", "alice@example.com"]
    assert rows[2]["privileged"] == "true" and {row["mfa_active"] for row in rows} == {""}
    (bob,) = [row for row in rows if row["user_name"] == "bob"]
    (key,) = json.loads(bob["access_keys"])
    assert key["active"] is True and key["last_used"] == bob["newest_key_used"]
    assert key["key_id"].startswith("AKIA")
    (etl,) = [row for row in rows if row["user_name"] == "legacy-etl"]
    assert etl["key_id"].startswith("AKIA")  # the API path knows its keys' ids
    assert etl["key_created"] and etl["key_age_days"] == "800" and etl["idle_keys"] == "[]"


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"CONSOLE_IDLE_DAYS": "abc"}, "CONSOLE_IDLE_DAYS must be a whole number"),
        ({"AWS_ROLE_ARNS": "not-an-arn"}, "AWS_ROLE_ARNS must be a comma-separated list"),
        ({"CATEGORIES": "stale"}, "CATEGORIES accepts dormant, keys_only, idle_key (unknown"),
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "mysql://db/bot"}, "DATABASE_URL must be a SQLite or PostgreSQL URL"),
        ({"CONSOLE_IDLE_DAYS": "1000000"}, "CONSOLE_IDLE_DAYS must be from 1 to 3650"),
        ({"PORT": "abc"}, "PORT must be a whole number"),
    ],
)
@pytest.mark.parametrize("command", ["scan", "run"])
def test_bad_settings_stop_with_one_line(tmp_path, env, line, command):
    args = ["scan", "--demo"] if command == "scan" else ["run"]
    result = run_bot(*args, cwd=tmp_path, **env)
    assert result.returncode == 2
    (only_line,) = result.stderr.strip().splitlines()
    assert only_line.startswith(f"iam-inactive: configuration error: {line}")
    assert "Traceback" not in result.stderr


def test_the_env_file_of_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("CONSOLE_IDLE_DAYS=abc\n")
    result = run_bot("scan", "--demo", cwd=tmp_path)
    assert result.returncode == 2
    assert "CONSOLE_IDLE_DAYS must be a whole number" in result.stderr


def test_two_first_scans_on_a_fresh_sqlite_file_both_succeed(tmp_path):
    """Migrations are serialized on SQLite too: none finds another's half-made tables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'shared.db'}")
    scans = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "scan", "--demo", "--json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(scan.wait(timeout=120), scan.stderr.read()) for scan in scans]
    codes = {code for code, _err in results}
    # Each scan runs, or is told another one is running (exit 3): none fails to start.
    assert 0 in codes and codes <= {0, 3}, results
    assert not any("already exists" in err for _code, err in results)


def test_missing_aws_credentials_is_a_clear_failure(tmp_path):
    result = run_bot(
        "scan",
        cwd=tmp_path,
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    assert result.returncode == 1
    assert "no AWS credentials found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_a_clear_failure(tmp_path):
    result = run_bot(
        "scan", "--demo", cwd=tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"
    )
    assert result.returncode == 2
    assert "cannot open the database (DATABASE_URL)" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_command(tmp_path):
    result = run_bot("migrate", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "iam-inactive.db").exists()


@pytest.fixture
def running_scan(tmp_path) -> Iterator[str]:
    """A scan Alice asked for, under way in another process: it renews its lease every second.
    The shared database's URL."""
    from datetime import timedelta

    from bot.application.scans import scan_lease
    from bot.domain.clock import utc_now
    from storage.db import make_engine, migrate
    from storage.repository import Repository

    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    lease = scan_lease(
        Repository(engine), utc_now, "slack:U0ALICE", lease_time=timedelta(seconds=4)
    )
    with lease:
        yield database_url


def test_a_second_scan_is_told_whose_scan_is_running(tmp_path, running_scan):
    database_url = running_scan
    result = run_bot("scan", "--demo", cwd=tmp_path, DATABASE_URL=database_url)
    assert result.returncode == 3
    assert "A scan started by <@U0ALICE> at" in result.stderr and "still running" in result.stderr
    # In-process: the AWS scan begun before the lease was asked for ends with the command.
    errors = io.StringIO()
    env = {"DATABASE_URL": database_url}
    assert cli.scan(env, demo=True, output="json", source=None, stderr=errors) == 3
    (only_line,) = errors.getvalue().strip().splitlines()  # not the dropped scan's progress
    assert "still running" in only_line
    assert not [
        t for t in threading.enumerate() if t.name == "scan" or t.name.startswith("account")
    ]


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["scan", "--demo"], {"DATABASE_URL": "sqlite:////nonexistent/dir/x.db"}, "cannot open"),
        (["scan", "--demo"], {"DATABASE_URL": "sqlite:///"}, "must name a SQLite file"),
        (["run", "--port", "70000"], {}, "a port is from 1 to 65535"),
    ],
    ids=["missing-directory", "no-file", "port-out-of-range"],
)
def test_more_bad_settings_stop_with_one_line(tmp_path, args, env, line):
    result = run_bot(*args, cwd=tmp_path, **env)
    assert result.returncode == 2 and line in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_env_file_stops_with_one_line(tmp_path):
    (tmp_path / ".env").write_bytes(b"CONSOLE_IDLE_DAYS=\xff\xfe\n")
    result = run_bot("scan", "--demo", cwd=tmp_path)
    assert result.returncode == 2 and "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_only_the_working_directorys_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("CONSOLE_IDLE_DAYS=abc\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    assert run_bot("scan", "--demo", cwd=inner).returncode == 0


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
    """Exit 2 and one line, as for any database that cannot be used (exit 1 means an account
    could not be scanned)."""
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
    """A missing token stops start-up with one line naming it, and changes nothing."""
    result = run_bot(command, cwd=tmp_path, SLACK_CHANNEL="C0123456789")
    assert result.returncode == 2
    (only_line,) = result.stderr.strip().splitlines()
    assert "SLACK_BOT_TOKEN" in only_line
    assert not (tmp_path / "iam-inactive.db").exists()
