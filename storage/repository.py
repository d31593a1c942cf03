"""The small API the bot uses to read and write its records. SQLAlchemy stays in storage/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.rule import USER_DELETED, Finding, UserCredentials
from bot.scanner import AccountScan, ScanResult
from bot.workflow import IN_FLIGHT_STATES, State
from storage import models

SCANNER = "scanner"


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

    def session(self) -> Session:
        return self._sessions()

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

    def open_findings(
        self, *, category: str | None = None, account_id: str | None = None
    ) -> list[models.Finding]:
        query = select(models.Finding).where(models.Finding.closed_at.is_(None))
        if category:
            query = query.where(models.Finding.category == category)
        if account_id:
            query = query.where(models.Finding.account_id == account_id)
        query = query.order_by(models.Finding.account_id, models.Finding.user_name)
        with self._sessions() as session:
            return list(session.scalars(query))

    def findings_for_user(self, user_name: str) -> list[models.Finding]:
        """Every finding, open or closed, of IAM users with this name (newest first)."""
        query = (
            select(models.Finding)
            .where(models.Finding.user_name == user_name)
            .order_by(models.Finding.first_seen.desc())
        )
        with self._sessions() as session:
            return list(session.scalars(query))

    def history(self, finding_id: str) -> list[models.AuditEvent]:
        query = (
            select(models.AuditEvent)
            .where(models.AuditEvent.finding_id == finding_id)
            .order_by(models.AuditEvent.at, models.AuditEvent.id)
        )
        with self._sessions() as session:
            return list(session.scalars(query))

    def scans(self, limit: int = 10) -> Sequence[models.Scan]:
        query = select(models.Scan).order_by(models.Scan.id.desc()).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))


def _scan_account_row(account: AccountScan) -> models.ScanAccount:
    return models.ScanAccount(
        account_id=account.target.account_id,
        account_name=account.target.name,
        status="ok" if account.ok else "failed",
        error=account.error,
        users_seen=account.users_seen,
        findings=len(account.findings),
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
    for finding in account.findings:
        row = open_rows.pop(finding.user_name, None)
        if row is None:
            row = models.Finding(
                account_id=finding.account_id,
                user_name=finding.user_name,
                state=State.OPEN,
                first_seen=now,
            )
            _apply_facts(row, finding, now)
            session.add(row)
            session.flush()
            _audit(session, row, now, "opened", None, State.OPEN, f"idle {finding.days_idle} days")
            record.new.append(row)
            continue
        _apply_facts(row, finding, now)
        if row.state == State.KEPT and row.kept_until is not None and row.kept_until <= now:
            _audit(session, row, now, "reopened", row.state, State.OPEN, "keep expired")
            row.state, row.kept_until = State.OPEN, None
            record.reopened.append(row)
        else:
            record.updated.append(row)
    for row in open_rows.values():
        if row.state in IN_FLIGHT_STATES:
            continue  # a removal is under way; the workflow settles it
        reason = account.cleared.get(row.user_name, USER_DELETED)
        _audit(session, row, now, "resolved", row.state, State.RESOLVED, reason)
        row.state, row.closed_at, row.resolution = State.RESOLVED, now, reason
        record.resolved.append(row)


def _apply_facts(row: models.Finding, finding: Finding, now: datetime) -> None:
    facts = finding.credentials
    row.user_arn = facts.arn
    row.category = finding.category
    row.fully_inactive = finding.fully_inactive
    row.days_idle = finding.days_idle
    row.user_created = facts.created
    row.password_last_used = facts.password_last_used
    row.password_last_changed = facts.password_last_changed
    row.newest_key_used = facts.newest_key_use
    row.owner = finding.owner
    row.facts = credentials_to_json(facts)
    row.last_seen = now


def _audit(
    session: Session,
    row: models.Finding,
    at: datetime,
    action: str,
    from_state: str | None,
    to_state: str | None,
    reason: str | None,
    *,
    actor: str = SCANNER,
    surface: str = "scan",
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        models.AuditEvent(
            finding_id=row.id,
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
