"""A scan as every entry point runs it: one at a time across processes and replicas (a lease in
the database), AWS scanned, then the result recorded in one transaction.

Kept free of Slack so the terminal scan loads nothing it does not use."""

from __future__ import annotations

import logging
import math
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
from bot.domain.records import RENEWALS_PER_LEASE, Holder, LeaseLost
from bot.domain.scan import ScanResult
from bot.domain.settings import Settings
from bot.slack.messages.text import literal, mention
from storage.recording import ScanRecord
from storage.scan_store import ScanStore

log = logging.getLogger(__name__)

SCAN_LEASE = "scan"
# The lease's time is a setting (SCAN_LEASE_SECONDS, 2 minutes): a scan whose process died
# (killed, its machine gone) blocks the next one that long at most. Its holder renews it
# RENEWALS_PER_LEASE times in that time, so a scan may take as long as it needs.
SCAN_LEASE_TIME = timedelta(seconds=Settings.scan_lease_seconds)
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


class HeldLease:
    """The scan lease as its holder sees it. Lost once a renewal finds another holder, or once
    none has landed for three renewal intervals: that is a renewal interval before anyone may
    take the lease over, time for a Slack post under way to end. Lost is for good."""

    def __init__(self, holder: str, lease_time: timedelta, lost: threading.Event) -> None:
        self.holder = holder
        self.lost = lost  # set once lost: the scan begins no more accounts
        self.renew_every = lease_time.total_seconds() / RENEWALS_PER_LEASE
        self._fence = lease_time.total_seconds() - self.renew_every
        self._renewed = time.monotonic()  # when the last renewal that landed was sent
        self._why = ""

    def renewed(self, sent: float) -> None:
        self._renewed = sent

    def seconds_left(self) -> float:
        return self._renewed + self._fence - time.monotonic()

    def lose(self, why: str) -> None:
        self._why = self._why or why
        self.lost.set()

    def held(self) -> bool:
        if not self.lost.is_set() and self.seconds_left() <= 0:
            self.lose(f"no renewal reached the database for {self._fence:.0f} s")
        return not self.lost.is_set()

    def check(self) -> None:
        """LeaseLost once the lease is lost: called before anything is recorded or posted."""
        if not self.held():
            raise LeaseLost(f"the scan lease was lost ({self._why})")


def scan_and_record(
    settings: Settings,
    store: ScanStore,
    hub: FindingsHub,
    base_session: boto3.Session | None,
    *,
    clock: Clock,
    trigger: str,
    lease: HeldLease,
    progress: Progress | None = None,
    only_account: str | None = None,
) -> tuple[ScanResult, ScanRecord, Publication]:
    """Scan AWS, record the result under `lease` and publish it; a lease lost stops the scan."""
    result = scan_accounts(
        settings,
        base_session,
        clock=clock,
        progress=progress,
        only_account=only_account,
        stop=lease.lost,
    )
    return result, *record_and_publish(settings, store, hub, lease, result, trigger)


def record_held(
    store: ScanStore, lease: HeldLease, result: ScanResult, trigger: str, *, dry_run: bool
) -> ScanRecord:
    """Record the scan if this process still holds the lease, else LeaseLost. Checked in the
    recording's transaction too: the lease may lapse after the check."""
    lease.check()
    return store.record_scan(result, trigger, dry_run=dry_run, lease=(SCAN_LEASE, lease.holder))


def record_and_publish(
    settings: Settings,
    store: ScanStore,
    hub: FindingsHub,
    lease: HeldLease,
    result: ScanResult,
    trigger: str,
) -> tuple[ScanRecord, Publication]:
    """Record a scan under `lease`, then publish every finding it touched (found, still found,
    kept, reopened, resolved) to Security Hub, and every finding a step moved since the scan
    before began: a decision's own publication that failed, or that an earlier scan's view
    overtook from another process, is set right. Whatever runs a scan records it here, so none
    is left out."""
    record = record_held(store, lease, result, trigger, dry_run=settings.dry_run)
    if not hub.publishes:  # SECURITY_HUB off: nothing to read for it
        return record, Publication()
    moved = store.changed_since_previous_scan(record.scan_id)
    touched = {finding.id: finding for finding in [*record.touched, *moved]}
    return record, hub.publish(list(touched.values()))


def replica_name() -> str:
    """This process, as leases and job claims name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def scan_lease(
    store: ScanStore,
    clock: Clock,
    trigger: str,
    *,
    lease_time: timedelta = SCAN_LEASE_TIME,
    patient: bool = False,
    lost: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> Iterator[HeldLease]:
    """Hold the scan lease (anything that posts findings, scans or the sweep, holds it), or
    ScanRunning with who does (see `_take` for what is waited for; `stop` ends the wait). It is
    renewed while held, and expires `lease_time` after its process dies; `lost` is set if it is
    lost meanwhile (HeldLease)."""
    # Each hold its own: a release the database failed leaves a lease that expires, and that
    # this process's next scan must not take for its own.
    holder = f"{trigger} ({replica_name()}:{uuid4().hex[:6]})"
    lease = HeldLease(holder, lease_time, lost or threading.Event())
    lease.renewed(_take(store, clock, trigger, holder, lease_time, patient, stop))
    done = threading.Event()
    renewer = threading.Thread(
        target=_keep_renewed,
        args=(lease, store, clock, lease_time, done),
        name="scan-lease",
        daemon=True,
    )
    renewer.start()
    try:
        yield lease
    finally:
        done.set()
        renewer.join()
        store.release_lease(SCAN_LEASE, holder)


def _take(
    store: ScanStore,
    clock: Clock,
    trigger: str,
    holder: str,
    lease_time: timedelta,
    patient: bool,
    stop: threading.Event | None,
) -> float:
    """Take the lease; when the taking request was sent (monotonic). Waited for: a lease whose
    holder stopped renewing it, until it lapses (unless it is renewed meanwhile); a sweep's,
    for moments (every scanner sweeps as it starts), rather than tell someone a scan is running
    that is none. `patient` (the sweep, the terminal) waits for any holder until it renews: one
    killed a moment ago looks alive until its next renewal is due."""
    waited_since = time.monotonic()
    waiting = stop or threading.Event()
    seen: Holder | None = None
    give_up, warned = math.inf, False
    while True:
        sent, now = time.monotonic(), clock()
        running = store.take_lease(SCAN_LEASE, holder, now, now + lease_time)
        if running is None:
            return sent
        if trigger != SWEEP and running.holder.startswith(f"{SWEEP} "):
            if sent - waited_since > SWEEP_WAIT.total_seconds():
                raise ScanRunning(running)
            pause = SWEEP_POLL
        else:
            silent = running.silent(now)
            renewed = seen is not None and seen != running  # or taken by another meanwhile
            if renewed or not (patient or silent) or sent > give_up:
                raise ScanRunning(running)
            until_lapse = max((running.expires_at - now).total_seconds(), 0.0)
            if seen is None:  # bounded by the lease as first seen, whatever the clocks say
                give_up = sent + until_lapse + running.renew_every.total_seconds()
            if silent and not warned:
                log.warning(
                    "%s has not renewed the scan lease since %s UTC, so its process has likely "
                    "stopped; the lease is taken when it lapses, at %s UTC",
                    running.holder,
                    f"{running.renewed_at:%H:%M:%S}",
                    f"{running.expires_at:%H:%M:%S}",
                )
                warned = True
            seen = running
            pause = max(SWEEP_POLL, min(until_lapse, running.renew_every.total_seconds()))
        if waiting.wait(pause):
            raise ScanRunning(running)


def _keep_renewed(
    lease: HeldLease,
    store: ScanStore,
    clock: Clock,
    lease_time: timedelta,
    done: threading.Event,
) -> None:
    """Renew the lease every interval until `done`, or until it is lost."""
    # Woken at the latest when the lease would be lost, so that the scan stops then.
    while not done.wait(max(0.0, min(lease.renew_every, lease.seconds_left()))):
        if not lease.held():
            break
        try:
            sent, now = time.monotonic(), clock()
            if not store.renew_lease(SCAN_LEASE, lease.holder, now, now + lease_time):
                lease.lose("another process took it over")
                break
            lease.renewed(sent)
        except Exception as error:  # the database is down: the next renewal tries again
            log.warning("could not renew the scan lease: %s", error)
    if lease.lost.is_set():
        log.warning("%s lost the scan lease; it stops", lease.holder)


def started_by(holder: str) -> str:
    """Who a lease holder is, for people: a Slack user, the schedule, the terminal."""
    trigger = holder.split(" ", 1)[0]
    if trigger.startswith("slack:"):
        return mention(trigger.removeprefix("slack:"))
    names = {
        "schedule": "the schedule",
        SWEEP: "the sweep",
        "cli": "the terminal",
        "demo": "the terminal",
    }
    return names.get(trigger) or literal(trigger)
