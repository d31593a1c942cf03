"""The one checked state change and the audit log it writes, inside a caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.records import NO_CHANGES, SCANNER, Actor, FindingChanges
from bot.domain.workflow import (
    CLOSED_STATES,
    AuditAction,
    Intent,
    Standing,
    State,
    audit_action,
    check,
)
from storage import models


def step(
    session: Session,
    row: models.Finding,
    intent: Intent,
    at: datetime,
    reason: str | None,
    by: Actor = SCANNER,
    details: dict[str, Any] | None = None,
    changes: FindingChanges = NO_CHANGES,
) -> None:
    """The policy's verdict on `intent` for this row and actor, the audit event, the new fields."""
    current = State(row.state)
    to = check(intent, current, role=by.role, standing=Standing.of(row))
    audit(session, row.id, at, audit_action(intent, to), reason, by, current, to, details)
    row.state, row.state_changed_at = to, at
    for name, value in changes.values().items():
        setattr(row, name, value)
    if to in CLOSED_STATES:
        # When it first closed: a deactivation's keys may be turned back on, or deleted, for
        # a time counted from then.
        row.closed_at = row.closed_at or at
        row.resolution = row.resolution or reason


def audit(session: Session, *event: Any, **fields: Any) -> None:
    """Append one audit event (`audit_values`' arguments) to the session."""
    session.add(models.AuditEvent(**audit_values(*event, **fields)))


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
    """An audit event's columns (for `audit`, and for inserting many at once)."""
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
