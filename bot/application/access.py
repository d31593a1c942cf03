"""Who may act on which finding from where: the checks every request passes before acting.

The surface a request comes from gives the role it acts in, and the workflow policy says which
roles may take which step (bot.domain.workflow); this module checks that the person holds that
role and records every refusal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from bot.domain.clock import Clock
from bot.domain.records import FINDING_ID, Actor, FindingView, Role, Surface
from bot.domain.workflow import AuditAction, Intent, Standing, person, require, roles_for
from bot.slack.client import Approvers, ApproversUnknown, Members
from storage.repository import Repository

NOT_MINE = "That button or form is not one of mine, so nothing was done."
GONE = "That finding no longer exists, so nothing was done."
NOT_APPROVER = "Only approvers can do that; this attempt was recorded."
NOT_OWNER = "Only the owner of this IAM user can answer here; this attempt was recorded."
NOT_A_VIEWER = (
    "Findings are shown to approvers and members of the findings channel, and each owner sees "
    "their own IAM users; ask one of the approvers if you need to see them."
)


# A person refused again for the same reason within this time is not told again after a click
# (commands and forms are always answered), and the audit counts the repeats in the next
# refusal it records instead of a row per attempt.
QUIET_AFTER_REFUSAL = timedelta(minutes=1)


class Refused(Exception):
    """A request that must change nothing; the message is what the person is told, unless
    `quiet` (they were just told the same)."""

    def __init__(self, answer: str, *, quiet: bool = False) -> None:
        super().__init__(answer)
        self.quiet = quiet


@dataclass
class _Refusals:
    recorded_at: datetime
    since: int = 0  # refusals since, neither told nor recorded


def nameless(_user_id: str) -> str | None:
    """Where no Slack names are read (tests of the decisions alone): ids only."""
    return None


class Access:
    def __init__(
        self,
        repository: Repository,
        approvers: Approvers,
        viewers: Members,
        clock: Clock,
        names: Callable[[str], str | None] = nameless,
    ) -> None:
        self.repository = repository
        self.approvers = approvers
        self.viewers = viewers  # the findings channel's members
        self._clock = clock
        self._names = names  # a person's name in Slack, for the record
        self._refusals: dict[tuple[str, str], _Refusals] = {}  # (person, answer)
        self._lock = threading.Lock()

    def acting_on(
        self, value: object, user_id: str, surface: Surface, intent: Intent
    ) -> tuple[FindingView, Actor]:
        """The finding a button or form names and who acts on it, once this person may take
        `intent` on it from this surface and the finding's state allows it now."""
        actor = self._person(user_id, surface)
        finding = self._finding_for(value, actor)
        if actor.role not in roles_for(intent):
            self._refuse(finding, actor, f"{actor.role} may not {intent}", NOT_APPROVER)
        if actor.role == Role.OWNER:
            if not finding.owner_slack_id or user_id != finding.owner_slack_id:
                self._refuse(finding, actor, "not the owner", NOT_OWNER)
        else:
            self.require_approver(user_id, surface, finding)
        require(intent, finding.state, role=actor.role, standing=Standing.of(finding))
        return finding, actor

    def require_approver(
        self, user_id: str, surface: Surface, finding: FindingView | None = None
    ) -> Actor:
        actor = self._person(user_id, surface)
        if not self.approvers.allows(user_id):
            self._refuse(finding, actor, "not an approver", NOT_APPROVER)
        return actor

    def require_viewer(self, user_id: str) -> None:
        """`list` is for those who see every finding (`sees_all`)."""
        if not self.sees_all(user_id):
            self.refuse_viewer(user_id)

    def sees_all(self, user_id: str) -> bool:
        """Approvers and the findings channel's members see every finding (`list`, `show`);
        anyone else only the IAM users they own.

        An approver's right never waits on the channel: it is asked about last, and when Slack
        cannot say who is in it, anyone else gets that line (ApproversUnknown) instead."""
        group_unknown: ApproversUnknown | None = None
        try:
            if self.approvers.allows(user_id):
                return True
        except ApproversUnknown as unknown:  # a channel member may still look
            group_unknown = unknown
        if user_id in self.viewers:
            return True
        if group_unknown is not None:
            raise group_unknown
        return False

    def refuse_viewer(self, user_id: str, note: str | None = None) -> NoReturn:
        """Refused `list` or `show`; `note`: why they may have been refused wrongly."""
        answer = f"{NOT_A_VIEWER} {note}" if note else NOT_A_VIEWER
        self._refuse(None, person(user_id, Surface.COMMAND), "not a viewer", answer)

    def _person(self, user_id: str, surface: Surface) -> Actor:
        return replace(person(user_id, surface), name=self._names(user_id))

    def _finding_for(self, value: object, actor: Actor) -> FindingView:
        if not isinstance(value, str) or not FINDING_ID.fullmatch(value):
            self._refuse(None, actor, "tampered value", NOT_MINE, value)
        finding = self.repository.finding(value)
        if finding is None:
            self._refuse(None, actor, "unknown finding", GONE, value)
        return finding

    def _refuse(
        self,
        finding: FindingView | None,
        actor: Actor,
        why: str,
        answer: str,
        value: object = None,
    ) -> NoReturn:
        now = self._clock()
        with self._lock:
            last = self._refusals.get((actor.id, answer))
            if last is not None and now - last.recorded_at < QUIET_AFTER_REFUSAL:
                last.since += 1
                raise Refused(answer, quiet=True)
            self._refusals[(actor.id, answer)] = _Refusals(now)
        details: dict[str, Any] = {"value": str(value)[:100]} if value else {}
        if last is not None and last.since:
            details["refused_since_last_recorded"] = last.since
        self.repository.record_event(
            finding.id if finding else None,
            AuditAction.REFUSED,
            actor,
            at=now,
            reason=why,
            details=details or None,
        )
        raise Refused(answer)
