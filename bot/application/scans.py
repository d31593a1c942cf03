"""A scan as every entry point runs it: one at a time across processes and replicas (a lease in
the database), AWS scanned, then the result recorded in one transaction.

Kept free of Slack so the terminal scan loads nothing it does not use."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from uuid import uuid4

import boto3

from bot.application.security_hub import FindingsHub, Publication
from bot.aws.scanner import Progress, scan_accounts
from bot.domain.clock import Clock
from bot.domain.records import Holder
from bot.domain.scan import ScanResult
from bot.domain.settings import Settings
from storage.repository import Repository, ScanRecord

log = logging.getLogger(__name__)

SCAN_LEASE = "scan"
# A scan whose process died (killed, its machine gone) holds the lease this long at most, and
# the scans asked for meanwhile wait that long; a live one renews it every quarter of that, so a
# scan may take as long as it needs.
SCAN_LEASE_TIME = timedelta(minutes=2)
SWEEP = "sweep"  # the lease holder's trigger when the sweep posts what was left unposted
SWEEP_WAIT = timedelta(seconds=30)
SWEEP_POLL = 0.2  # seconds


class ScanRunning(RuntimeError):
    """Another scan holds the lease; the message says whose and since when."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(
            f"A scan started by {started_by(holder.holder)} at {holder.since:%Y-%m-%d %H:%M} UTC "
            "is still running; its results will be posted when it ends."
        )
        self.holder = holder


def scan_and_record(
    settings: Settings,
    repository: Repository,
    hub: FindingsHub,
    base_session: boto3.Session | None,
    *,
    clock: Clock,
    trigger: str,
    progress: Progress | None = None,
    only_account: str | None = None,
) -> tuple[ScanResult, ScanRecord, Publication]:
    """Scan AWS, record the result and publish it; the caller holds the scan lease."""
    result = scan_accounts(
        settings, base_session, clock=clock, progress=progress, only_account=only_account
    )
    return result, *record_scan(settings, repository, hub, result, trigger)


def record_scan(
    settings: Settings,
    repository: Repository,
    hub: FindingsHub,
    result: ScanResult,
    trigger: str,
) -> tuple[ScanRecord, Publication]:
    """Record a scan, then publish every finding it touched (found, still found, kept, reopened,
    resolved) to Security Hub: whatever runs a scan records it here, so none is left out."""
    record = repository.record_scan(result, trigger, dry_run=settings.dry_run)
    return record, hub.publish(record.touched)


def replica_name() -> str:
    """This process, as leases and job claims name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def scan_lease(
    repository: Repository,
    clock: Clock,
    trigger: str,
    *,
    lease_time: timedelta = SCAN_LEASE_TIME,
) -> Iterator[None]:
    """Hold the scan lease (anything that posts findings, scans or the sweep, holds it), or
    ScanRunning with who does. It is renewed while held, and expires `lease_time` after its
    process dies."""
    # Each hold its own: a release the database failed leaves a lease that expires, and that
    # this process's next scan must not take for its own.
    holder = f"{trigger} ({replica_name()}:{uuid4().hex[:6]})"
    waited_since = time.monotonic()
    while True:
        now = clock()
        running = repository.take_lease(SCAN_LEASE, holder, now, now + lease_time)
        if running is None:
            break
        # A sweep holds the lease for moments (every scanner sweeps as it starts): a scan waits
        # for it rather than tell someone a scan is running that is none.
        brief = trigger != SWEEP and running.holder.startswith(f"{SWEEP} ")
        if not brief or time.monotonic() - waited_since > SWEEP_WAIT.total_seconds():
            raise ScanRunning(running)
        time.sleep(SWEEP_POLL)
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease_time.total_seconds() / 4):
            try:
                if not repository.renew_lease(SCAN_LEASE, holder, clock() + lease_time):
                    log.warning("the scan lease of %s was taken over; it renews no more", holder)
                    return
            except Exception as error:  # the database is down: the next renewal tries again
                log.warning("could not renew the scan lease: %s", error)

    renewer = threading.Thread(target=renew, name="scan-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        repository.release_lease(SCAN_LEASE, holder)


def started_by(holder: str) -> str:
    """Who a lease holder is, for people: a Slack user, the schedule, the terminal."""
    trigger = holder.split(" ", 1)[0]
    if trigger.startswith("slack:"):
        return f"<@{trigger.removeprefix('slack:')}>"
    names = {"schedule": "the schedule", SWEEP: "the sweep", "cli": "the terminal"}
    return names.get(trigger, "the terminal" if trigger == "demo" else trigger)
