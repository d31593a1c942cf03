"""The decision service, fast: SQLite and a fake IAM through the per-account seam, no HTTP.

Each test is one path a decision can take: the owner asked and confirming, the approver's final
word, an abort on the re-check, an AWS failure, a dry run, a keep, a double confirmation, a crash.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from botocore.exceptions import EndpointConnectionError

from bot.application.decisions import DRY_RUN_REASON, Decisions
from bot.application.removal import RemovedUnrecorded
from bot.aws.iam import Deletion
from bot.domain.assessment import IamIdentity
from bot.domain.records import Actor, RecordsUnavailable, Role, Surface, SystemActor
from bot.domain.settings import Settings
from bot.domain.workflow import Intent, State, TransitionError
from handlers.answering import explain
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.integration.test_storage import ACCOUNT, T0, account_scan, facts, scan
from tests.support.fake_iam import FakeIam, access_denied

APPROVER = Actor("U0APPROVER", Role.APPROVER, Surface.CHANNEL)
OWNER = Actor("U0OWNER", Role.OWNER, Surface.DM)
SCHEDULER = Actor(SystemActor.SCHEDULER, Role.SCHEDULER, Surface.SCHEDULE)


@pytest.fixture
def repository(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'decisions.db'}")
    migrate(engine)
    yield Repository(engine)
    engine.dispose()


@pytest.fixture
def iam():
    return FakeIam(facts("ann"))


def decisions_for(
    repository: Repository, iam: FakeIam, at: datetime = T0, **settings: object
) -> Decisions:
    def iam_for_account(account_id: str, _before_each_request: object) -> FakeIam:
        assert account_id == ACCOUNT.account_id
        return iam

    return Decisions(repository, Settings(**settings), iam_for_account, clock=lambda: at)


STUCK = T0 + timedelta(seconds=Settings().stuck_after_seconds + 1)  # the sweep's moment


@pytest.fixture
def decisions(repository, iam):
    return decisions_for(repository, iam)


@pytest.fixture
def finding_id(repository):
    found = scan(account_scan(ACCOUNT, [facts("ann")], T0))
    return repository.record_scan(found, "cli", dry_run=False).new[0].id


def asked(decisions: Decisions, finding_id: str) -> None:
    decisions.request_disable(finding_id, APPROVER, owner=None, owner_unreachable=False)
    decisions.await_owner(finding_id, OWNER.id, APPROVER)


def trail(repository: Repository, finding_id: str) -> list[tuple[str, str]]:
    return [(event.action, event.actor) for event in repository.history(finding_id)]


def test_owner_confirms_and_the_password_is_removed_once(decisions, repository, iam, finding_id):
    asked(decisions, finding_id)
    removal = decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert removal.finding.state == State.DISABLED and removal.finding.closed_at == T0
    assert iam.deleted == ["ann"]
    assert trail(repository, finding_id) == [
        ("opened", "scanner"),
        ("disable_requested", APPROVER.id),
        ("awaiting_owner", APPROVER.id),
        ("owner_confirmed", OWNER.id),
        ("disabling", OWNER.id),
        ("disabled", OWNER.id),
    ]
    with pytest.raises(TransitionError, match="already disabled"):
        decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "again")
    assert iam.deleted == ["ann"]


def test_the_approvers_word_is_final_only_where_the_owner_cannot_answer(
    decisions, repository, iam, finding_id
):
    asked(decisions, finding_id)
    final = (Intent.APPROVER_CONFIRM, APPROVER, "final")
    with pytest.raises(TransitionError, match="not been silent long enough"):
        decisions.confirm_and_remove(finding_id, *final)
    seen = repository.finding(finding_id).state_changed_at
    decisions.escalate(finding_id, SCHEDULER, seen_step=seen)
    assert decisions.confirm_and_remove(finding_id, *final).finding.state == State.DISABLED
    assert iam.deleted == ["ann"]


def test_owner_unknown_the_approver_confirms_from_the_request(decisions, iam, finding_id):
    decisions.request_disable(finding_id, APPROVER, owner=None, owner_unreachable=True)
    removal = decisions.confirm_and_remove(
        finding_id, Intent.APPROVER_CONFIRM, APPROVER, "owner unknown"
    )
    assert removal.finding.state == State.DISABLED and iam.deleted == ["ann"]


@pytest.mark.parametrize(
    ("live", "why"),
    [
        (facts("ann", used_days_before=2), "password used in the last 90 days"),
        (None, "user deleted"),
    ],
    ids=["signed-in-again", "user-deleted"],
)
def test_a_user_no_longer_idle_is_not_touched(decisions, iam, finding_id, live, why):
    iam.users = {"ann": live} if live else {}
    asked(decisions, finding_id)
    removal = decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert removal.finding.state == State.ABORTED
    assert removal.finding.resolution == f"aborted: {why}"
    assert removal.summary == f"Not removed: the re-check found {why}."
    assert iam.deleted == []


def test_aws_refusing_the_removal_fails_and_may_be_asked_again(
    decisions, repository, iam, finding_id
):
    asked(decisions, finding_id)
    real_delete = iam.delete_login_profile

    def refused(user_name: str) -> bool:
        raise access_denied("DeleteLoginProfile")

    iam.delete_login_profile = refused
    removal = decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert removal.finding.state == State.FAILED
    assert "DeleteLoginProfile failed: AccessDenied" in removal.summary
    iam.delete_login_profile = real_delete
    again = decisions.request_disable(finding_id, APPROVER, None, owner_unreachable=False)
    assert again.state == State.DISABLE_REQUESTED


def test_a_failed_live_recheck_fails_safely(decisions, iam, finding_id):
    asked(decisions, finding_id)
    iam.error = access_denied("GetUser")
    removal = decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert removal.finding.state == State.FAILED
    assert removal.finding.decision_note.startswith("live re-check failed: GetUser failed")
    assert iam.deleted == []


def test_dry_run_records_everything_and_removes_nothing(repository, iam, finding_id):
    decisions = decisions_for(repository, iam, dry_run=True)
    asked(decisions, finding_id)
    removal = decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert removal.finding.state == State.DISABLED
    assert removal.finding.decision_note == DRY_RUN_REASON
    assert iam.deleted == [] and iam.users["ann"].has_password


def test_keep_records_the_reason_and_period_and_blocks_a_request(decisions, finding_id):
    asked(decisions, finding_id)
    kept = decisions.keep(finding_id, OWNER, "break-glass account", 90)
    assert (kept.state, kept.kept_until, kept.decision_note) == (
        State.KEPT,
        T0 + timedelta(days=90),
        "break-glass account",
    )
    with pytest.raises(TransitionError, match="already kept"):
        decisions.request_disable(finding_id, APPROVER, None, owner_unreachable=False)


def in_flight(decisions: Decisions, repository: Repository, finding_id: str) -> None:
    """As if the process died after recording `disabling`, before calling AWS."""
    asked(decisions, finding_id)
    repository.transition(finding_id, Intent.OWNER_CONFIRM, OWNER, at=T0)
    repository.transition(finding_id, Intent.START_REMOVAL, replace(OWNER, role=Role.SYSTEM), at=T0)


def test_an_interrupted_removal_is_finished_once(repository, iam, finding_id):
    in_flight(decisions_for(repository, iam), repository, finding_id)
    sweep = decisions_for(repository, iam, at=STUCK).sweep
    (settled,) = sweep()
    assert settled.finding.state == State.DISABLED and iam.deleted == ["ann"]
    assert sweep() == []  # another replica finds nothing left
    assert trail(repository, finding_id)[-1] == ("disabled", SystemActor.SYSTEM)


def test_a_removal_still_under_way_is_left_alone(repository, iam, finding_id):
    in_flight(decisions_for(repository, iam), repository, finding_id)
    assert decisions_for(repository, iam, at=STUCK - timedelta(seconds=2)).sweep() == []
    assert repository.finding(finding_id).state == State.DISABLING and iam.deleted == []


def test_an_interrupted_removal_whose_password_is_gone_is_recorded(repository, iam, finding_id):
    in_flight(decisions_for(repository, iam), repository, finding_id)
    iam.users["ann"] = replace(iam.users["ann"], has_password=False)
    (settled,) = decisions_for(repository, iam, at=STUCK).sweep()
    assert settled.finding.state == State.DISABLED and iam.deleted == []
    assert repository.history(finding_id)[-1].reason == (
        "recovered: the password is gone (its removal was cut short)"
    )


def test_recovery_waits_while_aws_is_unreachable_and_fails_once_it_refuses(
    repository, iam, finding_id
):
    in_flight(decisions_for(repository, iam), repository, finding_id)
    iam.error = EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")
    assert decisions_for(repository, iam, at=STUCK).sweep() == []
    assert repository.finding(finding_id).state == State.DISABLING
    iam.error = access_denied("GetLoginProfile")  # waiting will not mend it: failed, and told
    (moved,) = decisions_for(repository, iam, at=STUCK + (STUCK - T0)).sweep()
    assert moved.finding.state == State.FAILED and "AccessDenied" in moved.summary


def test_a_consent_whose_recheck_never_ran_goes_through_the_rechecked_removal(
    repository, iam, finding_id
):
    """A crash or a database outage right after the consent was recorded."""
    decisions = decisions_for(repository, iam)
    asked(decisions, finding_id)
    repository.transition(finding_id, Intent.OWNER_CONFIRM, OWNER, at=T0)
    iam.identities["ann"] = IamIdentity("AIDAANN", {"iam-inactive:exempt": "yes"})
    (moved,) = decisions_for(repository, iam, at=STUCK).sweep()
    assert moved.finding.state == State.ABORTED and iam.deleted == []


def test_a_request_never_completed_is_withdrawn(repository, iam, finding_id):
    """The approver's final confirmation was never submitted (the process died meanwhile)."""
    decisions_for(repository, iam).request_disable(
        finding_id, APPROVER, None, owner_unreachable=True
    )
    (moved,) = decisions_for(repository, iam, at=STUCK).sweep()
    assert moved.finding.state == State.OPEN and "never completed" in moved.summary
    assert trail(repository, finding_id)[-1] == ("withdrawn", SystemActor.SYSTEM)


# --- consent is for what was asked, and the re-check decides with everything a scan would ----


def confirmed_by_owner(decisions: Decisions, finding_id: str, owner: str | None = None):
    decisions.request_disable(finding_id, APPROVER, owner, owner_unreachable=False)
    decisions.await_owner(finding_id, OWNER.id, APPROVER)
    return decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")


@pytest.mark.parametrize(
    ("tags", "settings", "why"),
    [
        ({"iam-inactive:exempt": "break-glass"}, {}, "exempt: tag iam-inactive:exempt"),
        ({}, {"ignore_users": frozenset({"ann"})}, "exempt: in IGNORE_USERS"),
        ({}, {"categories": frozenset({"keys_only"})}, "category dormant is not reported"),
    ],
    ids=["exempt-tag", "ignore-users", "category"],
)
def test_a_user_exempt_or_unreported_at_removal_is_not_touched(
    repository, iam, finding_id, tags, settings, why
):
    iam.identities["ann"] = IamIdentity("AIDAANN", tags)
    removal = confirmed_by_owner(decisions_for(repository, iam, **settings), finding_id)
    assert removal.finding.state == State.ABORTED
    assert removal.finding.resolution == f"aborted: {why}" and iam.deleted == []


def test_a_different_user_with_the_same_name_is_not_touched(repository, iam):
    found = facts("ann", user_id="AIDAANN")
    (row,) = repository.record_scan(
        scan(account_scan(ACCOUNT, [found], T0)), "cli", dry_run=False
    ).new
    assert row.user_id == "AIDAANN"
    iam.identities["ann"] = IamIdentity("AIDAOTHERANN")  # deleted and created again
    removal = confirmed_by_owner(decisions_for(repository, iam), row.id)
    assert removal.finding.resolution == "aborted: a different user now has this name"
    assert iam.deleted == []


@pytest.mark.parametrize("asked_in_dry_run", [True, False])
def test_a_consent_given_in_the_other_dry_run_mode_removes_nothing(
    repository, iam, finding_id, asked_in_dry_run
):
    decisions_for(repository, iam, dry_run=asked_in_dry_run).request_disable(
        finding_id, APPROVER, None, owner_unreachable=False
    )
    now = decisions_for(repository, iam, dry_run=not asked_in_dry_run)
    now.await_owner(finding_id, OWNER.id, APPROVER)
    removal = now.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert removal.finding.state == State.OPEN and removal.summary.startswith("Not removed")
    assert iam.deleted == [] and iam.users["ann"].has_password


def test_the_old_owners_consent_does_not_count(repository, iam, finding_id):
    iam.identities["ann"] = IamIdentity("AIDAANN", {"owner": "new@example.com"})
    removal = confirmed_by_owner(decisions_for(repository, iam), finding_id, "old@example.com")
    assert removal.ask_new_owner and removal.finding.state == State.DISABLE_REQUESTED
    assert removal.finding.requested_owner == "new@example.com"
    assert removal.finding.owner_slack_id is None and iam.deleted == []


def test_owners_keep_for_a_limited_time_and_approvers_can_end_a_keep(decisions, finding_id):
    for days in (None, 181):
        with pytest.raises(TransitionError, match="approver"):
            decisions.keep(finding_id, OWNER, "still needed", days)
    assert decisions.keep(finding_id, APPROVER, "service account", None).kept_until is None
    with pytest.raises(ValueError, match="may not"):
        decisions.unkeep(finding_id, OWNER, "mine")
    reopened = decisions.unkeep(finding_id, APPROVER, "the service moved to SSO")
    assert (reopened.state, reopened.kept_until) == (State.OPEN, None)


def test_a_finding_another_sweeper_claimed_is_not_removed_twice(repository, iam, finding_id):
    in_flight(decisions_for(repository, iam), repository, finding_id)
    claimed = repository.finding(finding_id)
    assert repository.claim_finding(finding_id, claimed.version, STUCK)  # the other sweeper
    assert decisions_for(repository, iam, at=STUCK).sweep() == []
    assert iam.deleted == []


def test_a_consent_stuck_from_a_dry_run_is_withdrawn_not_left(repository, iam, finding_id):
    dry = decisions_for(repository, iam, dry_run=True)
    asked(dry, finding_id)
    repository.transition(finding_id, Intent.OWNER_CONFIRM, OWNER, at=T0)  # then a crash
    (moved,) = decisions_for(repository, iam, at=STUCK).sweep()  # restarted with DRY_RUN off
    assert moved.finding.state == State.OPEN and iam.deleted == []


def test_a_database_lost_right_after_the_removal_says_it_was_removed(
    repository, iam, finding_id, monkeypatch
):
    decisions = decisions_for(repository, iam)
    asked(decisions, finding_id)
    recorded = repository.transition

    def database_gone(*_args: object, **_kwargs: object) -> None:
        raise RecordsUnavailable("connection refused")

    removed = iam.delete_login_profile

    def remove_then_lose_the_database(user_name: str) -> Deletion:
        deletion = removed(user_name)
        monkeypatch.setattr(repository, "transition", database_gone)
        return deletion

    monkeypatch.setattr(iam, "delete_login_profile", remove_then_lose_the_database)
    with pytest.raises(RemovedUnrecorded) as told:
        decisions.confirm_and_remove(finding_id, Intent.OWNER_CONFIRM, OWNER, "confirmed")
    assert "`ann` was removed in AWS" in explain(told.value)
    assert "nothing more was done" not in explain(told.value)
    monkeypatch.setattr(repository, "transition", recorded)  # the database is back
    assert repository.finding(finding_id).state == State.DISABLING
    (settled,) = decisions_for(repository, iam, at=STUCK).sweep()
    assert settled.finding.state == State.DISABLED and iam.deleted == ["ann"]
