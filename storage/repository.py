"""The small API the bot uses to read and write its records. SQLAlchemy stays in storage/."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Select, func, insert, select, update
from sqlalchemy.orm import sessionmaker

from bot.domain.records import (
    NO_CHANGES,
    Actor,
    FindingChanges,
    FindingNotes,
    FindingView,
    RecordsUnavailable,
    StepUnsettled,
    UnknownFinding,
)
from bot.domain.risk import by_risk
from bot.domain.workflow import (
    AWAITING_DECISION,
    AuditAction,
    Intent,
    State,
    TransitionError,
)
from storage import models
from storage.evidence import EvidenceReads
from storage.scan_store import ScanStore
from storage.steps import StepConflict, audit_values, take_step
from storage.summaries import Summaries
from storage.tables import audit_events, findings
from storage.views import finding_views

CHANGED_SINCE = "This finding has changed since then, so nothing was done."


class Repository(ScanStore, Summaries, EvidenceReads):
    """Findings, their audit log and scans, through the ORM (and, from ScanStore, what
    processes share and the scans' recording; from Summaries, the counts people are shown;
    from EvidenceReads, what the evidence export reads)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _all(self, query: Select[Any]) -> list[Any]:
        with self._sessions() as session:
            return list(session.scalars(query))

    def finding(self, finding_id: str) -> FindingView | None:
        with self._sessions() as session:
            return session.get(models.Finding, finding_id)

    def transition(
        self,
        finding_id: str,
        intent: Intent,
        by: Actor,
        *,
        at: datetime,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        changes: FindingChanges = NO_CHANGES,
        expected_step: datetime | None = None,
    ) -> FindingView:
        """Take one step of the workflow and append its audit event, in one transaction.

        The policy decides whether `by` may take the step in the row's current state. Compare-
        and-set (storage.steps): a concurrent step (a second click, a second replica) makes
        this one fail with TransitionError instead of both succeeding. `expected_step`: the
        step is for the finding as someone saw it (a form, a job's list); any step since refuses
        it.
        """
        try:
            with self.engine.connect() as connection:
                transaction = connection.begin()
                found = finding_views(connection, findings.c.id == finding_id)
                if not found:
                    raise UnknownFinding(finding_id)
                (row,) = found
                if expected_step is not None and row.state_changed_at != expected_step:
                    raise TransitionError(CHANGED_SINCE)
                take_step(connection, row, intent, at, reason, by, details, changes)
                try:
                    transaction.commit()
                except RecordsUnavailable as lost:  # the COMMIT may have landed or not
                    raise StepUnsettled(str(lost)) from lost
        except StepConflict:
            raise TransitionError("This finding was changed by someone else just now.") from None
        return row

    def record_event(
        self,
        finding_id: str | None,
        action: AuditAction,
        by: Actor,
        *,
        at: datetime,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An audit entry that changes no state (a refused click, a failed message)."""
        with self.engine.begin() as connection:
            known = select(findings.c.id).where(findings.c.id == finding_id)
            if finding_id is not None and connection.execute(known).first() is None:
                details = {**(details or {}), "unknown_finding_id": finding_id[:64]}
                finding_id = None
            event = audit_values(finding_id, at, action, reason, by, details=details)
            connection.execute(insert(audit_events).values(event))

    def place_in_channel(
        self, finding_ids: Sequence[str], channel: str, ts: str, thread_ts: str | None = None
    ) -> None:
        """Remember which message shows these findings (a reply in the thread of `thread_ts`)."""
        notes = FindingNotes(slack_channel=channel, slack_ts=ts, slack_thread_ts=thread_ts)
        self.note(finding_ids, notes)

    def note(self, finding_ids: Sequence[str], notes: FindingNotes) -> None:
        """Facts about findings that are not decisions (where they are shown, follow-up times):
        no version bump, so they never make a concurrent decision fail."""
        with self._sessions.begin() as session:
            session.execute(
                update(models.Finding)
                .where(models.Finding.id.in_(finding_ids))
                .values(**notes.values()),
                execution_options={"synchronize_session": False},
            )

    def claim_finding(self, finding_id: str, version: int, at: datetime) -> bool:
        """Compare-and-set on the version: True for the one caller that still saw `version`.
        The claim also counts as a change of state, so no other sweeper finds the finding stuck
        until the claimer has had STUCK_AFTER_SECONDS to move it on."""
        with self._sessions.begin() as session:
            # An UPDATE's result is a CursorResult; Session.execute is typed as any statement's.
            result = cast(
                "CursorResult[Any]",
                session.execute(
                    update(models.Finding)
                    .where(models.Finding.id == finding_id, models.Finding.version == version)
                    .values(version=version + 1, state_changed_at=at),
                    execution_options={"synchronize_session": False},
                ),
            )
            return result.rowcount == 1

    def stuck_findings(self, states: Sequence[State], since: datetime) -> list[FindingView]:
        """Findings in one of `states` whose state has not changed since `since`."""
        query = (
            select(models.Finding)
            .where(
                models.Finding.state.in_(states),
                (models.Finding.state_changed_at < since)
                | models.Finding.state_changed_at.is_(None),
            )
            .order_by(models.Finding.id)
        )
        return self._all(query)

    def unposted_findings(self) -> list[FindingView]:
        """Findings waiting for a decision that have no channel message (posting failed), but
        not those Slack refused for what their message holds: posted again, it would be refused
        again (their audit says so)."""
        refused = select(models.AuditEvent.id).where(
            models.AuditEvent.finding_id == models.Finding.id,
            models.AuditEvent.action == AuditAction.POST_REFUSED,
        )
        query = select(models.Finding).where(
            models.Finding.state.in_(AWAITING_DECISION),
            models.Finding.slack_ts.is_(None),
            ~refused.exists(),
        )
        return self._all(query)

    def findings_in_state(self, *states: State) -> list[FindingView]:
        query = (
            select(models.Finding)
            .where(models.Finding.state.in_(states))
            .order_by(models.Finding.id)
        )
        return self._all(query)

    def findings_in_message(self, channel: str, ts: str) -> list[FindingView]:
        """The findings of one channel message, riskiest first, as it is posted and redrawn."""
        query = select(models.Finding).where(
            models.Finding.slack_channel == channel, models.Finding.slack_ts == ts
        )
        return sorted(self._all(query), key=by_risk)

    def open_findings(
        self, *, category: str | None = None, account_id: str | None = None
    ) -> list[FindingView]:
        query = select(models.Finding).where(models.Finding.closed_at.is_(None))
        if category:
            query = query.where(models.Finding.category == category)
        if account_id:
            query = query.where(models.Finding.account_id == account_id)
        return sorted(self._all(query), key=by_risk)

    def findings_for_user(
        self, user_name: str, owned_by: Sequence[str] | None = None
    ) -> list[FindingView]:
        """Every finding, open or closed, of IAM users with this name, in any case (IAM names
        are unique without regard to case), newest first; `owned_by`: only those owned by one
        of these keys (see `_owned_by`)."""
        query = select(models.Finding).where(
            func.lower(models.Finding.user_name) == func.lower(user_name)
        )
        if owned_by is not None:
            query = query.where(_owned_by(owned_by))
        return self._all(query.order_by(models.Finding.first_seen.desc()))

    def findings_owned_by(
        self, owner_keys: Sequence[str], disabled_since: datetime | None = None
    ) -> list[FindingView]:
        """Open findings (and, `disabled_since`, those disabled since then: their keys may be
        reactivated) owned by one of `owner_keys` (see `_owned_by`)."""
        shown: ColumnElement[bool] = models.Finding.closed_at.is_(None)
        if disabled_since is not None:
            disabled = models.Finding.state == State.DISABLED
            shown = shown | (disabled & (models.Finding.closed_at >= disabled_since))
        return self._all(select(models.Finding).where(shown, _owned_by(owner_keys)))

    def history(self, finding_id: str) -> list[models.AuditEvent]:
        query = (
            select(models.AuditEvent)
            .where(models.AuditEvent.finding_id == finding_id)
            .order_by(models.AuditEvent.at, models.AuditEvent.id)
        )
        return self._all(query)


def _owned_by(owner_keys: Sequence[str]) -> ColumnElement[bool]:
    """Whose IAM user a finding is: the owner tag is one of `owner_keys` (a Slack user id, an
    email: compared without case, as emails' case carries no meaning), or the owner was resolved
    to one of them in Slack."""
    tagged = func.lower(models.Finding.owner).in_([key.lower() for key in owner_keys])
    return tagged | models.Finding.owner_slack_id.in_(owner_keys)
