"""What the surfaces summarize from many findings and scans at once: the digest's week, each
account's open findings and how its last scan went (the Home tab)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.digest import DISABLED_IN_DRY_RUN
from bot.domain.home import NEW_WITHIN, OLD_AFTER, LastScan, OpenCount
from bot.domain.records import FindingView
from bot.domain.scan import DISCOVERY
from bot.domain.workflow import State
from storage import models


class Summaries:
    _sessions: sessionmaker[Session]

    def digest_inputs(
        self, since: datetime, trend_start: datetime
    ) -> tuple[list[FindingView], dict[str, int], list[tuple[datetime, str, str | None]]]:
        """For the digest: findings open now, closed since `trend_start` or moved since `since`
        (keys deleted long after their removal), the audit actions since `since` by name, and
        the accounts whose scans failed since `since`."""
        with self._sessions() as session:
            findings: list[FindingView] = list(
                session.scalars(
                    select(models.Finding).where(
                        (models.Finding.closed_at.is_(None))
                        | (models.Finding.closed_at >= trend_start)
                        | (models.Finding.state_changed_at >= since)
                    )
                )
            )
            week = models.AuditEvent.at >= since
            actions = dict(
                session.execute(
                    select(models.AuditEvent.action, func.count())
                    .where(week)
                    .group_by(models.AuditEvent.action)
                ).all()
            )
            # A removal made in a dry run is recorded `disabled` as well: counted apart.
            dry_runs = session.scalar(
                select(func.count())
                .select_from(models.AuditEvent)
                .join(models.Finding, models.Finding.id == models.AuditEvent.finding_id)
                .where(
                    week,
                    models.AuditEvent.action == State.DISABLED,
                    models.Finding.requested_dry_run.is_(True),
                )
            )
            if dry_runs:
                actions[State.DISABLED] -= dry_runs
                actions[DISABLED_IN_DRY_RUN] = dry_runs
            failures = session.execute(
                select(
                    models.Scan.started_at, models.ScanAccount.account_id, models.ScanAccount.error
                )
                .join(models.ScanAccount.scan)
                .where(models.Scan.started_at >= since, models.ScanAccount.status == "failed")
                .order_by(models.Scan.started_at)
            ).all()
        return findings, actions, [(at, account, error) for at, account, error in failures]

    def open_by_account(self, now: datetime) -> dict[str, OpenCount]:
        """Each account's open findings, counted by how long they have been open."""
        first_seen = models.Finding.first_seen
        query = (
            select(
                models.Finding.account_id,
                func.count(),
                func.count().filter(first_seen > now - NEW_WITHIN),
                func.count().filter(first_seen <= now - OLD_AFTER),
            )
            .where(models.Finding.closed_at.is_(None))
            .group_by(models.Finding.account_id)
        )
        with self._sessions() as session:
            rows = session.execute(query).all()
        return {account: OpenCount(total, new, old) for account, total, new, old in rows}

    def last_scans(self) -> dict[str, LastScan]:
        """How each account's most recent scan went."""
        latest = (
            select(func.max(models.ScanAccount.id))
            .group_by(models.ScanAccount.account_id)
            .scalar_subquery()
        )
        query = (
            select(models.ScanAccount, models.Scan.started_at)
            .join(models.ScanAccount.scan)
            .where(models.ScanAccount.id.in_(latest))
        )
        with self._sessions() as session:
            rows = session.execute(query).all()
        last = {
            account.account_id: LastScan(at, account.status, account.account_name, account.error)
            for account, at in rows
        }
        failed_discovery = last.get(DISCOVERY)
        if failed_discovery and any(scan.at > failed_discovery.at for scan in last.values()):
            del last[DISCOVERY]  # accounts were found again since
        return last
