"""Evidence for access reviews: a period's findings with their whole history, as CSV and JSON,
with the period's summary (SQLite and PostgreSQL; the terminal as a real process).

The history is made by the scan recorder and the decision service, as the bot makes it: a
month of two scans and decisions of every kind, one keep reason written to look like a
spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config

from bot.application.decisions import Decisions
from bot.application.evidence import Export, export
from bot.domain.evidence import (
    COLUMNS,
    EvidenceError,
    Period,
    check_account,
    last_days,
    period_of,
)
from bot.domain.settings import Settings
from bot.domain.sheets import read_csv
from bot.domain.workflow import Intent
from storage.db import MIGRATIONS, current_revision, make_engine
from storage.repository import Repository
from tests.integration.test_cli import run_bot
from tests.integration.test_decisions import APPROVER, OWNER
from tests.integration.test_storage import ACCOUNT, OTHER, T0, account_scan, facts, scan
from tests.support.fake_iam import FakeIam, access_denied

FORMULA = '=HYPERLINK("http://evil.example","click")'
SETTINGS = Settings()
JUNE = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


def day(n: int) -> datetime:
    """`n` days after the first scan (T0, 2026-06-01 12:00 UTC)."""
    return T0 + timedelta(days=n)


@dataclass
class Month:
    """Two scans and a decision of each kind; finding ids by user name."""

    repository: Repository
    ids: dict[str, str]


def decide(repository: Repository, at: datetime, iam: FakeIam, **settings: object) -> Decisions:
    return Decisions(
        repository, Settings(**settings), lambda _account, _in_time: iam, clock=lambda: at
    )


def removal_confirmed(decisions: Decisions, finding_id: str) -> str:
    decisions.request_disable(finding_id, APPROVER, owner=None, owner_unreachable=False)
    decisions.await_owner(finding_id, OWNER.id, APPROVER)
    return decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "yes").summary


@pytest.fixture
def month(repository) -> Month:
    """ann removed on day 2, ben kept on day 3 (a formula as reason), eve (another account)
    failed on day 4, fay removed in a dry run on day 5; the second scan (day 10) resolves dan,
    who signed in again; cat's removal is aborted on day 12, she signed in meanwhile."""
    users = [facts(name, mfa_active=name != "ann") for name in ("ann", "ben", "cat", "dan", "fay")]
    eve = facts("eve", account_id=OTHER.account_id)
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, users, T0), account_scan(OTHER, [eve], T0)),
        "cli",
        dry_run=False,
    )
    ids = {row.user_name: row.id for row in record.new}
    iam = FakeIam(*users, eve)

    assert "removed" in removal_confirmed(decide(repository, day(2), iam), ids["ann"])
    decide(repository, day(3), iam).keep(ids["ben"], APPROVER, FORMULA, 30)
    iam.error = access_denied("GetUser")
    assert "failed" in removal_confirmed(decide(repository, day(4), iam), ids["eve"])
    iam.error = None
    assert "Dry run" in removal_confirmed(decide(repository, day(5), iam, dry_run=True), ids["fay"])

    later = [facts(name, at=day(10)) for name in ("ben", "cat")]
    later.append(facts("dan", at=day(10), used_days_before=2))
    repository.record_scan(
        scan(account_scan(ACCOUNT, later, day(10)), at=day(10)), "cli", dry_run=False
    )
    iam.users["cat"] = facts("cat", at=day(12), used_days_before=1)
    assert "Not removed" in removal_confirmed(decide(repository, day(12), iam), ids["cat"])
    return Month(repository, ids)


def rows_of(made: Export) -> list[dict[str, str]]:
    """The CSV's records, each cell as recorded (read back as docs/evidence.md says)."""
    _described, rows = read_csv(made.csv())
    assert all(tuple(row) == COLUMNS for row in rows)
    return rows


def raw_rows_of(made: Export) -> list[dict[str, str]]:
    """The CSV's records, each cell as a spreadsheet gets it."""
    lines = made.csv().removeprefix("\ufeff")
    rows = [row for row in csv.reader(io.StringIO(lines, newline="")) if not row[0].startswith("#")]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_a_month_of_decisions_is_exported_event_by_event(month):
    made = export(month.repository, SETTINGS, JUNE)
    rows = rows_of(made)
    trail = [(r["user_name"], r["action"]) for r in rows if r["user_name"] in ("ann", "cat")]
    assert trail == [
        ("ann", "opened"),
        ("ann", "disable_requested"),
        ("ann", "awaiting_owner"),
        ("ann", "owner_confirmed"),
        ("ann", "disabling"),
        ("ann", "disabled"),
        ("cat", "opened"),
        ("cat", "disable_requested"),
        ("cat", "awaiting_owner"),
        ("cat", "owner_confirmed"),
        ("cat", "aborted"),
    ]
    by_user = {r["user_name"]: r for r in rows}  # each user's last event
    assert by_user["ann"]["outcome"] == "removed" and by_user["ann"]["dry_run"] == "false"
    assert by_user["ann"]["closed_at"] == "2026-06-03T12:00:00+00:00"
    assert (by_user["ann"]["mfa_active"], by_user["fay"]["mfa_active"]) == ("false", "true")
    assert by_user["ann"]["privileged"] == ""  # not known: the scan did not make the bulk call
    assert by_user["ann"]["reason"] == "console password removed"
    assert by_user["fay"]["outcome"] == "removed (dry run)" and by_user["fay"]["dry_run"] == "true"
    assert by_user["cat"]["reason"] == "re-check: password used in the last 90 days"
    assert by_user["dan"]["outcome"] == "resolved" and by_user["dan"]["event_at"].startswith(
        "2026-06-11T12:00:00"
    )
    assert (
        by_user["eve"]["account_id"] == OTHER.account_id and by_user["eve"]["outcome"] == "failed"
    )
    assert by_user["eve"]["reason"].startswith("live re-check failed: GetUser failed")
    opened = next(r for r in rows if r["user_name"] == "ann" and r["action"] == "opened")
    assert (
        opened["reason"] == "idle 200 days" and opened["first_seen"] == "2026-06-01T12:00:00+00:00"
    )
    assert opened["password_last_used"] == "2025-11-13T12:00:00+00:00"
    rechecked = next(r for r in rows if r["user_name"] == "ann" and r["action"] == "disabling")
    assert rechecked["reason"] == "re-check: still idle"
    assert json.loads(rechecked["details"]) == {
        "user_id": "AIDAANN",
        "category": "dormant",
        "days_idle": 202,
        "password_last_used": "2025-11-13T12:00:00+00:00",
        "newest_key_used": None,
        "owner": None,
        "dry_run": False,
    }
    asked = next(r for r in rows if r["user_name"] == "ann" and r["action"] == "disable_requested")
    assert asked["actor"] == APPROVER.id and asked["surface"] == "slack-channel"
    assert json.loads(asked["details"]) == {
        "owner": None,
        "owner_unreachable": False,
        "dry_run": False,
    }


def test_a_keep_reason_like_a_formula_is_neutralised_in_csv_and_raw_in_json(month):
    made = export(month.repository, SETTINGS, JUNE)
    (kept,) = [r for r in raw_rows_of(made) if r["action"] == "kept"]
    assert kept["reason"] == "'" + FORMULA
    (kept,) = [r for r in rows_of(made) if r["action"] == "kept"]
    assert kept["reason"] == FORMULA and kept["actor"] == APPROVER.id
    assert kept["kept_until"] == "2026-07-04T12:00:00+00:00" and kept["outcome"] == "kept"
    (ben,) = [f for f in json.loads(made.json())["findings"] if f["user_name"] == "ben"]
    assert ben["events"][-1]["reason"] == FORMULA
    assert ben["events"][-1]["details"] == {"kept_until": "2026-07-04T12:00:00+00:00"}


def test_the_summary_counts_the_period_and_heads_the_json(month):
    made = export(month.repository, SETTINGS, JUNE)
    summary = json.loads(made.json())["summary"]
    assert {k: v for k, v in summary.items() if k not in ("line", "since", "until")} == {
        "account_id": None,
        "findings": 6,
        "found": 6,
        "removed": 1,
        "removed_in_dry_run": 1,
        "kept": 1,
        "aborted": 1,
        "failed": 1,
        "resolved": 1,
        "still_open": 1,  # eve: failed, waiting for a new decision
        "median_days_to_decision": 4.0,  # 2, 3, 4, 5 and 12 days
        "deactivated": 0,  # no idle access key in this month (test_key_evidence)
        "deactivated_in_dry_run": 0,
        "reactivated": 0,
        "keys_deleted": 0,
    }
    assert summary["since"] == "2026-06-01T00:00:00+00:00"
    assert summary["line"] == made.summary.line()
    assert made.summary.line() == (
        "Evidence for 2026-06-01 to 2026-06-30 (UTC), all accounts: 6 findings; 6 found, "
        "1 removed (+1 in dry run), 1 kept, 1 aborted, 1 failed, 1 resolved, 1 still open; "
        "median days to decision 4 days."
    )


def test_a_later_period_holds_the_findings_open_or_moved_in_it_with_their_whole_history(month):
    """ann (removed) and fay (removed in a dry run) closed before June 11; ben's keep and eve's
    failed removal still stand in it; dan is resolved and cat aborted in it."""
    made = export(month.repository, SETTINGS, period_of("2026-06-11", "2026-06-30", T0))
    rows = rows_of(made)
    assert sorted({r["user_name"] for r in rows}) == ["ben", "cat", "dan", "eve"]
    assert [r["action"] for r in rows if r["user_name"] == "cat"][0] == "opened"  # on June 1
    summary = made.summary
    assert (summary.found, summary.aborted, summary.resolved, summary.removed) == (0, 1, 1, 0)
    assert summary.median_days_to_decision == 12.0


def test_an_earlier_period_counts_states_as_they_were_at_its_end(month):
    made = export(month.repository, SETTINGS, period_of("2026-06-01", "2026-06-02", T0))
    summary = made.summary
    assert (summary.findings, summary.found, summary.still_open) == (6, 6, 6)
    assert (summary.removed, summary.kept, summary.median_days_to_decision) == (0, 0, None)
    # The history is whole even so: ann's removal two days later is in the file.
    assert "disabled" in {r["action"] for r in rows_of(made) if r["user_name"] == "ann"}


def test_an_account_filter_keeps_only_that_account(month):
    made = export(month.repository, SETTINGS, JUNE, OTHER.account_id)
    assert {r["user_name"] for r in rows_of(made)} == {"eve"}
    assert made.summary.findings == 1 and "account 444455556666" in made.summary.line()


def test_a_period_before_anything_was_found_is_empty_but_well_formed(month):
    made = export(month.repository, SETTINGS, period_of("2026-05-01", "2026-05-31", T0))
    assert rows_of(made) == [] and made.summary.findings == 0
    assert json.loads(made.json())["findings"] == []


@pytest.mark.parametrize(
    ("since", "until", "problem"),
    [
        ("2026-02-30", None, "--since takes a date"),
        ("yesterday", None, "--since takes a date"),
        (None, "2026-6-1", "--until takes a date"),
        ("2026-06-10", "2026-06-01", "--until (2026-06-01) must be after --since (2026-06-10)"),
        ("2026-07-01", None, "--until (now) must be after --since (2026-07-01)"),
    ],
)
def test_bad_periods_say_what_is_wrong(since, until, problem):
    with pytest.raises(EvidenceError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        period_of(since, until, T0)


def test_periods_are_whole_utc_days_until_included():
    assert period_of("2026-06-01", "2026-06-01", T0) == Period(
        datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    )
    assert period_of(None, None, T0) == Period(T0 - timedelta(days=90), T0)
    assert period_of("2026-06-01T10:00:00+02:00", None, T0).since == datetime(
        2026, 6, 1, 8, tzinfo=UTC
    )
    assert last_days(30, T0) == Period(T0 - timedelta(days=30), T0)
    # a day in ISO 8601's basic form is a whole day too
    assert period_of("20260601", "20260630", T0) == period_of("2026-06-01", "2026-06-30", T0)
    with pytest.raises(EvidenceError, match="12-digit"):
        check_account("12345678901x")


# --- python -m bot export, as a person runs it --------------------------------------------------


def test_the_terminal_writes_csv_to_stdout_and_the_summary_to_stderr(month, database_url, tmp_path):
    done = run_bot(
        "export",
        "--since",
        "2026-06-01",
        "--until",
        "2026-06-30",
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("\ufeff# iam-inactive evidence export")  # Excel needs the BOM
    described, rows = read_csv(done.stdout)
    made = export(month.repository, SETTINGS, JUNE)
    assert rows == [{**row, "event_id": row["event_id"]} for row in rows_of(made)]
    assert FORMULA in {r["reason"] for r in rows}
    assert ["# period", "2026-06-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"] in described
    assert done.stderr.strip().splitlines() == [made.summary.line()]
    piped = run_bot("export", "--no-bom", cwd=tmp_path, DATABASE_URL=database_url)
    assert piped.returncode == 0 and piped.stdout.startswith("# iam-inactive evidence export")


def test_the_terminal_writes_json_to_a_file(month, database_url, tmp_path):
    out = tmp_path / "evidence.json"
    done = run_bot(
        "export",
        "--since",
        "2026-06-01",
        "--until",
        "2026-06-30",
        "--account",
        OTHER.account_id,
        "--format",
        "json",
        "--output",
        str(out),
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    document = json.loads(out.read_text())
    assert [f["user_name"] for f in document["findings"]] == ["eve"]
    assert document["summary"]["failed"] == 1 and "1 failed" in done.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--since", "2026-13-01"], "--since takes a date (YYYY-MM-DD)"),
        (
            ["--since", "2026-06-10", "--until", "2026-06-01"],
            "--until (2026-06-01) must be after --since (2026-06-10).",
        ),
        (["--account", "1234"], "--account takes a 12-digit AWS account id, not '1234'"),
    ],
)
def test_bad_arguments_give_one_line_exit_2_and_change_nothing(tmp_path, args, problem):
    database = tmp_path / "never.db"
    done = run_bot("export", *args, cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"iam-inactive: {problem}")
    assert done.stdout == "" and not database.exists()


def test_a_database_that_is_not_there_or_not_current_is_refused_not_created(tmp_path):
    missing = tmp_path / "typo.db"
    done = run_bot("export", cwd=tmp_path, DATABASE_URL=f"sqlite:///{missing}")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        "iam-inactive: cannot read the records (DATABASE_URL): "
        f"there is no database file at {missing}"
    )
    assert not missing.exists()

    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    with engine.begin() as connection:  # an older schema, as a release before this one left it
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    engine.dispose()
    done = run_bot("export", cwd=tmp_path, DATABASE_URL=f"sqlite:///{old}")
    assert done.returncode == 2
    assert "its schema is at revision 0006; run `python -m bot migrate` first" in done.stderr
    with make_engine(f"sqlite:///{old}").connect() as connection:
        assert current_revision(connection) == "0006"  # not migrated by a read


def test_the_export_leaves_the_database_as_it_found_it(tmp_path):
    database = tmp_path / "kept.db"
    assert run_bot("migrate", cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}").returncode == 0
    with sqlite3.connect(database) as connection:  # as a copy restored from a backup might be
        connection.execute("PRAGMA journal_mode=DELETE")
    done = run_bot("export", cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    done = run_bot("export", cwd=tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert done.returncode == 2
    assert "its schema (revision 9999) is newer than this version of iam-inactive" in done.stderr


def test_an_output_file_that_cannot_be_written_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "missing-directory" / "evidence.csv"
    assert run_bot("migrate", cwd=tmp_path).returncode == 0
    done = run_bot("export", "--output", str(out), cwd=tmp_path)
    assert done.returncode == 2 and not out.exists()
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"iam-inactive: cannot write {out}: No such file or directory")
