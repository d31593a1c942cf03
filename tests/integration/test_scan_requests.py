"""Scans asked for from Slack and the scanner that runs them: a scan that ran is neither run nor
told twice when the database blips as it is marked done, and a scanner that is stopping takes no
more requests and says so to whoever asks (SQLite and PostgreSQL)."""

from __future__ import annotations

from bot.application.scan_queue import Scanner
from tests.integration.conftest import scans
from tests.integration.test_scanner import (
    answers,
    database_down_for,
    requests_of,
    scanning_held,
    serving,
)
from tests.support.processes import wait_for


def test_a_database_blip_as_the_request_is_marked_done_neither_reruns_nor_misreports_it(
    web, standin, monkeypatch
):
    """The scan ran, was recorded and its 2 findings posted; then the database failed once as
    the request was marked finished: the mark is tried again, the scan runs once, and the
    person hears what it found."""
    repository = web.repository
    failures: list[int] = []
    down_once = database_down_for(repository.finish_scan_requests, 1, failures)
    monkeypatch.setattr(repository, "finish_scan_requests", down_once)
    scanner = Scanner(web.services, poll=0.05)
    with serving(scanner):
        web.command("scan")
        wait_for(lambda: all(r.finished_at for r in requests_of(repository)) and failures)
        wait_for(lambda: any(a.startswith("Scan done") for a in answers(standin)))
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
    with scanning_held(web, standin) as (scanner, _release):
        scanner.stop()  # what SIGTERM does (bot.entry.cli._serve_scans)
        answer = web.reply("scan")["text"]
    first, second = requests_of(web.repository)
    assert first.finished_at is not None
    assert second.claimed_by is None and second.finished_at is None  # nobody will run it
    # Expected: told that no scanner will start it (as when none runs at all).
    assert "no scanner process is running" in answer, answer
