"""The one checked state change: the policy's verdict on a step (bot.domain.workflow), then the
finding's new fields and its audit event, written in the caller's transaction only if nobody
stepped the finding since it was read. Every step is taken here: a decision's
(storage.repository) and a scan's (storage.recording)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

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
from storage.tables import audit_events, findings


class StepConflict(RuntimeError):
    """The finding was stepped since it was read (a second click, a second replica, a decision
    during a scan's recording): this step wrote nothing."""


def take_step(
    connection: Connection,
    row: FindingView,
    intent: Intent,
    at: datetime,
    reason: str | None,
    by: Actor = SCANNER,
    details: dict[str, Any] | None = None,
    changes: FindingChanges = NO_CHANGES,
) -> None:
    """The policy's verdict on `intent` for this row and actor, then the step written (compare-
    and-set on the row's version: StepConflict if it moved since `row` was read) with its audit
    event; `row` left as the step wrote it."""
    current = State(row.state)
    to = check(intent, current, role=by.role, standing=Standing.of(row))
    values: dict[str, Any] = {"state": to, "state_changed_at": at, **changes.values()}
    if to in CLOSED_STATES:
        # When it first closed: a deactivation's keys may be turned back on, or deleted, for
        # a time counted from then.
        values["closed_at"] = row.closed_at or at
        values["resolution"] = values.get("resolution", row.resolution) or reason
    values["version"] = row.version + 1
    landed = connection.execute(
        update(findings)
        .where(findings.c.id == row.id, findings.c.version == row.version)
        .values(values)
    )
    if landed.rowcount != 1:
        raise StepConflict(f"finding {row.id} was stepped since it was read")
    action = audit_action(intent, to)
    event = audit_values(row.id, at, action, reason, by, current, to, details)
    connection.execute(insert(audit_events).values(event))
    for name, value in values.items():
        setattr(row, name, value)


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
