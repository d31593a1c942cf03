"""The workflow's rules of time: when a keep ends, what an unanswered owner request needs, when
a closed finding may open again, and the windows for turning deactivated keys back on or deleting
them. Which step may happen in which state is bot.domain.workflow's to say; these say when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.records import FindingView
from bot.domain.workflow import CARRIED_OUT, AuditAction, State


@dataclass(frozen=True)
class Opening:
    """Whether a scan may open a finding for a user, and the note it then carries."""

    allowed: bool
    note: str | None = None


def opening(last_closed: FindingView | None, facts_from: datetime, dry_run: bool) -> Opening:
    """A user found idle again, given its last closed finding: old data must not reopen a
    removal.

    Facts from before the removal predate it (`facts_from`: when the credential report was
    generated, or when the scan began reading IAM's API); a removal made in a dry run is not
    posted again while DRY_RUN stays on, and once it is off it reopens, marked, for a real
    decision."""
    if last_closed is None or last_closed.state not in CARRIED_OUT or last_closed.closed_at is None:
        return Opening(True)
    if last_closed.requested_dry_run:
        if dry_run:
            return Opening(False)
        return Opening(True, f"decided in a dry run on {last_closed.closed_at:%Y-%m-%d}")
    return Opening(facts_from >= last_closed.closed_at)


def reactivation_refusal(finding: FindingView, now: datetime, window_days: int) -> str | None:
    """Why this finding's keys may not be reactivated now, or None: only keys the bot
    deactivated, within KEY_REACTIVATE_DAYS of that (the state is `require`'s to check).
    Neither DRY_RUN nor KEY_ACTIONS=off stops an undo."""
    if not finding.deactivated_keys:
        return "No access key was deactivated by this finding: nothing to reactivate."
    if finding.closed_at is None or now - finding.closed_at > timedelta(days=window_days):
        return (
            f"Keys can be reactivated for {window_days} days after the bot deactivated them; "
            "that time has passed. An administrator can still reactivate them in IAM."
        )
    return None


def deletion_due(finding: FindingView, now: datetime, delete_after_days: int | None) -> bool:
    """Whether KEY_DELETE_AFTER_DAYS has passed since this finding deactivated its keys."""
    return (
        delete_after_days is not None
        and finding.state == State.DISABLED
        and bool(finding.deactivated_keys)
        and finding.closed_at is not None
        and now - finding.closed_at >= timedelta(days=delete_after_days)
    )


def keep_expired(kept_until: datetime | None, now: datetime) -> bool:
    """A keep with an end date reopens once that date has passed; "until revoked" never."""
    return kept_until is not None and kept_until <= now


def follow_up(
    asked_at: datetime | None,
    reminded_at: datetime | None,
    escalated_at: datetime | None,
    now: datetime,
    *,
    reminder_days: int,
    escalate_days: int,
    auto_disable_days: int | None,
    owner_reached: bool,
) -> AuditAction | None:
    """What an unanswered owner request needs now: one reminder, then the approvers, then
    (when AUTO_DISABLE_AFTER_DAYS is set) the removal itself. None: nothing yet.

    `owner_reached`: the owner's DM arrived. Silence is no answer from an owner the bot never
    reached: the reminder tries the DM again and the approvers are told, but nothing is removed
    on it."""
    if asked_at is None:
        return None
    waited = now - asked_at
    if (
        auto_disable_days is not None
        and owner_reached
        and waited >= timedelta(days=auto_disable_days)
    ):
        return AuditAction.AUTO_DISABLE
    if escalated_at is None and waited >= timedelta(days=escalate_days):
        return AuditAction.ESCALATE
    if reminded_at is None and escalated_at is None and waited >= timedelta(days=reminder_days):
        return AuditAction.REMIND
    return None
