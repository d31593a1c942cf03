"""Scans asked for from Slack and the scanner that runs them: a scan that ran is neither run nor
told twice when the database blips as it is marked done, and a scanner that is stopping takes no
more requests and says so to whoever asks (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from bot.application.scan_queue import Scanner
from bot.application.services import nobody_to_wake
from bot.aws.demo import seed_users
from bot.domain.records import RecordsUnavailable
from storage import models
from tests.integration.conftest import IDLE_DORMANT, OWNED, scans, session_of, start_bot
from tests.support.processes import wait_for


@pytest.fixture
def web(standin, database_file, aws_session, now):
    """The bot as a web worker: it queues scans and never runs one (no scanner of its own)."""
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    harness.repository.release_lease(harness.scanner.name, harness.scanner.holder)
    harness.services.scan_queued = nobody_to_wake
    return harness


def requests_of(repository) -> list[models.ScanRequest]:
    with session_of(repository) as session:
        return list(session.scalars(select(models.ScanRequest).order_by(models.ScanRequest.id)))


def answers(standin) -> list[str]:
    return [call.params["text"] for call in standin.named("response/respond")]


def serving(scanner: Scanner) -> threading.Thread:
    scanner.start()
    thread = threading.Thread(target=scanner.serve, daemon=True)
    thread.start()
    wait_for(lambda: scanner.services.repository.scanners_alive(scanner.services.clock()))
    return thread


def test_a_database_blip_as_the_request_is_marked_done_neither_reruns_nor_misreports_it(
    web, standin, monkeypatch
):
    """The scan ran, was recorded and its 2 findings posted; then the database failed once as
    the request was marked finished: the mark is tried again, the scan runs once, and the
    person hears what it found."""
    repository = web.repository
    real_finish, failures = repository.finish_scan_requests, []

    def fails_once(*args):
        if not failures:
            failures.append(1)
            raise RecordsUnavailable("connection refused (injected)")
        return real_finish(*args)

    monkeypatch.setattr(repository, "finish_scan_requests", fails_once)
    scanner = Scanner(web.services, poll=0.05)
    thread = serving(scanner)
    try:
        web.command("scan")
        wait_for(lambda: all(r.finished_at for r in requests_of(repository)) and failures)
        wait_for(lambda: any(a.startswith("Scan done") for a in answers(standin)))
    finally:
        scanner.stop()
        thread.join(30)
    done = [a for a in answers(standin) if a.startswith("Scan done")]
    # Expected: one scan, and the person told what it found (2 new findings, posted).
    assert (len(scans(repository)), done) == (1, [done[0]]) and "2 new findings" in done[0], (
        f"scanned {len(scans(repository))}x; told {answers(standin)}"
    )


def test_a_scan_asked_for_while_the_only_scanner_is_stopping_is_told_none_will_start_it(
    web, standin
):
    """SIGTERM reaches the only scanner mid-scan: it finishes that scan and exits, claiming
    nothing more. A scan asked for meanwhile is told that no scanner will start it, as when none
    runs, not "yours starts when it ends"."""
    scanner = Scanner(web.services, poll=0.05)
    aws_held = threading.Event()
    web.services.aws_session.events.register_first(
        "before-send.iam.GenerateCredentialReport", lambda **_: aws_held.wait(30) and None
    )
    thread = serving(scanner)
    try:
        web.command("scan")
        wait_for(lambda: any("Scanning all accounts" in a for a in answers(standin)))
        scanner.stop()  # what SIGTERM does (bot.entry.cli._serve_scans)
        answer = web.reply("scan")["text"]
    finally:
        aws_held.set()
        thread.join(30)
    assert not thread.is_alive()
    first, second = requests_of(web.repository)
    assert first.finished_at is not None
    assert second.claimed_by is None and second.finished_at is None  # nobody will run it
    # Expected: told that no scanner will start it (as when none runs at all).
    assert "no scanner process is running" in answer, answer
