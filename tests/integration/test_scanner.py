"""Scans run in the scanner, not where Slack is answered: a scan asked for is queued, the asker
hears at once whether a scanner will run it, and the scanner's loop (its own thread here, as in
`python -m bot scanner`) claims, scans and tells them. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.application.scan_queue import Scanner
from bot.aws.demo import DEMO_ACCOUNT_ID
from bot.domain.clock import utc_now
from bot.domain.records import RecordsUnavailable
from storage import models
from tests.integration.conftest import scans, session_of
from tests.support.bot_harness import APPROVER, STRANGER, idle_scan
from tests.support.processes import wait_for


def requests_of(repository) -> list[models.ScanRequest]:
    with session_of(repository) as session:
        return list(session.scalars(select(models.ScanRequest).order_by(models.ScanRequest.id)))


def answers(standin) -> list[str]:
    return [call.params["text"] for call in standin.named("response/respond")]


@contextmanager
def serving(scanner: Scanner) -> Iterator[Scanner]:
    """The scanner serving in a thread of its own, seen alive; stopped and joined after."""
    scanner.start()
    thread = threading.Thread(target=scanner.serve, daemon=True)
    thread.start()
    try:
        wait_for(lambda: scanner.services.repository.scanners_alive(scanner.services.clock()))
        yield scanner
    finally:
        scanner.stop()
        thread.join(30)
    assert not thread.is_alive()


def test_a_scan_asked_for_with_no_scanner_running_is_told_so_and_runs_when_one_starts(web, standin):
    started = time.monotonic()
    answer = web.reply("scan")["text"]
    assert time.monotonic() - started < 3
    assert "no scanner process is running" in answer and "python -m bot scanner" in answer
    assert scans(web.repository) == [] and len(requests_of(web.repository)) == 1

    scanner = Scanner(web.services, poll=0.05)
    with serving(scanner):
        wait_for(lambda: any("Scan done: 2 new findings" in a for a in answers(standin)))
    (request,) = requests_of(web.repository)
    assert request.outcome.startswith("Scan done") and request.response_url is None
    assert [scan.trigger for scan in scans(web.repository)] == [f"slack:{APPROVER}"]
    assert not web.repository.scanners_alive(web.services.clock())  # it said goodbye
    with session_of(web.repository) as session:  # and left no row behind
        assert session.get(models.Lease, scanner.name) is None


def test_a_scan_of_an_account_the_bot_does_not_scan_is_refused_before_anything_is_queued(web):
    """`scan 999999999999` (a typo) changes nothing: no request is queued, so no scan fails in
    public and the approvers' Home lists no such account. Without AWS_ROLE_ARNS the accounts
    scanned are known from scans (an Organization's members, or the bot's own, as here)."""
    assert "No scan is recorded yet" in web.reply(f"scan {DEMO_ACCOUNT_ID}")["text"]
    web.repository.record_scan(idle_scan({DEMO_ACCOUNT_ID: 1}, utc_now()), "test", dry_run=False)
    assert "I have not scanned account `999999999999`" in web.reply("scan 999999999999")["text"]
    assert requests_of(web.repository) == []
    web.open_home(APPROVER)
    assert "999999999999" not in json.dumps(web.home_of(APPROVER))
    assert "is queued" in web.reply(f"scan {DEMO_ACCOUNT_ID}")["text"]
    assert [request.account_id for request in requests_of(web.repository)] == [DEMO_ACCOUNT_ID]


def database_down_for(real: Callable[..., Any], calls: int, made: list[int]) -> Callable[..., Any]:
    """`real`, failing as in a database outage for its first `calls` calls (each noted in
    `made`)."""

    def down_then_up(*args: Any) -> Any:
        made.append(1)
        if len(made) <= calls:
            raise RecordsUnavailable("connection refused (injected)")
        return real(*args)

    return down_then_up


@contextmanager
def scanning_held(web, standin) -> Iterator[tuple[Scanner, threading.Event]]:
    """A scanner serving a scan asked for from Slack, held at its credential report until the
    event is set (it is on the way out); the scanner is stopped and joined after."""
    scanner = Scanner(web.services, poll=0.05)
    release = threading.Event()
    web.services.aws_session.events.register_first(
        "before-send.iam.GenerateCredentialReport", lambda **_: release.wait(30) and None
    )
    with serving(scanner):
        try:
            web.command("scan")
            wait_for(lambda: any("Scanning all accounts" in a for a in answers(standin)))
            yield scanner, release
        finally:
            release.set()


def test_the_web_answers_at_once_while_the_scanner_scans(web, standin):
    with scanning_held(web, standin) as (_scanner, release):
        started = time.monotonic()
        assert "Yours starts when it ends" in web.reply("scan")["text"]  # queued behind it
        assert "Only approvers" in web.reply("scan", user=STRANGER)["text"]
        assert time.monotonic() - started < 3
        release.set()
        wait_for(lambda: all(r.finished_at for r in requests_of(web.repository)))
    assert len(requests_of(web.repository)) == 2
    assert len([a for a in answers(standin) if a.startswith("Scan done")]) == 2


def test_a_request_claimed_by_a_scanner_that_died_is_claimed_again(web):
    repository, clock = web.repository, web.services.clock
    dead = Scanner(web.services, heartbeat_ttl=timedelta(seconds=30))
    dead.beat()
    beaten = clock()
    repository.request_scan(f"slack:{APPROVER}", "slack-command", None, None, beaten)
    (claimed,) = repository.claim_scan_requests(dead.name, beaten)
    alive = Scanner(web.services)
    alive.beat()
    assert repository.claim_scan_requests(alive.name, beaten) == []  # its scanner lives
    later = beaten + timedelta(seconds=31)  # the dead one's heartbeat has lapsed
    alive.services.clock = lambda: later
    alive.beat()
    assert [r.id for r in repository.claim_scan_requests(alive.name, later)] == [claimed.id]


def test_two_scanners_never_claim_the_same_request(web, now):
    repository = web.repository
    for _ in range(20):
        repository.request_scan("schedule", "schedule", "123456789012", None, now)
    first, second = Scanner(web.services), Scanner(web.services)
    first.beat()
    second.beat()
    claims: list[list[int]] = []
    barrier = threading.Barrier(2)

    def claim(scanner: Scanner) -> None:
        barrier.wait()
        claims.append([r.id for r in repository.claim_scan_requests(scanner.name, now)])

    threads = [threading.Thread(target=claim, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(c) for c in claims) == [0, 20]  # one scan serves them all, once


def test_a_request_for_every_account_serves_those_for_one(web, now):
    repository = web.repository
    one = repository.request_scan(f"slack:{APPROVER}", "slack-command", "123456789012", None, now)
    every = repository.request_scan("schedule", "schedule", None, None, now)
    other = repository.request_scan(f"slack:{APPROVER}", "slack-command", "210987654321", None, now)
    scanner = Scanner(web.services)
    scanner.beat()
    assert [r.id for r in repository.claim_scan_requests(scanner.name, now)] == [one, every, other]


def test_an_expired_response_url_is_answered_by_dm(web, standin):
    standin.fail["response/respond"] = "expired_url"
    web.command("scan")
    scanner = Scanner(web.services)
    scanner.beat()
    assert scanner.run_pending() == 1
    assert "Scan done: 2 new findings" in standin.said_to(APPROVER)


def test_a_request_the_database_failed_is_given_back_at_the_loops_next_turn(web, now, monkeypatch):
    """A scan held back by another's lease gives its requests back; when the database fails
    that too, the request stays claimed by a live scanner, until the loop's next turn."""
    repository = web.repository
    assert repository.take_lease("scan", "cli (other:1:abc)", now, now + timedelta(hours=1)) is None
    scanner = Scanner(web.services, poll=0.05)
    real_unclaim = repository.unclaim_scan_requests

    def database_gone(*_args):
        raise RecordsUnavailable("connection refused (injected)")

    monkeypatch.setattr(repository, "unclaim_scan_requests", database_gone)
    repository.request_scan(f"slack:{APPROVER}", "slack-command", None, None, now)
    scanner.beat()
    with pytest.raises(RecordsUnavailable):
        scanner.run_pending()
    (held,) = requests_of(repository)
    assert held.claimed_by == scanner.name  # held by a live scanner: nobody else may take it
    monkeypatch.setattr(repository, "unclaim_scan_requests", real_unclaim)
    repository.release_lease("scan", "cli (other:1:abc)")
    with serving(scanner):
        wait_for(lambda: requests_of(repository)[0].finished_at, what="the request to run")


def test_a_scanner_is_seen_from_its_start_before_its_loop_runs(web, standin, now):
    """The entry points start the heartbeat before the start-up sweep, which posts what was left
    unposted and takes as long as Slack does: a scan asked for meanwhile hears that a scanner
    runs."""
    scanner = Scanner(web.services)
    held = standin.hold("chat.postMessage")
    web.services.repository.request_scan("schedule", "schedule", None, None, now)
    scanner.start()
    try:
        wait_for(lambda: web.repository.scanners_alive(web.services.clock()))
        assert "no scanner process is running" not in web.reply("scan")["text"]
    finally:
        held.set()
        scanner.stop()
        scanner._heartbeat.join(30)


def test_a_database_outage_is_logged_once_not_at_every_poll(web, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="bot.application.scan_queue")
    repository = web.repository
    polls: list[int] = []
    down = database_down_for(repository.claim_scan_requests, 5, polls)
    monkeypatch.setattr(repository, "claim_scan_requests", down)
    scanner = Scanner(web.services, poll=0.02)
    with serving(scanner):
        wait_for(lambda: len(polls) > 7, what="the database to come back")
    said = [r.getMessage() for r in caplog.records if r.name == "bot.application.scan_queue"]
    assert [line for line in said if "database is unavailable" in line] == [
        "scan requests wait: the database is unavailable (connection refused (injected))"
    ]
    assert "scan requests readable again: the database is back" in said
