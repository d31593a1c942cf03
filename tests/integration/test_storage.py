"""Recording scans: findings open, update in place and close with a reason (SQLite, PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.domain.records import Actor, FindingView, RecordsUnavailable, Role, Surface
from bot.domain.rule import (
    KEYS_ONLY,
    AccessKeyUse,
    Candidate,
    Cleared,
    Thresholds,
    UserCredentials,
    evaluate,
)
from bot.domain.scan import AccountScan, AccountTarget, ScanResult
from bot.domain.workflow import Intent, State
from storage import models
from storage.db import (
    WORKING,
    make_engine,
    migrate,
)
from storage.repository import Repository
from tests.integration.conftest import scans, session_of, set_fields

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ACCOUNT = AccountTarget("111122223333")
OTHER = AccountTarget("444455556666")


def facts(
    name: str, *, used_days_before: int = 200, at: datetime = T0, **changes
) -> UserCredentials:
    base = dict(
        account_id=changes.pop("account_id", ACCOUNT.account_id),
        user_name=name,
        arn=f"arn:aws:iam::111122223333:user/{name}",
        created=at - timedelta(days=1000),
        has_password=True,
        password_last_used=at - timedelta(days=used_days_before),
        password_last_changed=at - timedelta(days=1000),
    )
    base.update(changes)
    return UserCredentials(**base)


def account_scan(target: AccountTarget, users: list[UserCredentials], at: datetime) -> AccountScan:
    verdicts = {u.user_name: evaluate(u, at, Thresholds()) for u in users}
    return AccountScan(
        target,
        candidates=[v for v in verdicts.values() if isinstance(v, Candidate)],
        cleared={name: v.reason for name, v in verdicts.items() if isinstance(v, Cleared)},
        users_seen=len(users),
    )


def scan(*accounts: AccountScan, at: datetime = T0) -> ScanResult:
    return ScanResult(at, at + timedelta(seconds=3), "report", list(accounts))


def test_first_scan_opens_findings_with_an_audit_entry(repository):
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann"), facts("ben", used_days_before=5)], T0)),
        "cli",
        dry_run=False,
    )
    assert [row.user_name for row in record.new] == ["ann"]
    (row,) = repository.open_findings()
    assert (row.state, row.days_idle, row.first_seen) == (State.OPEN, 200, T0)
    assert row.password_last_used == T0 - timedelta(days=200)  # timezone-aware round trip
    assert row.facts["has_password"] is True
    (event,) = repository.history(row.id)
    assert (event.action, event.actor, event.to_state) == ("opened", "scanner", "open")
    # what the scan returns of a new finding reads as the stored row does, whatever is read
    (new,) = record.new
    assert {name: getattr(new, name) for name in FindingView.__annotations__} == {
        name: getattr(row, name) for name in FindingView.__annotations__
    }


def test_rescan_updates_in_place_and_does_not_announce_again(repository):
    repository.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    later = T0 + timedelta(days=7)
    keys_now = facts(
        "ann", at=later, used_days_before=207, keys=(AccessKeyUse(True, later - timedelta(days=1)),)
    )
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [keys_now], later), at=later), "cli", dry_run=False
    )
    assert record.new == [] and [r.user_name for r in record.updated] == ["ann"]
    (row,) = repository.open_findings()
    assert (row.days_idle, row.category, row.first_seen, row.last_seen) == (
        207,
        KEYS_ONLY,
        T0,
        later,
    )
    assert len(repository.history(row.id)) == 1


@pytest.mark.parametrize(
    ("user_now", "reason"),
    [
        (facts("ann", at=T0, used_days_before=1), "password used in the last 90 days"),
        (facts("ann", has_password=False), "console password removed"),
        (None, "user deleted"),
    ],
    ids=["signed-in-again", "password-removed", "user-deleted"],
)
def test_finding_no_longer_idle_is_resolved_with_the_reason(repository, user_now, reason):
    first = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False
    )
    later = T0 + timedelta(days=1)
    users = [user_now] if user_now else []
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, users, later), at=later), "cli", dry_run=False
    )
    assert [row.user_name for row in record.resolved] == ["ann"]
    assert repository.open_findings() == []
    (closed,) = repository.findings_for_user("ann")
    assert (closed.state, closed.resolution, closed.closed_at) == (State.RESOLVED, reason, later)
    history = repository.history(first.new[0].id)
    assert [(e.action, e.reason) for e in history][-1] == ("resolved", reason)


def test_failed_account_leaves_its_findings_alone(repository):
    repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0), account_scan(OTHER, [], T0)),
        "cli",
        dry_run=False,
    )
    failed = AccountScan(ACCOUNT, error="AccessDenied")
    record = repository.record_scan(scan(failed, account_scan(OTHER, [], T0)), "cli", dry_run=False)
    assert record.resolved == []
    assert [row.user_name for row in repository.open_findings()] == ["ann"]
    (latest, _first) = scans(repository)
    assert latest.status == "partial"
    assert {(a.account_id, a.status, a.error) for a in latest.accounts} == {
        (ACCOUNT.account_id, "failed", "AccessDenied"),
        (OTHER.account_id, "ok", None),
    }


def test_text_from_aws_is_recorded_without_nul_characters_on_every_database(repository):
    """PostgreSQL's text cannot hold NUL: an account's error and a finding's privilege lose
    theirs (storage.tables.PlainText), rather than the whole scan failing to record."""
    failed = AccountScan(OTHER, error="Access\x00Denied")
    result = scan(failed, account_scan(ACCOUNT, [facts("ann")], T0))
    candidate = result.accounts[1].candidates[0]
    result.accounts[1].candidates[0] = replace(candidate, privilege="admin\x00via")
    repository.record_scan(result, "cli", dry_run=False)
    assert [row.privilege for row in repository.open_findings()] == ["adminvia"]
    (latest,) = scans(repository)
    assert {a.error for a in latest.accounts} == {"AccessDenied", None}


def test_expired_keep_reopens_and_is_announced_again(repository):
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False
    )
    with session_of(repository) as session, session.begin():
        row = session.get(models.Finding, record.new[0].id)
        row.state, row.kept_until = State.KEPT, T0 + timedelta(days=30)
    still_kept = T0 + timedelta(days=29)
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann", at=still_kept)], still_kept), at=still_kept),
        "cli",
        dry_run=False,
    )
    assert record.to_announce == [] and record.updated[0].state == State.KEPT
    expired = T0 + timedelta(days=30)
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann", at=expired)], expired), at=expired),
        "cli",
        dry_run=False,
    )
    assert [(r.user_name, r.state) for r in record.to_announce] == [("ann", State.OPEN)]
    assert repository.history(record.reopened[0].id)[-1].reason == "keep expired"


def test_in_flight_removal_is_not_resolved_by_a_scan(repository):
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False
    )
    with session_of(repository) as session, session.begin():
        session.get(models.Finding, record.new[0].id).state = State.DISABLING
    gone = repository.record_scan(scan(account_scan(ACCOUNT, [], T0)), "cli", dry_run=False)
    assert gone.resolved == []


def test_a_closed_finding_can_be_found_again_as_a_new_one(repository):
    repository.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    repository.record_scan(scan(account_scan(ACCOUNT, [], T0)), "cli", dry_run=False)
    record = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False
    )
    assert len(record.new) == 1
    assert len(repository.findings_for_user("ann")) == 2


def test_a_users_findings_are_found_in_any_case_and_an_owners_by_tag_or_slack_id(repository):
    """IAM user names are unique without regard to case, and so are emails: compared so in SQL,
    on SQLite and PostgreSQL alike. An owner is known by the owner tag (their Slack id or email)
    or by the Slack user the tag was resolved to."""
    other = facts("ANN", account_id=OTHER.account_id)
    result = scan(account_scan(ACCOUNT, [facts("ann")], T0), account_scan(OTHER, [other], T0))
    repository.record_scan(result, "cli", dry_run=False)
    assert len(repository.findings_for_user("Ann")) == 2
    by_account = {row.account_id: row for row in repository.findings_for_user("aNN")}
    set_fields(repository, by_account[ACCOUNT.account_id].id, owner="Ann@Example.com")
    set_fields(repository, by_account[OTHER.account_id].id, owner_slack_id="U0ANN")
    for keys, accounts in (
        (["U0ANN", "ann@example.com"], {ACCOUNT.account_id, OTHER.account_id}),
        (["U0ANN"], {OTHER.account_id}),
        (["U0BEN", "ben@example.com"], set()),
    ):
        owned = repository.findings_for_user("ann", owned_by=keys)
        assert {row.account_id for row in owned} == accounts, keys


def test_only_one_open_finding_per_account_and_user(repository):
    row = dict(
        account_id="111122223333",
        user_name="ann",
        user_arn="arn",
        category="dormant",
        fully_inactive=True,
        state="open",
        days_idle=100,
        user_created=T0,
        facts={},
        first_seen=T0,
        last_seen=T0,
    )
    with pytest.raises(IntegrityError), session_of(repository) as session, session.begin():
        session.add_all([models.Finding(**row), models.Finding(**row)])


def test_a_row_stepped_since_the_scan_read_it_makes_the_recording_start_again(
    repository, monkeypatch
):
    from sqlalchemy import update

    from storage import recording
    from storage.tables import findings

    repository.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    (ann,) = repository.open_findings()
    real, calls = recording._scan_step, []

    def decided_meanwhile(connection, row, *args, **kwargs):
        calls.append(row.version)
        if len(calls) == 1:  # a decision steps the row after the scan read it
            bump = update(findings).where(findings.c.id == row.id)
            connection.execute(bump.values(version=findings.c.version + 1))
        return real(connection, row, *args, **kwargs)

    monkeypatch.setattr(recording, "_scan_step", decided_meanwhile)
    record = repository.record_scan(scan(account_scan(ACCOUNT, [], T0)), "cli", dry_run=False)
    assert calls == [ann.version, ann.version]  # read again, as it then was
    assert [row.id for row in record.resolved] == [ann.id]
    assert [event.action for event in repository.history(ann.id)] == ["opened", "resolved"]
    assert repository.finding(ann.id).version == ann.version + 1


def test_text_of_any_kind_is_recorded_as_written_in_bulk(repository):
    owner = 'Zoë O\'Brien \\ "quoted" <z@x.io> 100%'
    first = scan(account_scan(ACCOUNT, [facts("a+b=c,d.e@f_g-h")], T0))
    first.accounts[0].candidates[0] = replace(first.accounts[0].candidates[0], owner=owner)
    repository.record_scan(first, "cli", dry_run=False)
    repository.record_scan(first, "cli", dry_run=False)  # the same facts, written again
    (row,) = repository.open_findings()
    assert row.owner == owner and row.user_name == "a+b=c,d.e@f_g-h"
    assert row.facts["arn"].endswith("user/a+b=c,d.e@f_g-h") and row.last_seen == T0
    assert [event.action for event in repository.history(row.id)] == ["opened"]


@pytest.mark.postgres
def test_a_decision_taken_while_a_scan_is_recorded_stays_and_so_do_the_new_facts(
    postgres_url, monkeypatch
):
    from storage import recording

    repository = Repository(make_engine(postgres_url))
    migrate(repository.engine)
    repository.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    (finding,) = repository.open_findings()
    write_facts = recording._update_facts

    def decided_meanwhile(*args):  # between the scan's read and its write, in another session
        approver = Actor("U0APPROVER", Role.APPROVER, Surface.CHANNEL)
        repository.transition(finding.id, Intent.REQUEST_DISABLE, approver, at=T0)
        write_facts(*args)

    monkeypatch.setattr(recording, "_update_facts", decided_meanwhile)
    later = T0 + timedelta(days=1)
    rescan = scan(account_scan(ACCOUNT, [facts("ann", used_days_before=199)], later), at=later)
    (updated,) = repository.record_scan(rescan, "cli", dry_run=False).updated
    row = repository.finding(finding.id)
    assert row.state == State.DISABLE_REQUESTED  # the decision is not undone by the scan
    assert row.last_seen == later and row.days_idle == updated.days_idle


@pytest.mark.postgres
def test_a_row_locked_by_a_stuck_transaction_is_an_outage_not_a_hang(postgres_url):
    engine = make_engine(postgres_url)
    migrate(engine)
    repository = Repository(engine)
    repository.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    (finding,) = repository.open_findings()
    with engine.connect() as connection:
        assert connection.execute(text("SHOW lock_timeout")).scalar() == f"{WORKING.lock:g}s"
        assert connection.execute(text("SHOW statement_timeout")).scalar() == (
            f"{WORKING.statement:g}s"
        )
    with engine.begin() as stuck:
        stuck.execute(
            select(models.Finding).where(models.Finding.id == finding.id).with_for_update()
        )
        with engine.connect() as waiting, pytest.raises(RecordsUnavailable):
            waiting.execute(text("SET lock_timeout = '200ms'"))  # for this test's patience
            waiting.execute(
                select(models.Finding).where(models.Finding.id == finding.id).with_for_update()
            )


def ranked(name: str, privileged: bool | None, mfa: bool | None, idle: int) -> Candidate:
    verdict = evaluate(facts(name, used_days_before=idle, mfa_active=mfa), T0, Thresholds())
    why = "AdministratorAccess through group <admins>" if privileged else None
    return replace(verdict, privileged=privileged, privilege=why)


def scan_of(*candidates: Candidate, at: datetime = T0) -> ScanResult:
    return scan(AccountScan(ACCOUNT, list(candidates), {}, len(candidates)), at=at)


def test_risk_facts_are_recorded_and_findings_listed_riskiest_first(repository):
    repository.record_scan(
        scan_of(
            ranked("reader", False, True, 900),
            ranked("admin-mfa", True, True, 100),
            ranked("unknown", None, None, 300),
            ranked("admin", True, False, 120),
        ),
        "cli",
        dry_run=False,
    )
    rows = repository.open_findings()
    assert [row.user_name for row in rows] == ["admin", "admin-mfa", "unknown", "reader"]
    admin = rows[0]
    assert (admin.privileged, admin.mfa_active) == (True, False)
    assert admin.privilege == "AdministratorAccess through group <admins>"
    assert admin.facts["mfa_active"] is False
    assert (rows[2].privileged, rows[2].mfa_active, rows[2].privilege) == (None, None, None)


def test_a_rescan_brings_risk_facts_up_to_date(repository):
    repository.record_scan(scan_of(ranked("ann", True, False, 200)), "cli", dry_run=False)
    later = T0 + timedelta(days=1)
    calmer = replace(ranked("ann", False, True, 201), days_idle=201)
    repository.record_scan(scan_of(calmer, at=later), "cli", dry_run=False)
    (row,) = repository.open_findings()
    assert (row.privileged, row.privilege, row.mfa_active) == (False, None, True)
    with session_of(repository) as session:  # as stored, not as the scan's objects say
        stored = session.get(models.Finding, row.id)
        assert (stored.privileged, stored.privilege, stored.mfa_active) == (False, None, True)
