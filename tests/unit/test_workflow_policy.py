"""The workflow policy, whole: every intent against every state, with and without escalation.

The expected table is written out here from the product spec (docs/workflow.md), not
derived from the policy, so a change to bot/domain/workflow.py that the spec does not allow fails.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.domain.deadlines import Opening, opening
from bot.domain.records import FindingChanges, Role
from bot.domain.workflow import (
    CLOSED_STATES,
    POLICY,
    TRANSIENT_STATES,
    AuditAction,
    Intent,
    Standing,
    State,
    TransitionError,
    audit_action,
    check,
    keep_refusal,
    may,
    may_have_acted,
    roles_for,
)

S = State
STILL_OPEN = {S.OPEN, S.DISABLE_REQUESTED, S.AWAITING_OWNER, S.OWNER_CONFIRMED, S.FAILED, S.KEPT}

# intent: (states it starts from, states it starts from only once escalated, where it leads);
# ONLY_IF_OWNER_UNREACHABLE: states an intent starts from only when Slack said for certain that
# the owner cannot be asked.
ONLY_IF_OWNER_UNREACHABLE = {Intent.APPROVER_CONFIRM: {S.DISABLE_REQUESTED}}
EXPECTED = {
    Intent.REQUEST_DISABLE: ({S.OPEN, S.FAILED}, set(), S.DISABLE_REQUESTED),
    Intent.ASK_OWNER: ({S.DISABLE_REQUESTED}, set(), S.AWAITING_OWNER),
    Intent.OWNER_CHANGED: ({S.OWNER_CONFIRMED, S.DISABLING}, set(), S.DISABLE_REQUESTED),
    Intent.WITHDRAW: (
        {S.DISABLE_REQUESTED, S.AWAITING_OWNER, S.OWNER_CONFIRMED, S.DISABLING},
        set(),
        S.OPEN,
    ),
    Intent.UNKEEP: ({S.KEPT}, set(), S.OPEN),
    Intent.CANCEL_REQUEST: ({S.DISABLE_REQUESTED}, set(), S.OPEN),
    Intent.OWNER_CONFIRM: ({S.AWAITING_OWNER}, set(), S.OWNER_CONFIRMED),
    Intent.DECIDE_NOW: (set(), {S.AWAITING_OWNER}, None),
    Intent.APPROVER_CONFIRM: (set(), {S.AWAITING_OWNER}, S.OWNER_CONFIRMED),
    Intent.AUTO_CONFIRM: ({S.DISABLE_REQUESTED, S.AWAITING_OWNER}, set(), S.OWNER_CONFIRMED),
    Intent.ESCALATE: ({S.AWAITING_OWNER}, set(), S.AWAITING_OWNER),
    Intent.KEEP: ({S.OPEN, S.DISABLE_REQUESTED, S.AWAITING_OWNER, S.FAILED}, set(), S.KEPT),
    Intent.OWNER_KEEP: ({S.AWAITING_OWNER}, set(), S.KEPT),
    Intent.START_REMOVAL: ({S.OWNER_CONFIRMED}, set(), S.DISABLING),
    Intent.FINISH_REMOVAL: ({S.DISABLING}, set(), S.DISABLED),
    Intent.ABORT: ({S.OWNER_CONFIRMED, S.DISABLING}, set(), S.ABORTED),
    Intent.FAIL: ({S.OWNER_CONFIRMED, S.DISABLING}, set(), S.FAILED),
    Intent.REOPEN: ({S.KEPT}, set(), S.OPEN),
    Intent.RESOLVE: (STILL_OPEN, set(), S.RESOLVED),
    Intent.REACTIVATE: ({S.DISABLED}, set(), S.REACTIVATING),
    Intent.FINISH_REACTIVATION: ({S.REACTIVATING}, set(), S.REACTIVATED),
    Intent.FAIL_REACTIVATION: ({S.REACTIVATING}, set(), S.DISABLED),
    Intent.DELETE_KEYS: ({S.DISABLED}, set(), S.DELETING_KEYS),
    Intent.FINISH_DELETION: ({S.DELETING_KEYS}, set(), S.KEYS_DELETED),
    Intent.FAIL_DELETION: ({S.DELETING_KEYS}, set(), S.DISABLED),
    Intent.LEAVE_KEYS: ({S.DELETING_KEYS}, set(), S.DISABLED),
}
# The only steps a closed finding allows: those on the keys its removal deactivated.
ON_DEACTIVATED_KEYS = {
    Intent.REACTIVATE,
    Intent.FINISH_REACTIVATION,
    Intent.FAIL_REACTIVATION,
    Intent.DELETE_KEYS,
    Intent.FINISH_DELETION,
    Intent.FAIL_DELETION,
    Intent.LEAVE_KEYS,
}
EXPECTED_ROLES = {
    Intent.REQUEST_DISABLE: {Role.APPROVER},
    Intent.ASK_OWNER: {Role.APPROVER, Role.SYSTEM},
    Intent.OWNER_CHANGED: {Role.SYSTEM},
    Intent.WITHDRAW: {Role.SYSTEM},
    Intent.UNKEEP: {Role.APPROVER},
    Intent.CANCEL_REQUEST: {Role.APPROVER},
    Intent.OWNER_CONFIRM: {Role.OWNER},
    Intent.DECIDE_NOW: {Role.APPROVER},
    Intent.APPROVER_CONFIRM: {Role.APPROVER},
    Intent.AUTO_CONFIRM: {Role.SCHEDULER},
    Intent.ESCALATE: {Role.SCHEDULER},
    Intent.KEEP: {Role.APPROVER},
    Intent.OWNER_KEEP: {Role.OWNER},
    **dict.fromkeys(
        (Intent.START_REMOVAL, Intent.FINISH_REMOVAL, Intent.ABORT, Intent.FAIL),
        {Role.SYSTEM},
    ),
    Intent.REOPEN: {Role.SYSTEM},
    Intent.RESOLVE: {Role.SYSTEM},
    Intent.REACTIVATE: {Role.APPROVER, Role.OWNER},
    Intent.DELETE_KEYS: {Role.SCHEDULER},
    **dict.fromkeys(
        (
            Intent.FINISH_REACTIVATION,
            Intent.FAIL_REACTIVATION,
            Intent.FINISH_DELETION,
            Intent.FAIL_DELETION,
            Intent.LEAVE_KEYS,
        ),
        {Role.SYSTEM},
    ),
}


def test_the_table_covers_every_intent():
    assert set(EXPECTED) == set(Intent) == set(POLICY)


STANDINGS = [Standing(e, u) for e, u in itertools.product((False, True), repeat=2)]


@pytest.mark.parametrize(
    ("intent", "state", "standing"), list(itertools.product(Intent, State, STANDINGS))
)
def test_what_may_happen_in_each_state(intent, state, standing):
    sources, once_escalated, to = EXPECTED[intent]
    allowed = (
        state in sources
        or (standing.escalated and state in once_escalated)
        or (standing.owner_unreachable and state in ONLY_IF_OWNER_UNREACHABLE.get(intent, ()))
    )
    assert may(intent, state, standing) is allowed
    role = next(iter(EXPECTED_ROLES[intent]))
    if not allowed:
        with pytest.raises(TransitionError, match="This finding is"):
            check(intent, state, role=role, standing=standing)
    elif to is not None:
        assert check(intent, state, role=role, standing=standing) == to


@pytest.mark.parametrize("intent", list(Intent))
def test_a_role_the_policy_does_not_name_may_not_take_the_step(intent):
    sources, once_escalated, _to = EXPECTED[intent]
    state = next(iter(sources | once_escalated))
    for role in set(Role) - EXPECTED_ROLES[intent]:
        with pytest.raises(ValueError, match="may not"):
            check(intent, state, role=role, standing=Standing(True, True))


@pytest.mark.parametrize("intent", list(Intent))
def test_who_may_take_each_step(intent):
    assert roles_for(intent) == EXPECTED_ROLES[intent]


def test_a_form_opening_intent_changes_no_state():
    with pytest.raises(ValueError, match="opens a form"):
        check(Intent.DECIDE_NOW, S.AWAITING_OWNER, role=Role.APPROVER, standing=Standing(True))


def test_closed_findings_allow_nothing_but_the_steps_on_their_deactivated_keys():
    for intent, state in itertools.product(set(Intent) - ON_DEACTIVATED_KEYS, CLOSED_STATES):
        assert not may(intent, state, Standing(True, True)), (intent, state)


def test_no_finding_stays_in_a_transient_state():
    """disable requested, owner confirmed and disabling always have a way on (spec), which the
    system itself may take (the sweep)."""
    assert set(TRANSIENT_STATES) == {
        S.DISABLE_REQUESTED,
        S.OWNER_CONFIRMED,
        S.DISABLING,
        S.REACTIVATING,
        S.DELETING_KEYS,
    }
    for state in TRANSIENT_STATES:
        assert any(may(intent, state) and Role.SYSTEM in roles_for(intent) for intent in Intent), (
            state
        )


def test_the_audit_log_names_the_state_reached_and_a_reopened_keep():
    assert audit_action(Intent.KEEP, State.KEPT) == State.KEPT
    assert audit_action(Intent.REOPEN, State.OPEN) == AuditAction.REOPENED
    assert audit_action(Intent.RESOLVE, State.RESOLVED) == State.RESOLVED
    assert audit_action(Intent.ESCALATE, State.AWAITING_OWNER) == AuditAction.ESCALATE


def test_a_misspelt_field_fails_instead_of_leaving_a_column_empty():
    with pytest.raises(TypeError):
        FindingChanges(decison_note="typo")
    assert FindingChanges(decision_note=None, kept_until=None).values() == {
        "decision_note": None,
        "kept_until": None,
    }


def test_owners_keep_for_at_most_the_limit_and_only_approvers_until_revoked():
    assert keep_refusal(Role.OWNER, 180, 180) is None
    assert "at most 180 days" in keep_refusal(Role.OWNER, 181, 180)
    assert "Only approvers" in keep_refusal(Role.OWNER, None, 180)
    assert keep_refusal(Role.APPROVER, None, 180) is None
    assert keep_refusal(Role.APPROVER, 3650, 180) is None
    for impossible in (0, -1, 3651):
        assert "from 1 to 3650" in keep_refusal(Role.APPROVER, impossible, 180)


def test_old_data_does_not_reopen_a_removed_finding():
    removed_at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    removed = SimpleNamespace(state=S.DISABLED, closed_at=removed_at, requested_dry_run=False)
    in_dry_run = SimpleNamespace(state=S.DISABLED, closed_at=removed_at, requested_dry_run=True)
    resolved_since = SimpleNamespace(state=S.RESOLVED, closed_at=removed_at, requested_dry_run=None)
    before, after = removed_at - timedelta(hours=3), removed_at + timedelta(minutes=1)
    assert opening(None, before, dry_run=False).allowed
    assert not opening(removed, before, dry_run=False).allowed  # the report predates it
    assert opening(removed, after, dry_run=False).allowed
    assert not opening(in_dry_run, after, dry_run=True).allowed
    again = opening(in_dry_run, after, dry_run=False)
    assert again.allowed and again.note == "decided in a dry run on 2026-11-28"
    assert opening(resolved_since, after, dry_run=False) == Opening(True)  # once, not again


@pytest.mark.parametrize(
    ("state", "dry_run", "acted"),
    [
        (S.DISABLING, False, True),
        (S.DISABLING, True, False),  # a dry run never calls AWS: what is done, someone else did
        (S.DISABLING, None, False),  # asked before the mode was recorded: not known to be real
        (S.OWNER_CONFIRMED, False, False),  # not yet recorded as under way
    ],
)
def test_only_a_removal_under_way_and_asked_for_real_may_have_acted(state, dry_run, acted):
    finding = SimpleNamespace(state=state, requested_dry_run=dry_run)
    assert may_have_acted(finding) is acted
