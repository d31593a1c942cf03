"""The scan lease as a heartbeat (SQLite and PostgreSQL): a holder that stopped renewing is
waited for until its lease lapses, never for longer; a holder that lost its lease (taken over,
or its renewals not reaching the database) records and posts nothing more. And on PostgreSQL,
where two processes take it at once, a lease released while being taken is taken."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, make_url

from bot.application.scans import ScanRunning, record_held, scan_lease
from bot.domain.clock import utc_now
from bot.domain.records import LeaseLost
from storage import models
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.integration.conftest import scans, session_of
from tests.integration.test_storage import ACCOUNT, T0, account_scan, facts, scan
from tests.support.processes import TcpForwarder, wait_for

SHORT = timedelta(seconds=4)  # renewed every second
FOUND = scan(account_scan(ACCOUNT, [facts("ann")], T0))


def killed_holder(repository: Repository, renewed_ago: float, lapses_in: float) -> str:
    """A lease as a process killed after its last renewal leaves it."""
    now = utc_now()
    renewed = now - timedelta(seconds=renewed_ago)
    holder = "slack:U0DEAD (gone:1:dead01)"
    assert (
        repository.take_lease("scan", holder, renewed, now + timedelta(seconds=lapses_in)) is None
    )
    return holder


def held_by(repository: Repository) -> str | None:
    with session_of(repository) as session:
        return session.get(models.Lease, "scan").holder


def test_a_holder_that_stopped_renewing_is_waited_for_until_its_lease_lapses(repository):
    """Half an interval late with its renewal, it is taken for gone: a scan waits the two seconds
    left of its lease rather than be told that a scan runs."""
    killed_holder(repository, renewed_ago=60, lapses_in=2)
    with scan_lease(repository, utc_now, "cli", lease_time=SHORT):
        assert held_by(repository).startswith("cli (")
    assert held_by(repository) is None  # released


def test_a_holder_killed_a_moment_ago_is_told_running_but_waited_for_by_the_sweep(repository):
    """Until its next renewal is due, a holder killed a moment ago looks alive: a scan hears
    that a scan runs (its lease is as fresh as a live one's), the sweep waits and sees it lapse."""
    killed_holder(repository, renewed_ago=0, lapses_in=60)
    with pytest.raises(ScanRunning), scan_lease(repository, utc_now, "cli", lease_time=SHORT):
        pass
    with session_of(repository) as session, session.begin():  # a short lease, just renewed
        lease, now = session.get(models.Lease, "scan"), utc_now()
        lease.renewed_at, lease.expires_at = now, now + timedelta(seconds=3)
    with scan_lease(repository, utc_now, "sweep", lease_time=SHORT, patient=True):
        assert held_by(repository).startswith("sweep (")


def test_the_sweep_leaves_a_holder_that_renews_to_post_what_it_finds(repository):
    taken, release = threading.Event(), threading.Event()

    def live_scan() -> None:
        with scan_lease(repository, utc_now, "schedule", lease_time=SHORT):
            taken.set()
            release.wait(60)

    scanning = threading.Thread(target=live_scan)
    scanning.start()
    try:
        assert taken.wait(30)
        sweep = scan_lease(repository, utc_now, "sweep", lease_time=SHORT, patient=True)
        with pytest.raises(ScanRunning) as running, sweep:
            pass
        assert running.value.holder.holder.startswith("schedule (")
    finally:
        release.set()
        scanning.join(30)


def test_a_holder_whose_renewal_finds_another_holder_stops_and_records_nothing(repository):
    with scan_lease(repository, utc_now, "cli", lease_time=SHORT) as lease:
        # Another process takes it over, as it may once the lease lapsed (here: forced).
        with session_of(repository) as session, session.begin():
            session.get(models.Lease, "scan").holder = "schedule (other:2:abc)"
        assert lease.lost.wait(30), "the next renewal did not notice"
        with pytest.raises(LeaseLost, match="another process took it over"):
            record_held(repository, lease, FOUND, "cli", dry_run=False)
    assert scans(repository) == []
    assert held_by(repository) == "schedule (other:2:abc)"  # its release left the taker's lease


def test_a_recording_whose_lease_was_taken_meanwhile_lands_nothing(repository):
    """The lease can lapse between the holder's last check and its recording: the recording's
    transaction checks the holder again, first."""
    killed_holder(repository, renewed_ago=0, lapses_in=60)
    with pytest.raises(LeaseLost):
        repository.record_scan(FOUND, "cli", dry_run=False, lease=("scan", "cli (a:1:abc)"))
    assert scans(repository) == []
    record = repository.record_scan(
        FOUND, "slack:U0DEAD", dry_run=False, lease=("scan", "slack:U0DEAD (gone:1:dead01)")
    )
    assert [row.user_name for row in record.new] == ["ann"]


@pytest.mark.postgres
def test_a_holder_cut_off_from_the_database_stops_before_its_lease_can_be_taken(postgres_url):
    """Renewals that cannot land: the holder counts its lease lost a renewal interval before it
    lapses, and records nothing once the database is back (whoever holds the lease then)."""
    migrate(make_engine(postgres_url))
    direct = make_url(postgres_url)
    hop = TcpForwarder(direct.port or 5432)
    through_hop = direct.set(port=hop.port).render_as_string(hide_password=False)
    cut_off, repository = (
        Repository(make_engine(through_hop)),
        Repository(make_engine(postgres_url)),
    )
    lease_time = timedelta(seconds=8)  # renewed every 2 s: lost 6 s after the last renewal
    with scan_lease(cut_off, utc_now, "cli", lease_time=lease_time) as lease:
        hop.cut()
        try:
            wait_for(lambda: not lease.held(), timeout=60, what="the lease to count as lost")
            lost_at = utc_now()
            expires = repository.lease_holder("scan", lost_at)
            assert expires is not None and lost_at < expires.expires_at  # nobody could take it
            assert lease.lost.wait(30)  # the scan is told to stop
        finally:
            hop.restore()
        with pytest.raises(LeaseLost, match="no renewal reached the database"):
            record_held(cut_off, lease, FOUND, "cli", dry_run=False)
    assert scans(repository) == []
    assert repository.lease_holder("scan", utc_now()) is None


@pytest.mark.postgres
def test_a_lease_released_while_it_is_being_taken_is_taken_not_reported_held(postgres_url):
    """Between the statement that finds the lease held and the one that reads its holder,
    the holder releases it (READ COMMITTED sees that): the lease is then free to take."""
    engine = make_engine(postgres_url)
    migrate(engine)
    repository = Repository(engine)
    assert repository.take_lease("scan", "sweep (a:1)", T0, T0 + timedelta(hours=1)) is None
    released = []

    @event.listens_for(engine, "before_cursor_execute")
    def release_first(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT LEASES.HOLDER") and not released:
            released.append(True)
            Repository(make_engine(postgres_url)).release_lease("scan", "sweep (a:1)")

    assert repository.take_lease("scan", "cli (b:2)", T0, T0 + timedelta(hours=1)) is None
    assert released == [True]
    with session_of(repository) as session:
        assert session.get(models.Lease, "scan").holder == "cli (b:2)"
    engine.dispose()
