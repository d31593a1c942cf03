"""Who may act on which finding from where: the checks every listener asks before acting.

The surface a request comes from gives the role it acts in (approvers in the channel and the
slash command, the owner in their DM); the workflow policy says which roles may take which step.
"""

from __future__ import annotations

import re

from slack_sdk.errors import SlackClientError

from bot.domain.clock import Clock
from bot.domain.records import Surface, UnknownFinding
from bot.domain.workflow import AuditAction, Intent, Role, TransitionError, require, roles_for
from bot.slack.client import Approvers, slack_error
from storage.models import Finding
from storage.repository import Repository

FINDING_ID = re.compile(r"^[0-9a-f]{32}$")
ROLE_ON = {Surface.CHANNEL: Role.APPROVER, Surface.COMMAND: Role.APPROVER, Surface.DM: Role.OWNER}
TAMPERED = "That button is not one of mine, so nothing was done."
GONE = "That finding no longer exists, so nothing was done."
NOT_APPROVER = "Only approvers can do that; this attempt was recorded."
NOT_OWNER = "Only the owner of this IAM user can answer here; this attempt was recorded."


class Refused(Exception):
    """A request that must change nothing; the message is what the person is told."""


class Access:
    def __init__(self, repository: Repository, approvers: Approvers, clock: Clock) -> None:
        self.repository = repository
        self.approvers = approvers
        self._clock = clock

    def acting_on(
        self, value: str | None, user_id: str, surface: Surface, intent: Intent
    ) -> Finding:
        """The finding a button or form names, once this person may take `intent` on it from
        this surface and the finding's state allows it now."""
        finding = self._finding_for(value, user_id, surface)
        role = ROLE_ON[surface]
        if role not in roles_for(intent):
            self._refuse(finding, user_id, surface, f"{role} may not {intent}", NOT_APPROVER)
        if role == Role.OWNER:
            if not finding.owner_slack_id or user_id != finding.owner_slack_id:
                self._refuse(finding, user_id, surface, "not the owner", NOT_OWNER)
        else:
            self.require_approver(user_id, surface, finding)
        require(intent, finding.state, escalated=finding.escalated_at is not None)
        return finding

    def require_approver(
        self, user_id: str, surface: Surface, finding: Finding | None = None
    ) -> None:
        if not self.approvers.allows(user_id):
            self._refuse(finding, user_id, surface, "not an approver", NOT_APPROVER)

    def _finding_for(self, value: str | None, user_id: str, surface: Surface) -> Finding:
        if not value or not FINDING_ID.match(value):
            self._refuse(None, user_id, surface, "tampered value", TAMPERED, value)
        finding = self.repository.finding(value)
        if finding is None:
            self._refuse(None, user_id, surface, "unknown finding", GONE, value)
        return finding

    def _refuse(
        self,
        finding: Finding | None,
        user_id: str,
        surface: Surface,
        why: str,
        answer: str,
        value: str | None = None,
    ) -> None:
        self.repository.record_event(
            finding.id if finding else None,
            actor=user_id,
            surface=surface,
            action=AuditAction.REFUSED,
            at=self._clock(),
            reason=why,
            details={"value": value[:100]} if value else None,
        )
        raise Refused(answer)


def explain(error: Exception) -> str | None:
    """The line a person is told when their request stopped on `error`; None: unexpected."""
    if isinstance(error, Refused):
        return str(error)
    if isinstance(error, TransitionError):
        return str(error)[:1].upper() + str(error)[1:] + "."
    if isinstance(error, UnknownFinding):
        return GONE
    if isinstance(error, SlackClientError):
        return f"{slack_error(error)}; anything already decided is recorded."
    return None
