"""Recording a scan: the scan and its accounts, then every account's findings brought up to
date (opened, updated, reopened after a keep, resolved) through the checked workflow step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.records import FindingChanges
from bot.domain.rule import DIFFERENT_USER, USER_DELETED, Candidate, UserCredentials
from bot.domain.scan import AccountScan, ScanResult
from bot.domain.workflow import AuditAction, Intent, State, keep_expired, may, opening
from storage import models
from storage.steps import audit, step


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


def record(session: Session, result: ScanResult, trigger: str, dry_run: bool) -> ScanRecord:
    """Store the scan and bring findings up to date, in the caller's transaction."""
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
            _sync_account(session, account, result.started_at, record, dry_run)
    return record


REOPENED = FindingChanges(kept_until=None)


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
    session: Session, account: AccountScan, now: datetime, record: ScanRecord, dry_run: bool
) -> None:
    account_id = account.target.account_id
    open_rows = {
        row.user_name: row
        for row in session.scalars(
            select(models.Finding).where(
                models.Finding.account_id == account_id, models.Finding.closed_at.is_(None)
            )
        )
    }
    for candidate in account.candidates:
        row = open_rows.pop(candidate.user_name, None)
        if row is not None and _another_user(row, candidate):
            if not may(Intent.RESOLVE, row.state):
                continue  # a removal is under way: it re-checks the identity itself
            _resolve(session, row, DIFFERENT_USER, now, record)
            session.flush()
            row = None
        if row is None:
            _open(session, candidate, now, record, account, dry_run)
            continue
        _apply_facts(row, candidate, now)
        if keep_expired(row.kept_until, now) and may(Intent.REOPEN, row.state):
            step(session, row, Intent.REOPEN, now, "keep expired", changes=REOPENED)
            record.reopened.append(row)
        else:
            record.updated.append(row)
    for row in open_rows.values():
        if may(Intent.RESOLVE, row.state):
            _resolve(session, row, account.cleared.get(row.user_name, USER_DELETED), now, record)


def _open(
    session: Session,
    candidate: Candidate,
    now: datetime,
    record: ScanRecord,
    account: AccountScan,
    dry_run: bool,
) -> None:
    last = _last_closed(session, candidate)
    verdict = opening(last, account.report_generated_at, dry_run)
    if not verdict.allowed:
        return
    row = models.Finding(
        account_id=candidate.account_id,
        user_name=candidate.user_name,
        state=State.OPEN,
        first_seen=now,
        state_changed_at=now,
        decision_note=verdict.note,
    )
    _apply_facts(row, candidate, now)
    session.add(row)
    session.flush()
    why = "; ".join(filter(None, [f"idle {candidate.days_idle} days", verdict.note]))
    audit(session, row.id, now, AuditAction.OPENED, why, to_state=State.OPEN)
    record.new.append(row)


def _last_closed(session: Session, candidate: Candidate) -> models.Finding | None:
    query = (
        select(models.Finding)
        .where(
            models.Finding.account_id == candidate.account_id,
            models.Finding.user_name == candidate.user_name,
            models.Finding.closed_at.is_not(None),
        )
        .order_by(models.Finding.closed_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _another_user(row: models.Finding, candidate: Candidate) -> bool:
    return bool(row.user_id and candidate.user_id and row.user_id != candidate.user_id)


def _resolve(
    session: Session, row: models.Finding, reason: str, now: datetime, record: ScanRecord
) -> None:
    step(session, row, Intent.RESOLVE, now, reason, changes=FindingChanges(resolution=reason))
    record.resolved.append(row)


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
    row.user_id = candidate.user_id or row.user_id
    row.facts = credentials_to_json(facts)
    row.last_seen = now


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
