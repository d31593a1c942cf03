"""The decision workflow's rules, in one place: which step may happen in which state, by whom.

Every module asks this policy: the decision service and the scan before they change a finding
(storage checks each step here inside its transaction), the message builders before they offer
a button, the listeners before they open a form. Adding a state or a step means editing this
table and nothing else's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.records import Actor, FindingView, Role, Surface


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
    # After a removal that deactivated access keys (issue 23): turning them back on, and the
    # optional deletion of keys still inactive once that is no longer possible.
    REACTIVATING = "reactivating"
    REACTIVATED = "reactivated"
    DELETING_KEYS = "deleting_keys"
    KEYS_DELETED = "keys_deleted"


class AuditAction(StrEnum):
    """Audit log entries that are not a state reached (a step's entry is the state it reached)."""

    OPENED = "opened"
    REOPENED = "reopened"
    REFUSED = "refused"
    POST_FAILED = "post_failed"
    POST_REFUSED = "post_refused"  # Slack refused the finding's message for what it holds
    REMIND = "remind"
    ESCALATE = "escalate"
    AUTO_DISABLE = "auto_disable"
    OWNER_CHANGED = "owner_changed"
    WITHDRAWN = "withdrawn"
    UNKEPT = "unkept"
    POSTING_PAUSED = "posting_paused"  # the bot is not in the findings channel
    POSTING_RESUMED = "posting_resumed"  # it was invited again
    REACTIVATION_FAILED = "reactivation_failed"  # the keys stay inactive; Reactivate may be retried
    DELETION_FAILED = "deletion_failed"  # the keys stay inactive; the next run tries again
    KEYS_LEFT = "keys_left"  # none was the finding's to delete any more: it deletes nothing


class Intent(StrEnum):
    """What someone (or the bot) wants to do with a finding."""

    REQUEST_DISABLE = "request_disable"  # an approver pressed Disable
    ASK_OWNER = "ask_owner"  # the owner was found and is asked by DM
    OWNER_CONFIRM = "owner_confirm"  # the owner's "Confirm removal"
    DECIDE_NOW = "decide_now"  # an approver opens the final confirmation after escalation
    APPROVER_CONFIRM = "approver_confirm"  # the approver's final word
    AUTO_CONFIRM = "auto_confirm"  # AUTO_DISABLE_AFTER_DAYS without an answer
    ESCALATE = "escalate"  # the owner has not answered for ESCALATE_DAYS
    OWNER_CHANGED = "owner_changed"  # the re-check found another owner: their consent is needed
    WITHDRAW = "withdraw"  # the request can no longer be consented to as made: decide again
    CANCEL_REQUEST = "cancel_request"  # the approver closed the final confirmation unsubmitted
    UNKEEP = "unkeep"  # an approver ends a keep
    KEEP = "keep"  # an approver keeps the password
    OWNER_KEEP = "owner_keep"  # the owner answers "I still need it"
    START_REMOVAL = "start_removal"  # the live re-check says still idle: recorded before AWS
    FINISH_REMOVAL = "finish_removal"
    ABORT = "abort"  # the re-check found the user active, exempt or gone
    FAIL = "fail"
    REOPEN = "reopen"  # a keep expired (scan)
    RESOLVE = "resolve"  # the scan no longer finds the user idle
    REACTIVATE = "reactivate"  # the owner or an approver turns deactivated keys back on
    FINISH_REACTIVATION = "finish_reactivation"
    FAIL_REACTIVATION = "fail_reactivation"  # back to disabled: the keys are still inactive
    DELETE_KEYS = "delete_keys"  # KEY_DELETE_AFTER_DAYS after a deactivation nobody undid
    FINISH_DELETION = "finish_deletion"
    FAIL_DELETION = "fail_deletion"
    LEAVE_KEYS = "leave_keys"  # each key turned back on in IAM, or deactivated by a later finding


@dataclass(frozen=True)
class Step:
    """One intent's rule: the states it starts from (some only once the owner's silence was
    escalated to the approvers), where it leads (None: it opens a form, no state change yet),
    and who may take it."""

    sources: frozenset[State]
    to: State | None
    roles: frozenset[Role]
    sources_once_escalated: frozenset[State] = frozenset()
    sources_if_owner_unreachable: frozenset[State] = frozenset()
    refusal: str = "This finding is already {state}."

    def allows(self, state: State, standing: Standing) -> bool:
        return (
            state in self.sources
            or (standing.escalated and state in self.sources_once_escalated)
            or (standing.owner_unreachable and state in self.sources_if_owner_unreachable)
        )


@dataclass(frozen=True)
class Standing:
    """What besides its state decides what may happen to a finding."""

    escalated: bool = False  # the owner's silence was escalated to the approvers
    owner_unreachable: bool = False  # Slack said for certain the owner cannot be asked

    @classmethod
    def of(cls, finding: FindingView) -> Standing:
        return cls(finding.escalated_at is not None, bool(finding.owner_unreachable))


def _states(*states: State) -> frozenset[State]:
    return frozenset(states)


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


_REMOVING = _states(State.OWNER_CONFIRMED, State.DISABLING)

POLICY: dict[Intent, Step] = {
    Intent.REQUEST_DISABLE: Step(
        _states(State.OPEN, State.FAILED), State.DISABLE_REQUESTED, _roles(Role.APPROVER)
    ),
    Intent.ASK_OWNER: Step(
        _states(State.DISABLE_REQUESTED),
        State.AWAITING_OWNER,
        _roles(Role.APPROVER, Role.SYSTEM),  # SYSTEM: a new owner, asked after a re-check
    ),
    Intent.OWNER_CONFIRM: Step(
        _states(State.AWAITING_OWNER), State.OWNER_CONFIRMED, _roles(Role.OWNER)
    ),
    Intent.DECIDE_NOW: Step(
        _states(),
        None,
        _roles(Role.APPROVER),
        sources_once_escalated=_states(State.AWAITING_OWNER),
        refusal="This finding is not waiting on an unanswered owner any more.",
    ),
    # The approver's word is final only where the owner cannot be asked (Slack said so for
    # certain when the request was made) or has not answered (escalated).
    Intent.APPROVER_CONFIRM: Step(
        _states(),
        State.OWNER_CONFIRMED,
        _roles(Role.APPROVER),
        sources_once_escalated=_states(State.AWAITING_OWNER),
        sources_if_owner_unreachable=_states(State.DISABLE_REQUESTED),
        refusal="This finding is {state}; its owner has not been silent long enough.",
    ),
    # The approvers are told an owner has not answered: no new state, but Decide now opens up.
    Intent.ESCALATE: Step(
        _states(State.AWAITING_OWNER), State.AWAITING_OWNER, _roles(Role.SCHEDULER)
    ),
    Intent.AUTO_CONFIRM: Step(
        _states(State.DISABLE_REQUESTED, State.AWAITING_OWNER),
        State.OWNER_CONFIRMED,
        _roles(Role.SCHEDULER),
    ),
    Intent.KEEP: Step(
        _states(State.OPEN, State.DISABLE_REQUESTED, State.AWAITING_OWNER, State.FAILED),
        State.KEPT,
        _roles(Role.APPROVER),
        refusal="This finding is already {state}; nothing to keep.",
    ),
    # "I still need it": only while the owner is being asked.
    Intent.OWNER_KEEP: Step(
        _states(State.AWAITING_OWNER),
        State.KEPT,
        _roles(Role.OWNER),
        refusal="This finding is {state}: you are not being asked about it now.",
    ),
    Intent.START_REMOVAL: Step(
        _states(State.OWNER_CONFIRMED), State.DISABLING, _roles(Role.SYSTEM)
    ),
    Intent.FINISH_REMOVAL: Step(_states(State.DISABLING), State.DISABLED, _roles(Role.SYSTEM)),
    # From DISABLING too: recovery after a crash re-checks and may find the user active.
    Intent.ABORT: Step(_REMOVING, State.ABORTED, _roles(Role.SYSTEM)),
    Intent.FAIL: Step(_REMOVING, State.FAILED, _roles(Role.SYSTEM)),
    Intent.OWNER_CHANGED: Step(_REMOVING, State.DISABLE_REQUESTED, _roles(Role.SYSTEM)),
    Intent.WITHDRAW: Step(
        _states(
            State.DISABLE_REQUESTED, State.AWAITING_OWNER, State.OWNER_CONFIRMED, State.DISABLING
        ),
        State.OPEN,
        _roles(Role.SYSTEM),
    ),
    Intent.CANCEL_REQUEST: Step(
        _states(State.DISABLE_REQUESTED), State.OPEN, _roles(Role.APPROVER)
    ),
    Intent.REOPEN: Step(_states(State.KEPT), State.OPEN, _roles(Role.SYSTEM)),
    Intent.UNKEEP: Step(
        _states(State.KEPT),
        State.OPEN,
        _roles(Role.APPROVER),
        refusal="This finding is {state}, not kept.",
    ),
    # Deactivated keys come back on only through a recorded, re-checked step; whether this
    # finding's keys may (the window, which keys) is `reactivation_refusal`'s to say.
    Intent.REACTIVATE: Step(
        _states(State.DISABLED),
        State.REACTIVATING,
        _roles(Role.APPROVER, Role.OWNER),
        refusal="This finding is {state}: it has no deactivated keys to reactivate.",
    ),
    Intent.FINISH_REACTIVATION: Step(
        _states(State.REACTIVATING), State.REACTIVATED, _roles(Role.SYSTEM)
    ),
    Intent.FAIL_REACTIVATION: Step(
        _states(State.REACTIVATING), State.DISABLED, _roles(Role.SYSTEM)
    ),
    Intent.DELETE_KEYS: Step(_states(State.DISABLED), State.DELETING_KEYS, _roles(Role.SCHEDULER)),
    Intent.FINISH_DELETION: Step(
        _states(State.DELETING_KEYS), State.KEYS_DELETED, _roles(Role.SYSTEM)
    ),
    Intent.FAIL_DELETION: Step(_states(State.DELETING_KEYS), State.DISABLED, _roles(Role.SYSTEM)),
    Intent.LEAVE_KEYS: Step(_states(State.DELETING_KEYS), State.DISABLED, _roles(Role.SYSTEM)),
    # Not from DISABLING: a removal is under way, and the workflow settles it.
    Intent.RESOLVE: Step(
        _states(
            State.OPEN,
            State.DISABLE_REQUESTED,
            State.AWAITING_OWNER,
            State.OWNER_CONFIRMED,
            State.FAILED,
            State.KEPT,
        ),
        State.RESOLVED,
        _roles(Role.SYSTEM),
    ),
}

# States of a finding whose removal was carried out (what follows concerns its keys alone).
CARRIED_OUT = frozenset(
    {
        State.DISABLED,
        State.REACTIVATING,
        State.REACTIVATED,
        State.DELETING_KEYS,
        State.KEYS_DELETED,
    }
)
# States in which a finding holds the keys it deactivated (`deactivated_keys`): they are inactive
# by its doing, and may be reactivated or deleted (a step under way has not changed them yet).
KEYS_HELD = frozenset({State.DISABLED, State.REACTIVATING, State.DELETING_KEYS})
# States in which the finding is finished: the row is closed and a new scan may open a new one.
# (A disabled finding's keys may still be reactivated or deleted: those steps keep it closed.)
CLOSED_STATES = CARRIED_OUT | {State.RESOLVED, State.ABORTED}
# States whose finding waits for a person's decision: its channel message carries the buttons.
AWAITING_DECISION = tuple(sorted(POLICY[Intent.REQUEST_DISABLE].sources))
# States nothing may stay in: a finding left in one (a crash, an outage, a form never submitted)
# is moved on by the sweep: a request back to open, a consent through the re-checked removal.
TRANSIENT_STATES = (
    State.DISABLE_REQUESTED,
    State.OWNER_CONFIRMED,
    State.DISABLING,
    State.REACTIVATING,
    State.DELETING_KEYS,
)


def may_have_acted(finding: FindingView) -> bool:
    """A removal recorded as under way and asked with DRY_RUN off: it may have been carried out
    in AWS before a crash. What a dry run's request finds done there, someone else did."""
    return finding.state == State.DISABLING and finding.requested_dry_run is False


class TransitionError(ValueError):
    """A step the workflow does not allow from the finding's current state."""


# Who a person acts as, by where they act: approvers in the channel and the slash command, the
# owner in their DM and on the app's Home tab (whose approver buttons act on no finding).
ROLE_ON_SURFACE = {
    Surface.CHANNEL: Role.APPROVER,
    Surface.COMMAND: Role.APPROVER,
    Surface.DM: Role.OWNER,
    Surface.HOME: Role.OWNER,
}
# Only findings waiting on their owner get reminders and escalations.
FOLLOWED_UP = State.AWAITING_OWNER


def person(user_id: str, surface: Surface) -> Actor:
    """A person acting from a Slack surface, in the role that surface gives them."""
    return Actor(user_id, ROLE_ON_SURFACE[surface], surface)


def may(intent: Intent, state: str, standing: Standing = Standing()) -> bool:
    """May `intent` happen to a finding in `state` (and this standing) now?"""
    return POLICY[intent].allows(State(state), standing)


def roles_for(intent: Intent) -> frozenset[Role]:
    return POLICY[intent].roles


def require(intent: Intent, state: str, *, role: Role, standing: Standing = Standing()) -> Step:
    """The rule for `intent`, once `role` may take it from `state` now; else TransitionError
    saying where things stand (or, for a role that may never take it, ValueError: a bug)."""
    step = POLICY[intent]
    if role not in step.roles:
        raise ValueError(f"{role} may not {intent}")
    current = State(state)
    if not step.allows(current, standing):
        raise TransitionError(step.refusal.format(state=describe(current)))
    return step


def check(intent: Intent, state: str, *, role: Role, standing: Standing = Standing()) -> State:
    """The state `intent` leads to from `state`, or TransitionError saying where things stand."""
    to = require(intent, state, role=role, standing=standing).to
    if to is None:
        raise ValueError(f"{intent} opens a form; it changes no state")
    return to


def audit_action(intent: Intent, to: State) -> AuditAction | State:
    """What the audit log calls a step: the state it reached, except where none is reached."""
    return STEPS_NAMED.get(intent, to)


STEPS_NAMED = {
    Intent.REOPEN: AuditAction.REOPENED,
    Intent.ESCALATE: AuditAction.ESCALATE,
    Intent.OWNER_CHANGED: AuditAction.OWNER_CHANGED,
    Intent.WITHDRAW: AuditAction.WITHDRAWN,
    Intent.CANCEL_REQUEST: AuditAction.WITHDRAWN,
    Intent.UNKEEP: AuditAction.UNKEPT,
    Intent.FAIL_REACTIVATION: AuditAction.REACTIVATION_FAILED,
    Intent.FAIL_DELETION: AuditAction.DELETION_FAILED,
    Intent.LEAVE_KEYS: AuditAction.KEYS_LEFT,
}


LONGEST_KEEP_DAYS = 3650
KEEP_BY = {Role.APPROVER: Intent.KEEP, Role.OWNER: Intent.OWNER_KEEP}


KEY_ACTIONS_OFF = "Key actions are off (KEY_ACTIONS=off): idle keys are reported, not deactivated."


def disable_refusal(finding: FindingView, key_actions_on: bool) -> str | None:
    """Why Disable is not offered on this finding whatever its state, or None: an idle key's
    finding does nothing while KEY_ACTIONS=off (a password finding then removes the password
    alone)."""
    if finding.key_created is not None and not key_actions_on:
        return KEY_ACTIONS_OFF
    return None


def keep_refusal(role: Role, days: int | None, owner_max_days: int) -> str | None:
    """Why this keep is not allowed, or None: owners keep for at most OWNER_KEEP_MAX_DAYS, and
    "until revoked" is the approvers' alone."""
    if days is not None and not 1 <= days <= LONGEST_KEEP_DAYS:
        return f"A keep lasts from 1 to {LONGEST_KEEP_DAYS} days, or until revoked."
    if role != Role.OWNER:
        return None
    if days is None:
        return (
            f"Only approvers can keep until revoked; owners can keep up to {owner_max_days} days."
        )
    if days > owner_max_days:
        return f"Owners can keep for at most {owner_max_days} days; an approver can keep longer."
    return None


def describe(state: str) -> str:
    return state.replace("_", " ")
