"""What the bot's processes share through the database: claims on scheduled fire times, leases
(one scan at a time; each scanner process's heartbeat) and the queue of scan requests."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, Select, and_, delete, false, insert, or_, select, update

from bot.domain.clock import as_utc
from bot.domain.records import Holder, QueuedScan
from storage import tables

# A scanner process holds a lease named so while it runs, renewed as its heartbeat.
SCANNER_LEASE_PREFIX = "scanner:"
# Its holder ends so once it stops taking requests (it finishes the scan under way).
STOPPING = " (stopping)"


def _upsert(engine: Engine) -> Any:
    """The INSERT of the engine's own dialect (it has ON CONFLICT), imported for that dialect
    only: a terminal scan on SQLite does not load the PostgreSQL dialect."""
    return importlib.import_module(f"sqlalchemy.dialects.{engine.dialect.name}").insert


class Coordination:
    engine: Engine

    def claim_job(self, job: str, fire_time: datetime, claimed_by: str, at: datetime) -> bool:
        """Insert the claim for this fire time; True only for the one caller whose insert landed."""
        statement = (
            _upsert(self.engine)(tables.job_runs)
            .values(job=job, fire_time=fire_time, claimed_by=claimed_by, started_at=at)
            .on_conflict_do_nothing(index_elements=["job", "fire_time"])
            .returning(tables.job_runs.c.id)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def take_lease(
        self, name: str, holder: str, at: datetime, expires_at: datetime
    ) -> Holder | None:
        """Take the named lease when it is free or expired: None. Else who holds it."""
        while True:  # until taken or held: a release between our two statements frees it
            current = self._try_lease(name, holder, at, expires_at)
            if current is None or current.holder is not None:
                return current

    def _try_lease(
        self, name: str, holder: str, at: datetime, expires_at: datetime
    ) -> Holder | None:
        lease = tables.leases
        with self.engine.begin() as connection:
            connection.execute(
                _upsert(self.engine)(lease)
                .values(name=name, holder=None, started_at=at, expires_at=at)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            taken = connection.execute(
                update(lease)
                .where(
                    lease.c.name == name, (lease.c.holder.is_(None)) | (lease.c.expires_at <= at)
                )
                .values(holder=holder, started_at=at, renewed_at=at, expires_at=expires_at)
            )
            if taken.rowcount == 1:
                return None
            current = connection.execute(_holder_of(name)).one()
        return _holder(current)

    def drop_lease(self, name: str, holder: str) -> None:
        """Remove a lease no one will take again (a scanner's heartbeat, as it stops)."""
        lease = tables.leases
        with self.engine.begin() as connection:
            connection.execute(delete(lease).where(lease.c.name == name, lease.c.holder == holder))

    def lease_holder(self, name: str, at: datetime) -> Holder | None:
        """Who holds the named lease now (None: nobody, or it expired)."""
        lease = tables.leases
        with self.engine.connect() as connection:
            current = connection.execute(
                _holder_of(name).where(lease.c.holder.is_not(None), lease.c.expires_at > at)
            ).first()
        return None if current is None else _holder(current)

    def renew_lease(self, name: str, holder: str, at: datetime, expires_at: datetime) -> bool:
        """Extend a lease still held by `holder`; False when it is no longer theirs."""
        lease = tables.leases
        with self.engine.begin() as connection:
            renewed = connection.execute(
                update(lease)
                .where(lease.c.name == name, lease.c.holder == holder)
                .values(renewed_at=at, expires_at=expires_at)
            )
        return renewed.rowcount == 1

    def release_lease(self, name: str, holder: str) -> bool:
        """False when `holder` no longer held it."""
        lease = tables.leases
        with self.engine.begin() as connection:
            released = connection.execute(
                update(lease)
                .where(lease.c.name == name, lease.c.holder == holder)
                .values(holder=None)
            )
        return released.rowcount == 1

    def finish_job(self, job: str, fire_time: datetime, at: datetime, outcome: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(tables.job_runs)
                .where(tables.job_runs.c.job == job, tables.job_runs.c.fire_time == fire_time)
                .values(finished_at=at, outcome=outcome[:2000])
            )

    # --- scan requests --------------------------------------------------------------------------

    def request_scan(
        self,
        requested_by: str,
        surface: str,
        account_id: str | None,
        response_url: str | None,
        at: datetime,
    ) -> int:
        """Queue a scan for the scanner process; its id."""
        with self.engine.begin() as connection:
            return connection.execute(
                insert(tables.scan_requests)
                .values(
                    requested_by=requested_by,
                    surface=surface,
                    account_id=account_id,
                    response_url=response_url,
                    requested_at=at,
                )
                .returning(tables.scan_requests.c.id)
            ).scalar_one()

    def claim_scan_requests(self, scanner: str, at: datetime) -> list[QueuedScan]:
        """Claim for `scanner` the open requests one scan serves: every open request when one of
        them is for every account, else those for the account asked for first. A request claimed
        by a scanner whose heartbeat stopped is open again."""
        requests = tables.scan_requests
        claimable = and_(
            requests.c.finished_at.is_(None),
            or_(requests.c.claimed_by.is_(None), requests.c.claimed_by.not_in(self._live(at))),
        )
        with self.engine.begin() as connection:
            open_ = connection.execute(
                select(requests.c.id, requests.c.account_id)
                .where(claimable)
                .order_by(requests.c.id)
            ).all()
            if not open_:
                return []
            accounts = {row.account_id for row in open_}
            scope = None if None in accounts else open_[0].account_id
            wanted = [row.id for row in open_ if scope is None or row.account_id == scope]
            claimed = connection.execute(
                update(requests)
                .where(requests.c.id.in_(wanted), claimable)
                .values(claimed_by=scanner, claimed_at=at)
                .returning(
                    requests.c.id,
                    requests.c.requested_by,
                    requests.c.surface,
                    requests.c.account_id,
                    requests.c.response_url,
                    requests.c.requested_at,
                )
            ).all()
        return sorted(
            (
                QueuedScan(
                    row.id,
                    row.requested_by,
                    row.surface,
                    row.account_id,
                    row.response_url,
                    as_utc(row.requested_at),  # the column is NOT NULL
                )
                for row in claimed
            ),
            key=lambda request: request.id,
        )

    def unclaim_scan_requests(self, ids: Sequence[int], scanner: str) -> None:
        """Give requests back to the queue (the scan could not start yet)."""
        requests = tables.scan_requests
        with self.engine.begin() as connection:
            connection.execute(
                update(requests)
                .where(requests.c.id.in_(ids), requests.c.claimed_by == scanner)
                .values(claimed_by=None, claimed_at=None)
            )

    def unclaim_scan_requests_of(self, scanner: str) -> None:
        """Give back every unfinished request `scanner` holds (it has none under way)."""
        requests = tables.scan_requests
        with self.engine.begin() as connection:
            connection.execute(
                update(requests)
                .where(requests.c.claimed_by == scanner, requests.c.finished_at.is_(None))
                .values(claimed_by=None, claimed_at=None)
            )

    def finish_scan_requests(self, ids: Sequence[int], at: datetime, outcome: str) -> None:
        """What came of the requests; a response URL is kept no longer than it is needed."""
        requests = tables.scan_requests
        with self.engine.begin() as connection:
            connection.execute(
                update(requests)
                .where(requests.c.id.in_(ids))
                .values(finished_at=at, outcome=outcome[:2000], response_url=None)
            )

    def scanners_alive(self, at: datetime) -> int:
        """How many scanner processes have a heartbeat now."""
        with self.engine.connect() as connection:
            return len(connection.execute(self._live(at)).all())

    def scanners_accepting(self, at: datetime) -> int:
        """scanners_alive, less those stopping (they finish what they claimed, take nothing)."""
        lease = tables.leases
        accepting = self._live(at).where(lease.c.holder.not_like(f"%{STOPPING}"))
        with self.engine.connect() as connection:
            return len(connection.execute(accepting).all())

    def mark_stopping(self, name: str, holder: str) -> str:
        """Mark a scanner's heartbeat as stopping; the holder it now goes by."""
        stopping = holder if holder.endswith(STOPPING) else f"{holder}{STOPPING}"
        lease = tables.leases
        with self.engine.begin() as connection:
            connection.execute(
                update(lease)
                .where(lease.c.name == name, lease.c.holder == holder)
                .values(holder=stopping)
            )
        return stopping

    def scanners_alive_and_writable(self, at: datetime) -> int:
        """scanners_alive, asked in a transaction that first takes the write lock of a write
        matching no row: on SQLite, a write lock another process holds keeps every decision
        waiting though reads go on; on PostgreSQL, a read-only server (a failover under way)."""
        lease = tables.leases
        with self.engine.begin() as connection:
            connection.execute(update(lease).where(false()).values(holder=lease.c.holder))
            return len(connection.execute(self._live(at)).all())

    @staticmethod
    def _live(at: datetime) -> Select[tuple[str]]:
        lease = tables.leases
        return select(lease.c.name).where(
            lease.c.name.startswith(SCANNER_LEASE_PREFIX, autoescape=True),
            lease.c.holder.is_not(None),
            lease.c.expires_at > at,
        )


def _holder_of(name: str) -> Select[tuple[str | None, datetime, datetime | None, datetime]]:
    lease = tables.leases
    return select(lease.c.holder, lease.c.started_at, lease.c.renewed_at, lease.c.expires_at).where(
        lease.c.name == name
    )


def _holder(row: Row[tuple[str | None, datetime, datetime | None, datetime]]) -> Holder:
    """The lease's holder as read; a lease from before renewals were recorded counts as renewed
    when it was taken."""
    since = as_utc(row.started_at)  # the column is NOT NULL
    renewed = as_utc(row.renewed_at) if row.renewed_at else since
    return Holder(row.holder, since, renewed, as_utc(row.expires_at))
