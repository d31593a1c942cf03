"""The decision workflow: the states a finding moves through and which moves are allowed.

Pure: storage applies a transition and writes its audit event in one transaction; this module
only says whether the move is legal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    OPEN = "open"
    DISABLE_REQUESTED = "disable_requested"
    AWAITING_OWNER = "awaiting_owner"
    OWNER_CONFIRMED = "owner_confirmed"
    DISABLING = "disabling"
    DISABLED = "disabled"
    KEPT = "kept"
    RESOLVED = "resolved"
    ABORTED = "aborted"
    FAILED = "failed"


# States in which the finding is finished: the row is closed and a new scan may open a new one.
CLOSED_STATES = frozenset({State.DISABLED, State.RESOLVED, State.ABORTED})

# A removal is under way: scans leave the finding alone until the workflow settles it.
IN_FLIGHT_STATES = frozenset({State.DISABLING})

TRANSITIONS: dict[State, frozenset[State]] = {
    State.OPEN: frozenset({State.DISABLE_REQUESTED, State.KEPT, State.RESOLVED}),
    State.DISABLE_REQUESTED: frozenset(
        {State.AWAITING_OWNER, State.OWNER_CONFIRMED, State.KEPT, State.RESOLVED}
    ),
    State.AWAITING_OWNER: frozenset({State.OWNER_CONFIRMED, State.KEPT, State.RESOLVED}),
    State.OWNER_CONFIRMED: frozenset(
        {State.DISABLING, State.ABORTED, State.FAILED, State.RESOLVED}
    ),
    # ABORTED from DISABLING: recovery after a crash re-checks and may find the user active.
    State.DISABLING: frozenset({State.DISABLED, State.FAILED, State.ABORTED}),
    State.FAILED: frozenset({State.DISABLE_REQUESTED, State.KEPT, State.RESOLVED}),
    State.KEPT: frozenset({State.OPEN, State.RESOLVED}),
    State.DISABLED: frozenset(),
    State.RESOLVED: frozenset(),
    State.ABORTED: frozenset(),
}


class TransitionError(ValueError):
    """A move the workflow does not allow from the finding's current state."""


def check_transition(current: State, target: State) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionError(f"a finding that is {current.value} cannot become {target.value}")


REMIND = "remind"
ESCALATE = "escalate"
AUTO_DISABLE = "auto_disable"


def follow_up(
    asked_at: datetime | None,
    reminded_at: datetime | None,
    escalated_at: datetime | None,
    now: datetime,
    *,
    reminder_days: int,
    escalate_days: int,
    auto_disable_days: int | None,
) -> str | None:
    """What an unanswered owner request needs now: one reminder, then the approvers, then
    (when AUTO_DISABLE_AFTER_DAYS is set) the removal itself. None: nothing yet."""
    if asked_at is None:
        return None
    waited = now - asked_at
    if auto_disable_days is not None and waited >= timedelta(days=auto_disable_days):
        return AUTO_DISABLE
    if escalated_at is None and waited >= timedelta(days=escalate_days):
        return ESCALATE
    if reminded_at is None and escalated_at is None and waited >= timedelta(days=reminder_days):
        return REMIND
    return None
