"""What a scan needs of the database, on SQLAlchemy Core alone: what processes share (the scan
lease, storage.coordination), the recording, and the findings its publication reads. A terminal
scan opens only this; storage.repository builds the bot's whole API on it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain.records import FindingView, LeaseLost
from bot.domain.scan import ScanResult
from storage import recording, tables
from storage.coordination import Coordination
from storage.recording import ScanRecord
from storage.steps import StepConflict
from storage.tables import findings, leases
from storage.views import finding_views

RECORD_ATTEMPTS = 3


class ScanStore(Coordination):
    """The scan's part of the database: its lease (and what else processes share), its
    recording, and the findings as its Security Hub publication reads them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_scan(
        self,
        result: ScanResult,
        trigger: str,
        *,
        dry_run: bool,
        lease: tuple[str, str] | None = None,
    ) -> ScanRecord:
        """Store the scan and bring findings up to date, in one transaction. `dry_run`: whether
        removals made in a dry run stay decided (see bot.domain.deadlines.opening). `lease`
        (name, holder): recorded only if the holder still holds it, else LeaseLost.

        A decision that steps a finding while the scan is being recorded (StepConflict), or
        another recording that opened the same finding first (the unique index on open findings
        refuses the second: recordings the lease does not keep apart), makes the recording
        start again from the rows as they are now, so neither loses the other's write."""
        attempts = 1
        while True:
            try:
                with self.engine.begin() as connection:
                    if lease is not None:
                        _hold_for_transaction(connection, *lease)
                    return recording.record(connection, result, trigger, dry_run)
            except (StepConflict, IntegrityError):
                if attempts == RECORD_ATTEMPTS:
                    raise
                attempts += 1

    def findings_by_id(self, finding_ids: Sequence[str]) -> list[FindingView]:
        """These findings as they are now (a thousand ids a query)."""
        found: list[FindingView] = []
        for start in range(0, len(finding_ids), 1000):
            chunk = finding_ids[start : start + 1000]
            found += self._findings(findings.c.id.in_(chunk))
        return found

    def changed_since_previous_scan(self, scan_id: int) -> list[FindingView]:
        """The findings a step moved since the scan before `scan_id` began (none before the
        first scan): what this scan's publication catches up on."""
        previous = (
            select(tables.scans.c.started_at)
            .where(tables.scans.c.id < scan_id)
            .order_by(tables.scans.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        return self._findings(findings.c.state_changed_at >= previous)

    def _findings(self, where: ColumnElement[bool]) -> list[FindingView]:
        with self.engine.connect() as connection:
            return finding_views(connection, where)


def _hold_for_transaction(connection: Connection, name: str, holder: str) -> None:
    """Lock the lease row as this transaction's first write, if `holder` has it: whoever takes
    the lease over then waits for this transaction's end (a row lock on PostgreSQL, the write
    lock on SQLite), so nothing is recorded after they take it."""
    held = connection.execute(
        update(leases)
        .where(leases.c.name == name, leases.c.holder == holder)
        .values(holder=leases.c.holder)
    )
    if held.rowcount != 1:
        raise LeaseLost(f"{holder} no longer holds the {name} lease: nothing was recorded")
