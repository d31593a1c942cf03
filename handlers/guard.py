"""Checks every listener makes before acting: is the value one of ours, may this person act."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from storage.models import Finding

if TYPE_CHECKING:
    from bot.app import Services

FINDING_ID = re.compile(r"^[0-9a-f]{32}$")
# Where a click comes from decides who may make it: approvers in the channel, the owner in a DM.
CHANNEL = "slack-channel"
DM = "slack-dm"
TAMPERED = "That button is not one of mine, so nothing was done."
GONE = "That finding no longer exists, so nothing was done."
NOT_APPROVER = "Only approvers can do that; this attempt was recorded."
NOT_OWNER = "Only the owner of this IAM user can answer here; this attempt was recorded."


class Refused(Exception):
    """A request that must change nothing; the message is what the person is told."""


def finding_for(services: Services, value: str | None, user_id: str, surface: str) -> Finding:
    """The finding a button or modal names, or Refused (and an audit entry) when there is none."""
    if not value or not FINDING_ID.match(value):
        refuse(services, None, user_id, surface, "tampered value", TAMPERED, value)
    finding = services.repository.finding(value)
    if finding is None:
        refuse(services, None, user_id, surface, "unknown finding", GONE, value)
    return finding


def acting_on(services: Services, value: str | None, user_id: str, surface: str) -> Finding:
    """The finding a button or form names, once this person may act on it from this surface."""
    finding = finding_for(services, value, user_id, surface)
    if surface == DM:
        require_owner(services, finding, user_id, surface)
    else:
        require_approver(services, finding, user_id, surface)
    return finding


def require_approver(
    services: Services, finding: Finding | None, user_id: str, surface: str
) -> None:
    if not services.approvers.allows(user_id):
        refuse(services, finding, user_id, surface, "not an approver", NOT_APPROVER)


def require_owner(services: Services, finding: Finding, user_id: str, surface: str) -> None:
    if not finding.owner_slack_id or user_id != finding.owner_slack_id:
        refuse(services, finding, user_id, surface, "not the owner", NOT_OWNER)


def refuse(
    services: Services,
    finding: Finding | None,
    user_id: str,
    surface: str,
    why: str,
    answer: str,
    value: str | None = None,
) -> None:
    services.repository.record_event(
        finding.id if finding else None,
        actor=user_id,
        surface=surface,
        action="refused",
        at=services.now(),
        reason=why,
        details={"value": value[:100]} if value else None,
    )
    raise Refused(answer)
