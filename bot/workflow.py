"""The decision workflow: the states a finding moves through and which moves are allowed.

Pure: storage applies a transition and writes its audit event in one transaction; this module
only says whether the move is legal.
"""

from __future__ import annotations

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
    State.DISABLING: frozenset({State.DISABLED, State.FAILED}),
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
