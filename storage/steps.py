"""The one checked state change and the audit event it writes: what the ORM's step
(storage.repository) and a scan's step on Core (storage.recording) write, each in its caller's
transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from bot.domain.records import NO_CHANGES, SCANNER, Actor, FindingChanges, FindingView
from bot.domain.workflow import (
    CLOSED_STATES,
    AuditAction,
    Intent,
    Standing,
    State,
    audit_action,
    check,
)


class Stepped(NamedTuple):
    values: dict[str, Any]  # the columns the step set on the row
    event: dict[str, Any]  # its audit event's columns


def step(
    row: FindingView,
    intent: Intent,
    at: datetime,
    reason: str | None,
    by: Actor = SCANNER,
    details: dict[str, Any] | None = None,
    changes: FindingChanges = NO_CHANGES,
) -> Stepped:
    """The policy's verdict on `intent` for this row and actor, its new fields set on `row`."""
    current = State(row.state)
    to = check(intent, current, role=by.role, standing=Standing.of(row))
    values: dict[str, Any] = {"state": to, "state_changed_at": at, **changes.values()}
    if to in CLOSED_STATES:
        # When it first closed: a deactivation's keys may be turned back on, or deleted, for
        # a time counted from then.
        values["closed_at"] = row.closed_at or at
        values["resolution"] = values.get("resolution", row.resolution) or reason
    for name, value in values.items():
        setattr(row, name, value)
    event = audit_values(row.id, at, audit_action(intent, to), reason, by, current, to, details)
    return Stepped(values, event)


def audit_values(
    finding_id: str | None,
    at: datetime,
    action: AuditAction | State,
    reason: str | None,
    by: Actor = SCANNER,
    from_state: State | None = None,
    to_state: State | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit event's columns."""
    return {
        "finding_id": finding_id,
        "at": at,
        "actor": by.id,
        "actor_name": by.name,
        "surface": by.surface,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "details": details,
    }
