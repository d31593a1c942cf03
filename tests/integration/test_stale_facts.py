"""What a scan reads is as old as the scan: AWS serves a credential report for up to 4 hours, the
API's answers date from the scan's start, and people decide while it runs. A user deleted since
the report fails nothing, a password set again since its last use is not idle, a removal made
while the scan ran is not opened again, and a decision taken meanwhile stays before the scan's
steps in the audit log and the evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse

from bot.application.evidence import export
from bot.aws import iam as aws
from bot.aws.accounts import client
from bot.aws.demo import DEMO_ACCOUNT_ID, seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.assessment import recheck
from bot.domain.rule import Cleared
from bot.domain.settings import Settings
from bot.domain.workflow import State
from tests.integration.conftest import IDLE_DORMANT, OWNED
from tests.integration.test_decisions import APPROVER
from tests.integration.test_evidence import JUNE, day, decide, removal_confirmed
from tests.integration.test_storage import ACCOUNT, T0, account_scan, facts, scan
from tests.support.fake_iam import FakeIam

# --- scanning -----------------------------------------------------------------------------------


def test_a_user_deleted_since_the_report_is_cleared_and_fails_nothing_with_per_user_tags(
    aws_session, now
):
    """Still in the report, gone from IAM: its GetUser answers NoSuchEntity. The user is cleared
    as deleted; the account's scan (and its other findings) goes on."""
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)

    def deleted_after_the_report(**_kwargs):
        iam_backends[DEMO_ACCOUNT_ID]["global"].users.pop(IDLE_DORMANT.name, None)

    aws_session.events.register("after-call.iam.GetCredentialReport", deleted_after_the_report)
    result = scan_accounts(Settings(tag_source="per-user"), aws_session, clock=lambda: now)
    assert result.status == "ok", result.accounts[0].error
    assert "owned" in {finding.user_name for finding in result.candidates}
    assert result.accounts[0].cleared[IDLE_DORMANT.name] == "user deleted"


def test_a_password_set_again_after_its_removal_counts_from_when_it_was_set(
    aws_session, now, monkeypatch
):
    """PasswordLastUsed outlives a removed password (docs/detection-rule.md): a password removed,
    then set again by an administrator today, is not idle, neither to the scan nor to the live
    re-check before a removal."""
    seed_users(aws_session, (IDLE_DORMANT,), now)  # its password last used 200 days ago
    iam = aws_session.client("iam")
    iam.delete_login_profile(UserName=IDLE_DORMANT.name)  # removed (by the bot, say)
    iam.create_login_profile(UserName=IDLE_DORMANT.name, Password="New-password-1!")  # set today
    # moto answers GetLoginProfile with the user's creation; AWS with the password's
    monkeypatch.setattr(IamResponse, "get_login_profile", login_profile_made(now))
    live = aws.live_user(client(aws_session, "iam"), DEMO_ACCOUNT_ID, IDLE_DORMANT.name)
    assert live.credentials.password_last_changed >= now - timedelta(minutes=5)

    assert isinstance(recheck(live, None, now, Settings()), Cleared)
    result = scan_accounts(Settings(scan_source="api"), aws_session, clock=lambda: now)
    assert result.candidates == [], [(c.user_name, c.days_idle) for c in result.candidates]
    assert result.accounts[0].cleared[IDLE_DORMANT.name] == "password set in the last 90 days"


def login_profile_made(when):
    def get_login_profile(self: IamResponse) -> ActionResult:
        user = self.backend.get_login_profile(self._get_param("UserName"))
        profile = {"UserName": user.name, "CreateDate": when, "PasswordResetRequired": False}
        return ActionResult({"LoginProfile": profile})

    return get_login_profile


# --- recording ----------------------------------------------------------------------------------


def test_a_removal_made_while_an_api_scan_ran_is_not_opened_again_by_it(repository):
    """As a report generated before a removal does not reopen it, neither do the API's answers
    of a scan that began before it."""
    first = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False
    )
    ann = first.new[0].id
    started = day(1)
    read_before_the_removal = replace(
        scan(account_scan(ACCOUNT, [facts("ann", at=started)], started), at=started),
        source="api",
    )
    iam = FakeIam(facts("ann"))
    removed = removal_confirmed(decide(repository, started + timedelta(minutes=5), iam), ann)
    assert "removed" in removed and iam.deleted == ["ann"]

    record = repository.record_scan(read_before_the_removal, "scheduled", dry_run=False)
    assert record.new == [], "a removal the scan's facts predate was opened again"
    assert repository.open_findings() == []


# --- evidence -----------------------------------------------------------------------------------


def test_a_decision_taken_while_a_scan_ran_stays_before_its_steps(repository):
    """A Disable pressed while a scan ran, whose finding that scan then resolves: the evidence
    reads requested, then resolved, and counts the finding resolved, not still open."""
    first = repository.record_scan(
        scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False
    )
    ann = first.new[0].id
    started = day(1)
    signed_in = facts("ann", at=started, used_days_before=0)
    result = scan(account_scan(ACCOUNT, [signed_in], started), at=started)
    iam = FakeIam(facts("ann"))
    decide(repository, started + timedelta(minutes=5), iam).request_disable(
        ann, APPROVER, owner=None, owner_unreachable=False
    )
    record = repository.record_scan(result, "scheduled", dry_run=False)
    assert [row.id for row in record.resolved] == [ann]

    made = export(repository, Settings(), JUNE)
    ((finding, events),) = made.records
    assert finding.state == State.RESOLVED
    steps = [(event.action, event.at) for event in events]
    assert [event.to_state for event in events if event.to_state][-1] == State.RESOLVED, steps
    assert all(a.at <= b.at for a, b in zip(events, events[1:], strict=False))
    assert made.summary.still_open == 0, made.summary.line()
    assert made.summary.resolved == 1
