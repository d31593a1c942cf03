"""What a period's evidence holds: every finding open at any time in it (an exception to the
control is evidence while it lasts, even when nothing happened to it), each read as one moment
of the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from bot.application.evidence import export, population
from bot.domain.evidence import Period
from bot.domain.scan import AccountScan
from bot.domain.settings import Settings
from bot.domain.workflow import State
from tests.integration.test_cli import run_bot
from tests.integration.test_decisions import APPROVER
from tests.integration.test_evidence import decide
from tests.integration.test_storage import ACCOUNT, T0, account_scan, facts, scan
from tests.support.fake_iam import FakeIam

MAY = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
JUNE = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


def found_idle_again_in_june(repository, name: str) -> None:
    """A June scan finds `name`'s password idle still (nobody decided anything)."""
    june = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    user = facts(name, at=june, used_days_before=245)
    repository.record_scan(scan(account_scan(ACCOUNT, [user], june), at=june), "cli", dry_run=False)


def test_a_finding_opened_before_the_period_and_open_all_through_it_is_exported(repository):
    """ann's password was found idle in May; June's scans find it idle again and nobody decides.
    The June evidence must show it (an unremediated exception to the control); the population
    export of the same period says it is an open finding."""
    repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann", at=MAY)], MAY), at=MAY), "cli", dry_run=False
    )
    found_idle_again_in_june(repository, "ann")
    people = population(repository, Settings(), JUNE)
    (ann,) = [row for row in people.rows if row.get("user_name") == "ann"]
    assert ann["finding_outcome"] == "open"  # the population export sees the open finding

    made = export(repository, Settings(), JUNE)
    assert [finding.user_name for finding, _ in made.records] == ["ann"]
    assert made.summary.still_open == 1


def test_a_finding_of_an_account_no_june_scan_could_read_is_exported(repository):
    """bob's password was found idle in May; every June scan fails to read the account
    (AccessDenied). The population says `not scanned`; the evidence must still carry bob's
    finding, open all June (it is the very credential the control is about)."""
    repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("bob", at=MAY)], MAY), at=MAY), "cli", dry_run=False
    )
    june = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    failed = AccountScan(ACCOUNT, error="AccessDenied: sts:AssumeRole")
    repository.record_scan(scan(failed, at=june), "cli", dry_run=False)

    people = population(repository, Settings(), JUNE)
    assert [row["verdict"] for row in people.rows] == ["not scanned: AccessDenied: sts:AssumeRole"]
    made = export(repository, Settings(), JUNE)
    assert made.about.accounts == (ACCOUNT.account_id,)
    assert [finding.user_name for finding, _ in made.records] == ["bob"]


def test_a_keep_granted_before_the_period_and_in_force_all_through_it_is_exported(repository):
    """cat was kept in May for 90 days (an accepted exception to the control, in force all of
    June); June's scan sees her still idle. The June evidence must show the exception and who
    granted it; it shows nothing."""
    ann = facts("cat", at=MAY)
    (row,) = repository.record_scan(
        scan(account_scan(ACCOUNT, [ann], MAY), at=MAY), "cli", dry_run=False
    ).new
    decide(repository, MAY + timedelta(days=1), FakeIam(ann)).keep(
        row.id, APPROVER, "service account", 90
    )
    found_idle_again_in_june(repository, "cat")
    made = export(repository, Settings(), JUNE)
    assert [finding.user_name for finding, _ in made.records] == ["cat"]


def test_an_export_read_while_a_keep_commits_shows_the_finding_as_of_one_moment(repository):
    """The keep commits after the export read the findings and before it read their events:
    the export reads one snapshot, so the finding's columns and its events agree (here, as
    before the keep), and so does the summary counted from the events."""
    ann = facts("ann")
    (row,) = repository.record_scan(
        scan(account_scan(ACCOUNT, [ann], T0)), "cli", dry_run=False
    ).new
    kept = []

    def keep_meanwhile(conn, cursor, statement, parameters, context, executemany):
        if not kept and statement.lstrip().startswith("SELECT audit_events."):
            kept.append(
                decide(repository, T0 + timedelta(days=3), FakeIam(ann)).keep(
                    row.id, APPROVER, "still needed", 30
                )
            )

    event.listen(repository.engine, "before_cursor_execute", keep_meanwhile)
    try:
        made = export(repository, Settings(), JUNE)
    finally:
        event.remove(repository.engine, "before_cursor_execute", keep_meanwhile)
    assert kept and repository.finding(row.id).state == State.KEPT  # it did commit meanwhile
    ((finding, events),) = made.records
    assert (finding.state, [e.action for e in events]) == (State.OPEN, ["opened"])
    assert made.summary.kept == 0 and made.summary.still_open == 1


def test_an_account_no_scan_of_the_period_covered_is_said_so(repository, database_url, tmp_path):
    """An export for an account the period's scans never covered (a mistyped id, an account
    never scanned) is well-formed and empty, and the person is told why it is empty."""
    repository.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    period = ("--since", "2026-06-01", "--until", "2026-06-30")
    for account, said in ((ACCOUNT.account_id, False), ("999999999999", True)):
        done = run_bot(
            "export", *period, "--account", account, cwd=tmp_path, DATABASE_URL=database_url
        )
        assert done.returncode == 0, done.stderr
        assert ("no scan in 2026-06-01 to 2026-06-30 (UTC) covered" in done.stderr) is said
