"""The small API the bot uses to read and write its records. SQLAlchemy stays in storage/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.records import (
    NO_CHANGES,
    AuditAction,
    FindingChanges,
    Surface,
    SystemActor,
    UnknownFinding,
)
from bot.domain.rule import USER_DELETED, Candidate, UserCredentials
from bot.domain.scan import AccountScan, ScanResult
from bot.domain.workflow import (
    CLOSED_STATES,
    Intent,
    State,
    TransitionError,
    audit_action,
    check,
    may,
)
from storage import models


@dataclass
class ScanRecord:
    """What recording a scan changed: the rows to announce and the rows that closed."""

    scan_id: int
    new: list[models.Finding] = field(default_factory=list)
    reopened: list[models.Finding] = field(default_factory=list)
    updated: list[models.Finding] = field(default_factory=list)
    resolved: list[models.Finding] = field(default_factory=list)

    @property
    def to_announce(self) -> list[models.Finding]:
        return self.new + self.reopened


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _all(self, query: Select[Any]) -> list[Any]:
        with self._sessions() as session:
            return list(session.scalars(query))

    def record_scan(self, result: ScanResult, trigger: str) -> ScanRecord:
        """Store the scan and bring findings up to date, in one transaction."""
        with self._sessions.begin() as session:
            scan = models.Scan(
                started_at=result.started_at,
                finished_at=result.finished_at,
                source=result.source,
                trigger=trigger,
                status=result.status,
                accounts=[_scan_account_row(account) for account in result.accounts],
            )
            session.add(scan)
            session.flush()
            record = ScanRecord(scan_id=scan.id)
            for account in result.accounts:
                if account.ok:  # a failed account's findings stay as they were
                    _sync_account(session, account, result.started_at, record)
        return record

    def finding(self, finding_id: str) -> models.Finding | None:
        with self._sessions() as session:
            return session.get(models.Finding, finding_id)

    def transition(
        self,
        finding_id: str,
        intent: Intent,
        *,
        actor: str,
        surface: Surface,
        at: datetime,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        changes: FindingChanges = NO_CHANGES,
    ) -> models.Finding:
        """Take one step of the workflow and append its audit event, in one transaction.

        The policy decides whether the step may happen in the row's current state. Compare-and-
        set: the row's version column makes a concurrent step (a second click, a second replica)
        fail with TransitionError instead of both succeeding.
        """
        try:
            with self._sessions.begin() as session:
                row = session.get(models.Finding, finding_id)
                if row is None:
                    raise UnknownFinding(finding_id)
                _step(session, row, intent, at, reason, actor, surface, details, changes)
        except StaleDataError:
            raise TransitionError("this finding was changed by someone else just now") from None
        return row

    def record_event(
        self,
        finding_id: str | None,
        *,
        actor: str,
        surface: Surface,
        action: AuditAction,
        at: datetime,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An audit entry that changes no state (a refused click, a failed message)."""
        with self._sessions.begin() as session:
            if finding_id is not None and session.get(models.Finding, finding_id) is None:
                details = {**(details or {}), "unknown_finding_id": finding_id[:64]}
                finding_id = None
            _audit(
                session,
                finding_id,
                at,
                action,
                None,
                None,
                reason,
                actor=actor,
                surface=surface,
                details=details,
            )

    def place_in_channel(self, finding_ids: Sequence[str], channel: str, ts: str) -> None:
        """Remember which message shows these findings."""
        self.note(finding_ids, FindingChanges(slack_channel=channel, slack_ts=ts))

    def claim_job(self, job: str, fire_time: datetime, claimed_by: str, at: datetime) -> bool:
        """Insert the claim for this fire time; True only for the one caller whose insert landed."""
        dialect = self.engine.dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(models.JobRun.__table__)
            .values(job=job, fire_time=fire_time, claimed_by=claimed_by, started_at=at)
            .on_conflict_do_nothing(index_elements=["job", "fire_time"])
            .returning(models.JobRun.__table__.c.id)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def finish_job(self, job: str, fire_time: datetime, at: datetime, outcome: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(models.JobRun)
                .where(models.JobRun.job == job, models.JobRun.fire_time == fire_time)
                .values(finished_at=at, outcome=outcome[:2000])
            )

    def note(self, finding_ids: Sequence[str], changes: FindingChanges) -> None:
        """Facts about findings that are not decisions (where they are shown, follow-up times):
        no version bump, so they never make a concurrent decision fail."""
        with self._sessions.begin() as session:
            session.execute(
                update(models.Finding)
                .where(models.Finding.id.in_(finding_ids))
                .values(**changes.values()),
                execution_options={"synchronize_session": False},
            )

    def claim_finding(self, finding_id: str, version: int) -> bool:
        """Compare-and-set on the version: True for the one caller that still saw `version`."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(models.Finding)
                .where(models.Finding.id == finding_id, models.Finding.version == version)
                .values(version=version + 1),
                execution_options={"synchronize_session": False},
            )
            return result.rowcount == 1

    def findings_in_state(self, state: State) -> list[models.Finding]:
        query = (
            select(models.Finding).where(models.Finding.state == state).order_by(models.Finding.id)
        )
        return self._all(query)

    def findings_in_message(self, channel: str, ts: str) -> list[models.Finding]:
        query = (
            select(models.Finding)
            .where(models.Finding.slack_channel == channel, models.Finding.slack_ts == ts)
            .order_by(models.Finding.account_id, models.Finding.user_name)
        )
        return self._all(query)

    def digest_inputs(
        self, since: datetime, trend_start: datetime
    ) -> tuple[list[models.Finding], dict[str, int], list[tuple[datetime, str, str]]]:
        """For the digest: findings open now or closed since `trend_start`, the audit actions
        since `since` by name, and the accounts whose scans failed since `since`."""
        with self._sessions() as session:
            findings = list(
                session.scalars(
                    select(models.Finding).where(
                        (models.Finding.closed_at.is_(None))
                        | (models.Finding.closed_at >= trend_start)
                    )
                )
            )
            actions = session.execute(
                select(models.AuditEvent.action, func.count())
                .where(models.AuditEvent.at >= since)
                .group_by(models.AuditEvent.action)
            ).all()
            failures = session.execute(
                select(
                    models.Scan.started_at, models.ScanAccount.account_id, models.ScanAccount.error
                )
                .join(models.ScanAccount.scan)
                .where(models.Scan.started_at >= since, models.ScanAccount.status == "failed")
                .order_by(models.Scan.started_at)
            ).all()
        return findings, dict(actions), [tuple(row) for row in failures]

    def open_findings(
        self, *, category: str | None = None, account_id: str | None = None
    ) -> list[models.Finding]:
        query = select(models.Finding).where(models.Finding.closed_at.is_(None))
        if category:
            query = query.where(models.Finding.category == category)
        if account_id:
            query = query.where(models.Finding.account_id == account_id)
        query = query.order_by(models.Finding.account_id, models.Finding.user_name)
        return self._all(query)

    def findings_for_user(self, user_name: str) -> list[models.Finding]:
        """Every finding, open or closed, of IAM users with this name (newest first)."""
        query = (
            select(models.Finding)
            .where(models.Finding.user_name == user_name)
            .order_by(models.Finding.first_seen.desc())
        )
        return self._all(query)

    def history(self, finding_id: str) -> list[models.AuditEvent]:
        query = (
            select(models.AuditEvent)
            .where(models.AuditEvent.finding_id == finding_id)
            .order_by(models.AuditEvent.at, models.AuditEvent.id)
        )
        return self._all(query)


def _scan_account_row(account: AccountScan) -> models.ScanAccount:
    return models.ScanAccount(
        account_id=account.target.account_id,
        account_name=account.target.name,
        status="ok" if account.ok else "failed",
        error=account.error,
        users_seen=account.users_seen,
        findings=len(account.candidates),
        report_generated_at=account.report_generated_at,
    )


def _sync_account(
    session: Session, account: AccountScan, now: datetime, record: ScanRecord
) -> None:
    open_rows = {
        row.user_name: row
        for row in session.scalars(
            select(models.Finding).where(
                models.Finding.account_id == account.target.account_id,
                models.Finding.closed_at.is_(None),
            )
        )
    }
    for candidate in account.candidates:
        row = open_rows.pop(candidate.user_name, None)
        if row is None:
            row = models.Finding(
                account_id=candidate.account_id,
                user_name=candidate.user_name,
                state=State.OPEN,
                first_seen=now,
            )
            _apply_facts(row, candidate, now)
            session.add(row)
            session.flush()
            _audit(
                session,
                row.id,
                now,
                AuditAction.OPENED,
                None,
                State.OPEN,
                f"idle {candidate.days_idle} days",
            )
            record.new.append(row)
            continue
        _apply_facts(row, candidate, now)
        keep_expired = row.kept_until is not None and row.kept_until <= now
        if keep_expired and may(Intent.REOPEN, row.state):
            _step(session, row, Intent.REOPEN, now, "keep expired", changes=REOPENED)
            record.reopened.append(row)
        else:
            record.updated.append(row)
    for row in open_rows.values():
        if may(Intent.RESOLVE, row.state):
            reason = account.cleared.get(row.user_name, USER_DELETED)
            _step(
                session, row, Intent.RESOLVE, now, reason, changes=FindingChanges(resolution=reason)
            )
            record.resolved.append(row)


REOPENED = FindingChanges(kept_until=None)


def _step(
    session: Session,
    row: models.Finding,
    intent: Intent,
    at: datetime,
    reason: str | None,
    actor: str = SystemActor.SCANNER,
    surface: Surface = Surface.SCAN,
    details: dict[str, Any] | None = None,
    changes: FindingChanges = NO_CHANGES,
) -> None:
    """The one checked state change: the policy's verdict, the audit event, the new fields."""
    current = State(row.state)
    to = check(intent, current, escalated=row.escalated_at is not None)
    _audit(
        session,
        row.id,
        at,
        audit_action(intent, to),
        current,
        to,
        reason,
        actor=actor,
        surface=surface,
        details=details,
    )
    row.state = to
    for name, value in changes.values().items():
        setattr(row, name, value)
    if to in CLOSED_STATES:
        row.closed_at = at
        row.resolution = row.resolution or reason


def _apply_facts(row: models.Finding, candidate: Candidate, now: datetime) -> None:
    facts = candidate.credentials
    row.user_arn = facts.arn
    row.category = candidate.category
    row.fully_inactive = candidate.fully_inactive
    row.days_idle = candidate.days_idle
    row.user_created = facts.created
    row.password_last_used = facts.password_last_used
    row.password_last_changed = facts.password_last_changed
    row.newest_key_used = facts.newest_key_use
    row.owner = candidate.owner
    row.facts = credentials_to_json(facts)
    row.last_seen = now


def _audit(
    session: Session,
    finding_id: str | None,
    at: datetime,
    action: AuditAction,
    from_state: str | None,
    to_state: str | None,
    reason: str | None,
    *,
    actor: str = SystemActor.SCANNER,
    surface: Surface = Surface.SCAN,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        models.AuditEvent(
            finding_id=finding_id,
            at=at,
            actor=actor,
            surface=surface,
            action=action,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            details=details,
        )
    )


def credentials_to_json(facts: UserCredentials) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "arn": facts.arn,
        "created": iso(facts.created),
        "has_password": facts.has_password,
        "password_last_used": iso(facts.password_last_used),
        "password_last_changed": iso(facts.password_last_changed),
        "keys": [
            {"active": key.active, "last_used": iso(key.last_used), "key_id": key.key_id}
            for key in facts.keys
        ],
    }
