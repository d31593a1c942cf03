"""The whole population (issue 24 point 4): every IAM user's verdict recorded with each scan, as
intervals a steady scan does not write, and exported for a period as a row per user per account
at its latest scan, with the failed accounts said (SQLite and PostgreSQL; the terminal as a
real process). The history is made by the scan recorder and the decision service."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from bot.application.evidence import PopulationExport, population
from bot.domain.evidence import Period
from bot.domain.population import NOT_RECORDED, POPULATION_COLUMNS
from bot.domain.scan import AccountScan
from bot.domain.settings import Settings
from bot.domain.sheets import read_csv
from storage import models
from storage.repository import Repository
from tests.integration.conftest import session_of
from tests.integration.test_cli import run_bot
from tests.integration.test_decisions import APPROVER
from tests.integration.test_evidence import JUNE, day, decide, removal_confirmed
from tests.integration.test_storage import ACCOUNT, OTHER, T0, account_scan, facts, scan
from tests.support.fake_iam import FakeIam

FAILING = replace(ACCOUNT, account_id="012345678901")  # a leading zero a spreadsheet would drop
DENIED = "AccessDenied: not authorized to perform sts:AssumeRole"
HOSTILE = "=cmd|' /C calc'!A0"  # IAM allows = + @ - in user names


def users_on(at, *, ann_removed: bool = False):
    """ann and ben idle, cat without a password, dan signed in recently; `at` day 10: ann's
    password removed, the hostile user deleted, fay new."""
    names = [
        facts("ann", at=at, has_password=not ann_removed),
        facts("ben", at=at),
        facts("cat", at=at, has_password=False),
        facts("dan", at=at, used_days_before=5 + (at - T0).days),
    ]
    if at == T0:
        names.append(facts(HOSTILE, at=at, used_days_before=30))
    else:
        names.append(facts("fay", at=at, created=at - timedelta(days=3)))
    return names


@dataclass
class Month:
    repository: Repository
    ids: dict[str, str]


@pytest.fixture
def month(repository) -> Month:
    """June: the first scan reads both accounts, FAILING fails; ben kept on day 1, ann removed
    on day 2; the second scan (day 10) reads ACCOUNT only."""
    eve = facts("eve", account_id=OTHER.account_id)
    record = repository.record_scan(
        scan(
            account_scan(ACCOUNT, users_on(T0), T0),
            account_scan(OTHER, [eve], T0),
            AccountScan(FAILING, error=DENIED),
        ),
        "cli",
        dry_run=False,
    )
    ids = {row.user_name: row.id for row in record.new}
    iam = FakeIam(*users_on(T0), eve)
    decide(repository, day(1), iam).keep(ids["ben"], APPROVER, "on leave", 30)
    assert "removed" in removal_confirmed(decide(repository, day(2), iam), ids["ann"])
    later = account_scan(ACCOUNT, users_on(day(10), ann_removed=True), day(10))
    failed = [AccountScan(OTHER, error="throttled"), AccountScan(FAILING, error=DENIED)]
    repository.record_scan(scan(later, *failed, at=day(10)), "cli", dry_run=False)
    return Month(repository, ids)


def intervals(repository) -> list[tuple[str, str, object, object]]:
    with session_of(repository) as session:
        a = models.Assessment
        query = select(a.user_name, a.verdict, a.since, a.until).order_by(a.id)
        return [tuple(row) for row in session.execute(query)]


def rows_of(made: PopulationExport) -> list[dict[str, str]]:
    _described, rows = read_csv(made.csv())
    assert all(tuple(row) == POPULATION_COLUMNS for row in rows)
    return rows


# --- recording --------------------------------------------------------------------------------


def test_the_first_scan_records_every_user_once_and_a_steady_scan_writes_nothing(repository):
    users = [facts("ann"), facts("cat", has_password=False), facts("dan", used_days_before=5)]
    repository.record_scan(scan(account_scan(ACCOUNT, users, T0)), "cli", dry_run=False)
    first = intervals(repository)
    assert first == [
        ("cat", "no console password", T0, None),
        ("dan", "password used in the last 90 days", T0, None),
        ("ann", "finding: dormant", T0, None),
    ]
    same = [
        facts("ann", at=day(1)),
        facts("cat", has_password=False),
        facts("dan", at=day(1), used_days_before=6),
    ]
    repository.record_scan(
        scan(account_scan(ACCOUNT, same, day(1)), at=day(1)), "cli", dry_run=False
    )
    assert intervals(repository) == first  # judged the same: nothing written


def test_a_changed_verdict_and_a_user_gone_end_their_intervals_a_failed_account_keeps_its(
    repository,
):
    eve = facts("eve", account_id=OTHER.account_id)
    users = [facts("ann"), facts("ben")]
    repository.record_scan(
        scan(account_scan(ACCOUNT, users, T0), account_scan(OTHER, [eve], T0)), "cli", dry_run=False
    )
    changed = [facts("ann", at=day(5), used_days_before=1)]  # ann signed in, ben deleted
    repository.record_scan(
        scan(account_scan(ACCOUNT, changed, day(5)), AccountScan(OTHER, error="x"), at=day(5)),
        "cli",
        dry_run=False,
    )
    assert intervals(repository) == [
        ("ann", "finding: dormant", T0, day(5)),
        ("ben", "finding: dormant", T0, day(5)),
        ("eve", "finding: dormant", T0, None),  # its account failed: as it was
        ("ann", "password used in the last 90 days", day(5), None),
    ]


# --- the export ---------------------------------------------------------------------------------


def test_a_month_is_every_user_at_its_accounts_latest_read_and_the_account_that_failed(month):
    made = population(month.repository, Settings(), JUNE)
    rows = rows_of(made)
    table = [(r["account_id"], r["user_name"], r["verdict"], r["last_assessed"]) for r in rows]
    day0, day10 = "2026-06-01T12:00:00+00:00", "2026-06-11T12:00:00+00:00"
    assert table == [
        ("012345678901", "", f"not scanned: {DENIED}", day10),
        ("111122223333", "ann", "no console password", day10),
        ("111122223333", "ben", "finding: dormant", day10),
        ("111122223333", "cat", "no console password", day10),
        ("111122223333", "dan", "password used in the last 90 days", day10),
        ("111122223333", "fay", "user created in the last 90 days", day10),
        ("444455556666", "eve", "finding: dormant", day0),  # day 10 failed: its last read
    ]
    by_user = {r["user_name"]: r for r in rows}
    assert by_user["cat"]["verdict_since"] == day0 and by_user["ann"]["verdict_since"] == day10
    ben = by_user["ben"]
    assert (ben["finding_id"], ben["finding_outcome"]) == (month.ids["ben"], "kept")
    assert ben["kept_until"] == "2026-07-02T12:00:00+00:00"
    assert (by_user["eve"]["finding_outcome"], by_user["eve"]["kept_until"]) == ("open", "")
    assert by_user["cat"]["finding_id"] == "" and by_user["eve"]["scan_id"] == "1"
    summary = made.summary
    assert (summary.accounts, summary.not_scanned, summary.users) == (3, 1, 6)
    assert summary.line() == (
        "Population for 2026-06-01 to 2026-06-30 (UTC), all accounts: 6 users assessed in "
        "2 accounts (2 findings); accounts not scanned: 1."
    )


def test_an_earlier_period_shows_verdicts_as_they_were_at_its_own_latest_scan(month):
    made = population(month.repository, Settings(), Period(T0, day(5)))
    by_user = {r["user_name"]: r for r in rows_of(made)}
    assert sorted(by_user) == ["", HOSTILE, "ann", "ben", "cat", "dan", "eve"]
    ann = by_user["ann"]
    assert (ann["verdict"], ann["finding_outcome"]) == ("finding: dormant", "removed")
    assert by_user[HOSTILE]["verdict"] == "password used in the last 90 days"


def test_names_and_account_ids_open_as_text_in_a_spreadsheet_and_raw_in_json(month):
    made = population(month.repository, Settings(), Period(T0, day(5)))
    raw = made.csv().removeprefix("\ufeff")
    cells = [row for row in csv.reader(io.StringIO(raw, newline="")) if not row[0].startswith("#")]
    assert [row[2] for row in cells if row[2].endswith("calc'!A0")] == ["'" + HOSTILE]
    assert {row[0] for row in cells if row[0].endswith("012345678901")} == {"'012345678901"}
    document = json.loads(made.json())
    assert document["about"]["export"] == "iam-inactive population"
    assert HOSTILE in {user["user_name"] for user in document["users"]}
    assert document["summary"]["by_verdict"]["finding: dormant"] == 3
    assert list(document["users"][0]) == list(POPULATION_COLUMNS)


def test_an_account_filter_and_accounts_with_no_users_or_no_recorded_verdicts(month):
    only = population(month.repository, Settings(), JUNE, OTHER.account_id)
    assert [(r["user_name"], r["verdict"]) for r in rows_of(only)] == [("eve", "finding: dormant")]
    assert only.about.accounts == (OTHER.account_id,)
    empty = replace(ACCOUNT, account_id="999988887777")
    month.repository.record_scan(
        scan(account_scan(empty, [], day(11)), at=day(11)), "cli", dry_run=False
    )
    with session_of(month.repository) as session, session.begin():  # as scans before 0010 left
        session.execute(
            delete(models.Assessment).where(models.Assessment.account_id == OTHER.account_id)
        )
    verdicts = {
        r["account_id"]: r["verdict"]
        for r in rows_of(population(month.repository, Settings(), JUNE))
        if not r["user_name"]
    }
    assert verdicts[empty.account_id] == "no IAM users"
    assert verdicts[OTHER.account_id] == NOT_RECORDED


def test_a_period_with_no_scan_is_empty_but_well_formed(month):
    made = population(month.repository, Settings(), Period(day(-30), day(-1)))
    assert rows_of(made) == [] and made.summary.users == 0
    assert json.loads(made.json())["users"] == []


def test_the_month_wrote_only_what_changed(month):
    # 6 users read on day 0; on day 10 ann's verdict changed, the hostile user went, fay came
    recorded = intervals(month.repository)
    assert len(recorded) == 8 and sum(1 for *_, until in recorded if until is not None) == 2


# --- python -m bot export --population, as a person runs it ---------------------------------------


@pytest.mark.process
def test_the_terminal_writes_the_population_as_csv_and_json(month, database_url, tmp_path):
    period = ("--since", "2026-06-01", "--until", "2026-06-30")
    done = run_bot("export", "--population", *period, cwd=tmp_path, DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("\ufeff# iam-inactive population export")
    described, rows = read_csv(done.stdout)
    made = population(month.repository, Settings(), JUNE)
    assert rows == rows_of(made)
    assert ["# period", "2026-06-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"] in described
    assert done.stderr.strip().splitlines() == [made.summary.line()]

    out = tmp_path / "population.json"
    done = run_bot(
        "export",
        "--population",
        *period,
        "--account",
        FAILING.account_id,
        "--format",
        "json",
        "--output",
        str(out),
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    assert done.returncode == 0, done.stderr
    (user,) = json.loads(out.read_text(encoding="utf-8"))["users"]
    assert user["verdict"] == f"not scanned: {DENIED}" and user["user_name"] is None
    assert "accounts not scanned: 1." in done.stderr
