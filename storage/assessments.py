"""Every user's verdict, scan after scan, as intervals (models.Assessment): recorded with the
scan, in its transaction, and read back as a period's population (bot.domain.population)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.population import AccountAssessed, UserAssessed, changes, verdicts
from bot.domain.scan import AccountScan
from storage import models
from storage.bulk import insert_rows, update_rows

_assessment = models.Assessment.__table__


def record(session: Session, account: AccountScan, now: datetime) -> None:
    """An account the scan read: its users' verdicts brought up to date, set-based (one read,
    at most one update and one insert). A failed account's verdicts stay as they were."""
    account_id = account.target.account_id
    current = {
        name: (interval, verdict)
        for interval, name, verdict in session.execute(
            select(_assessment.c.id, _assessment.c.user_name, _assessment.c.verdict).where(
                _assessment.c.account_id == account_id, _assessment.c.until.is_(None)
            )
        )
    }
    found = changes(current, verdicts(account))
    update_rows(session, _assessment, "id", [{"id": i, "until": now} for i in found.ended])
    insert_rows(
        session,
        _assessment,
        [
            {"account_id": account_id, "user_name": name, "verdict": verdict, "since": now}
            for name, verdict in found.begun.items()
        ],
    )


def population(
    session: Session, since: datetime, until: datetime, account_id: str | None
) -> tuple[list[AccountAssessed], list[UserAssessed], dict[tuple[str, str], list[models.Finding]]]:
    """Each account's latest scan started in [since, until) that read it (else the latest that
    tried), the verdicts holding at that scan, and the findings open then."""
    scan, scanned = models.Scan, models.ScanAccount
    in_period = [scan.started_at >= since, scan.started_at < until]
    if account_id:
        in_period.append(scanned.account_id == account_id)
    latest = (
        select(scanned.account_id, scanned.status, func.max(scan.started_at).label("at"))
        .join(scanned.scan)
        .where(*in_period)
        .group_by(scanned.account_id, scanned.status)
        .subquery()
    )
    tried: dict[str, Any] = {}
    for row in session.execute(
        select(
            scanned.account_id,
            scanned.account_name,
            scanned.status,
            scanned.error,
            scanned.users_seen,
            scan.id.label("scan_id"),
            scan.started_at,
        )
        .join(scanned.scan)
        .join(
            latest,
            (latest.c.account_id == scanned.account_id)
            & (latest.c.status == scanned.status)
            & (latest.c.at == scan.started_at),
        )
    ):
        if row.account_id not in tried or row.status == "ok":  # a read beats a failure
            tried[row.account_id] = row
    read = latest.c.status == "ok"
    assessment, finding = models.Assessment, models.Finding
    users = session.execute(
        select(assessment.account_id, assessment.user_name, assessment.verdict, assessment.since)
        .join(latest, (latest.c.account_id == assessment.account_id) & read)
        .where(
            assessment.since <= latest.c.at,
            assessment.until.is_(None) | (assessment.until > latest.c.at),
        )
    ).all()
    findings = session.scalars(
        select(finding)
        .join(latest, (latest.c.account_id == finding.account_id) & read)
        .where(
            finding.first_seen <= latest.c.at,
            finding.closed_at.is_(None) | (finding.closed_at > latest.c.at),
        )
    )
    by_user: dict[tuple[str, str], list[models.Finding]] = {}
    for found in findings:  # a user's password finding, or each of its idle keys'
        by_user.setdefault((found.account_id, found.user_name), []).append(found)
    return list(tried.values()), list(users), by_user
