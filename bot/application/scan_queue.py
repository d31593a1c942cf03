"""Scans run in the scanner process, never in the web workers that must answer Slack in 3 s.

Slack (`/iam-inactive scan`, the Home's Scan now) and the schedule only queue a scan request in
the database; a scanner process claims the requests (those one scan serves: every waiting
request when one is for every account), runs the scan under the scan lease, and tells each
person who asked what came of it. Each scanner keeps a heartbeat lease, so that a request is
told at once when no scanner runs, and a request claimed by a scanner that died is claimed again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from uuid import uuid4

from bot.application.home import publish_home
from bot.application.posting import Posting
from bot.application.scans import (
    SCAN_LEASE,
    SWEEP,
    ScanRunning,
    replica_name,
    scan_and_record,
    scan_lease,
    started_by,
)
from bot.application.security_hub import Publication
from bot.application.services import Services
from bot.domain.records import LeaseLost, QueuedScan, RecordsUnavailable, Surface
from bot.domain.scan import ScanResult
from bot.slack.messages.text import literal
from storage.coordination import SCANNER_LEASE_PREFIX
from storage.recording import ScanRecord

log = logging.getLogger(__name__)

SCHEDULE = "schedule"
DATABASE_DOWN = "the bot's database became unavailable; it runs again once the database is back."
HEARTBEAT_TTL = timedelta(seconds=30)  # a scanner not heard from this long is gone
HEARTBEAT_EVERY = 5.0  # seconds
POLL_SECONDS = 1.0  # how soon a request queued by another process starts
# Marking a scan's requests done after it ran: tries, and the pause between them.
FINISH_ATTEMPTS, FINISH_RETRY_SECONDS = 5, 2.0


def ask_for_scan(
    services: Services,
    requested_by: str,
    surface: Surface,
    account: str | None,
    *,
    response_url: str | None = None,
    tell: Callable[[str], None] = lambda _line: None,
) -> int:
    """Queue a scan; `tell` hears at once whether a scanner will start it, then the scanner
    (in this process or another) is woken. The request's id."""
    now = services.clock()
    repository = services.repository
    # Read before the request is in: a scanner could otherwise start it meanwhile, and its
    # asker be told that their own scan is someone else's.
    running = repository.lease_holder(SCAN_LEASE, now)
    scanners = repository.scanners_accepting(now)
    request_id = repository.request_scan(requested_by, surface.value, account, response_url, now)
    where = f"account {literal(account)}" if account else "all accounts"
    if not scanners:
        tell(
            f":warning: The scan of {where} is queued, but no scanner process is running, so it "
            "starts only when one does. Whoever runs the bot: start `python -m bot scanner`."
        )
    elif running is not None and running.silent(now):
        tell(
            f":hourglass_flowing_sand: The scan of {where} is queued. The scan started by "
            f"{started_by(running.holder)} at {running.since:%H:%M} UTC has not renewed its lease "
            f"since {running.renewed_at:%H:%M:%S} UTC, so its process has likely stopped; yours "
            f"starts once that lease lapses, by {running.expires_at:%H:%M:%S} UTC."
        )
    elif running is not None and not running.holder.startswith(f"{SWEEP} "):
        tell(f"{ScanRunning(running)} Yours starts when it ends.")
    else:
        tell(
            f":hourglass_flowing_sand: The scan of {where} is queued; the scanner starts it in "
            f"a moment. Results go to <#{services.settings.slack_channel}>."
        )
    services.scan_queued()
    return request_id


def scan_and_announce(
    services: Services,
    trigger: str,
    only_account: str | None = None,
    started: Callable[[], None] = lambda: None,
    stop: threading.Event | None = None,
) -> tuple[ScanResult, ScanRecord, Posting, Publication]:
    """Scan, record, publish to Security Hub, post what is new (and what earlier failed to
    post), and update the lines of findings that closed, all under the scan lease (so that the
    sweep does not post the same findings meanwhile). ScanRunning when another scan is under
    way; LeaseLost when this one lost the lease (it stopped, and another scan or the sweep posts
    what it left). `stop` ends a wait for the lease."""
    repository, lease_time = services.repository, services.settings.scan_lease_time
    with scan_lease(repository, services.clock, trigger, lease_time=lease_time, stop=stop) as lease:
        started()
        result, record, published = scan_and_record(
            services.settings,
            repository,
            services.security_hub,
            services.aws_session,
            clock=services.clock,
            trigger=trigger,
            lease=lease,
            only_account=only_account,
        )
        posting = services.announcer.post_scan(result, record, lease.check)
    # Their lines say why they closed: redrawn in the background, paced, each message once.
    services.announcer.refresh_later(record.resolved)
    return result, record, posting, published


def scan_summary_line(
    result: ScanResult,
    record: ScanRecord,
    posting: Posting,
    published: Publication,
    channel: str | None = None,
) -> str:
    """One line for the person who asked for the scan: what it found, what was posted, and
    what Security Hub did not take."""
    failed = len(result.failed_accounts)
    problem = published.problem()
    return (
        f"Scan done: {len(record.to_announce)} new findings, {len(record.resolved)} resolved"
        + (f", {failed} account(s) failed" if failed else "")
        + f"; {posting.posted} posted"
        + (f", {posting.found} found in Slack already" if posting.found else "")
        + (f", {posting.refused} refused by Slack (said in the channel)" if posting.refused else "")
        + (_waiting(posting, channel) if posting.retried else "")
        + (f"; {literal(problem)}" if problem else "")
        + "."
    )


def _waiting(posting: Posting, channel: str | None) -> str:
    if posting.paused:
        return f", {posting.retried} waiting: I am not in <#{channel}>; invite me to post them"
    return f", {posting.retried} to be posted again at the next sweep"


class Scanner:
    """The scanner process's loop: heartbeat, claim, scan, tell. `run_pending` runs what is
    waiting now (the loop calls it when woken or every POLL_SECONDS)."""

    def __init__(
        self,
        services: Services,
        *,
        poll: float = POLL_SECONDS,
        heartbeat_ttl: timedelta = HEARTBEAT_TTL,
    ) -> None:
        self.services = services
        self.name = f"{SCANNER_LEASE_PREFIX}{uuid4().hex[:12]}"
        self.holder = replica_name()
        self.poll, self.heartbeat_ttl = poll, heartbeat_ttl
        self.woken = threading.Event()
        self.stopping = threading.Event()
        # A daemon: a process whose start fails after it (the schedule) must not linger beating.
        self._heartbeat = threading.Thread(
            target=self._beat_until_stopped, name="heartbeat", daemon=True
        )

    def wake(self) -> None:
        self.woken.set()

    def beat(self) -> None:
        """Say this scanner is alive (take its heartbeat lease, or renew it)."""
        repository, now = self.services.repository, self.services.clock()
        expires = now + self.heartbeat_ttl
        if not repository.renew_lease(self.name, self.holder, now, expires):
            repository.take_lease(self.name, self.holder, now, expires)

    def start(self) -> None:
        """Start beating: from here on, people asking for a scan hear that a scanner runs (the
        process's start-up sweep, which can take a while, comes after)."""
        self.beat()  # before any claim: another scanner must not take this one's for orphans
        self._heartbeat.start()

    def serve(self) -> None:
        """Run scan requests until `stop` (`start` first); the heartbeat beats meanwhile."""
        repository = self.services.repository
        # Nothing of this scanner's is under way between two turns: after a turn that failed
        # (the database, most likely), a request it claimed and did not finish is given back.
        owes_claims = True
        database_down = False  # said once an outage, not at every poll
        try:
            while not self.stopping.is_set():
                try:
                    if owes_claims:
                        repository.unclaim_scan_requests_of(self.name)
                        owes_claims = False
                    self.run_pending()
                    if database_down:
                        log.info("scan requests readable again: the database is back")
                        database_down = False
                except RecordsUnavailable as error:
                    owes_claims = True
                    if not database_down:
                        log.warning("scan requests wait: the database is unavailable (%s)", error)
                        database_down = True
                except Exception:  # the loop must outlive any one request
                    owes_claims = True
                    log.exception("running scan requests failed")
                self.woken.wait(self.poll)
                self.woken.clear()
        finally:
            self.stopping.set()
            self._heartbeat.join()
            with suppress(RecordsUnavailable):  # else it expires by itself
                repository.drop_lease(self.name, self.holder)

    def stop(self) -> None:
        """Stop taking requests, and say so at once: the heartbeat lives on while the scan under
        way finishes (its claims stay this scanner's), but whoever asks for a scan now hears
        that no scanner will start it (`scanners_accepting`). Marked before `serve` is let go,
        which then drops the heartbeat by the holder it is marked with."""
        try:
            self.holder = self.services.repository.mark_stopping(self.name, self.holder)
        except RecordsUnavailable as error:  # its heartbeat lapses within HEARTBEAT_TTL
            log.warning("could not say this scanner is stopping: %s", error)
        self.stopping.set()
        self.woken.set()

    def run_pending(self) -> int:
        """Claim and run scans until none is waiting or the scan lease is held elsewhere; how
        many scans ran."""
        ran, repository = 0, self.services.repository
        while not self.stopping.is_set():
            asked = repository.claim_scan_requests(self.name, self.services.clock())
            if not asked or not self._run(asked):
                break
            ran += 1
        return ran

    def _beat_until_stopped(self) -> None:
        while True:
            try:
                self.beat()
            except Exception as error:  # the database is down: the next beat tries again
                log.warning("scanner heartbeat failed: %s", error)
            if self.stopping.wait(HEARTBEAT_EVERY):
                return

    def _run(self, asked: list[QueuedScan]) -> bool:
        """One scan for the claimed requests; False when another scan holds the lease (the
        requests wait for the next try)."""
        services, ids = self.services, [request.id for request in asked]
        accounts = {request.account_id for request in asked}
        account = accounts.pop() if len(accounts) == 1 else None
        where = f"account {literal(account)}" if account else "all accounts"
        started = f":mag: Scanning {where}; results go to <#{services.settings.slack_channel}>."
        try:
            outcome = scan_and_announce(
                services,
                asked[0].requested_by,
                account,
                lambda: self._tell(asked, started),
                self.stopping,
            )
        except ScanRunning:
            services.repository.unclaim_scan_requests(ids, self.name)
            return False
        except LeaseLost as error:  # given back: they run once the lease is free again
            log.warning("scan request(s) %s stopped: %s", ids, error)
            self._tell(asked, f"The scan of {where} stopped: {error}; it runs again.")
            services.repository.unclaim_scan_requests(ids, self.name)
            return False
        except RecordsUnavailable as error:  # an outage, not a bug: the request runs again
            log.warning("scan request(s) %s stopped: the database is unavailable (%s)", ids, error)
            self._tell(asked, f"The scan of {where} stopped: {DATABASE_DOWN}")
            raise
        except Exception as error:
            log.exception("scan request(s) %s failed", ids)
            line = f"The scan of {where} stopped: {literal(f'{type(error).__name__}: {error}')}"
        else:
            line = scan_summary_line(*outcome, services.settings.slack_channel)
        self._finish(ids, line)
        self._tell(asked, line)
        return True

    def _finish(self, ids: list[int], line: str) -> None:
        """Mark the requests done. A database blip is waited out: given back, a scan already
        recorded and posted would run again, and its asker hear "0 new findings" of it."""
        for attempt in range(1, FINISH_ATTEMPTS + 1):
            try:
                self.services.repository.finish_scan_requests(ids, self.services.clock(), line)
                return
            except RecordsUnavailable:
                if attempt == FINISH_ATTEMPTS or self.stopping.wait(FINISH_RETRY_SECONDS):
                    raise

    def _tell(self, asked: list[QueuedScan], line: str) -> None:
        """Each person who asked hears it where they asked (the schedule hears nothing)."""
        for request in asked:
            if not request.requested_by.startswith("slack:"):
                continue
            user = request.requested_by.removeprefix("slack:")
            if request.surface == Surface.HOME.value:
                publish_home(self.services, user, line)
            else:
                # The command's acknowledgement said it was queued: one answer through its URL.
                self.services.announcer.respond(
                    request.response_url, user, line, issued_at=request.requested_at, used_before=1
                )
