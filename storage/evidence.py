"""What the evidence export reads: the accounts a period's scans covered, every user's verdict
at its account's latest scan (the assessments storage.assessments recorded), and the findings
with their history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.population import AccountAssessed, UserAssessed, population_rows
from storage import models


class EvidenceSnapshot:
    """The evidence export's reads, all of one moment of the database: an export read while a
    decision commits shows the finding as it was before that step or as it is after, never its
    columns from before beside the step's event from after."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def accounts_scanned(
        self, since: datetime, until: datetime, account_id: str | None = None
    ) -> list[str]:
        """The accounts (or only `account_id`) a scan started in [since, until) covered, whether
        or not it could read them (a failed account is in the scan's record, and in the
        evidence's scope)."""
        query = (
            select(models.ScanAccount.account_id)
            .join(models.ScanAccount.scan)
            .where(models.Scan.started_at >= since, models.Scan.started_at < until)
        )
        if account_id:
            query = query.where(models.ScanAccount.account_id == account_id)
        ordered = query.distinct().order_by(models.ScanAccount.account_id)
        return list(self._session.scalars(ordered))

    def population(
        self, since: datetime, until: datetime, account_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Every user of every account scanned in [since, until), at its account's latest scan
        (bot.domain.population), by account and user name."""
        return population_rows(*_population(self._session, since, until, account_id))

    def evidence(
        self, since: datetime, until: datetime, account_id: str | None = None
    ) -> list[tuple[models.Finding, list[models.AuditEvent]]]:
        """Findings open at any time in [since, until) (first seen before its end and not
        closed before its start: an exception to the control is evidence while it lasts, even
        when nothing happened to it), or with an audit event in it, by account and user name,
        each with its whole history, oldest first (bot.domain.evidence)."""
        finding, event = models.Finding, models.AuditEvent
        touched = select(event.finding_id).where(event.at >= since, event.at < until)
        open_in_period = (finding.first_seen < until) & (
            finding.closed_at.is_(None) | (finding.closed_at >= since)
        )
        chosen = select(finding.id).where(open_in_period | finding.id.in_(touched))
        if account_id:
            chosen = chosen.where(finding.account_id == account_id)
        findings = self._session.scalars(
            select(finding)
            .where(finding.id.in_(chosen))
            .order_by(finding.account_id, finding.user_name, finding.first_seen, finding.id)
        ).all()
        history: dict[str, list[models.AuditEvent]] = {row.id: [] for row in findings}
        for row in self._session.scalars(
            select(event).where(event.finding_id.in_(chosen)).order_by(event.at, event.id)
        ):
            if row.finding_id in history:
                history[row.finding_id].append(row)
        return [(row, history[row.id]) for row in findings]


class EvidenceReads:
    _sessions: sessionmaker[Session]

    @contextmanager
    def evidence_snapshot(self) -> Iterator[EvidenceSnapshot]:
        """The evidence export's reads, in one read-only transaction that sees the database as
        its first read did: PostgreSQL's REPEATABLE READ; on SQLite a transaction begun before
        the first read (its driver begins one only before a write)."""
        with self._sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                snapshot = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
                session.connection(execution_options=snapshot)
            else:
                session.connection().exec_driver_sql("BEGIN")
            yield EvidenceSnapshot(session)


def _population(
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
