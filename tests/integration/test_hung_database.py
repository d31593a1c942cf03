"""A database that hangs rather than refuses. PostgreSQL hangs behind a TCP hop that stops
forwarding (connections stay open, new ones are taken); SQLite, behind the write lock another
process holds.

The storage waits a bounded time, whatever it waits for, and says the database is unavailable.
The bot under gunicorn (`python -m bot run`), with a load balancer's probes in flight and driven
with signed Slack requests: /healthz answers within a second, Slack's requests are acknowledged
within its 3 s (a form opens with its click's trigger), each person hears that the database is
unavailable, and nothing is changed."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, make_url, select, text

from bot.domain.records import Actor, RecordsUnavailable, Role, StepUnsettled, Surface
from bot.domain.workflow import Intent, State
from bot.slack.ids import ActionId
from bot.slack.messages.command import help_message
from handlers.answering import STEP_UNSETTLED, explain
from storage import models
from storage.db import (
    HEAD_REVISION,
    MIGRATION_LOCK_ID,
    Patience,
    make_engine,
    migrate,
    schema_revision,
)
from storage.repository import Repository
from tests.integration.conftest import session_of
from tests.integration.test_storage import ACCOUNT, T0, account_scan, facts, scan
from tests.support.bot_harness import (
    APPROVER,
    CHANNEL,
    SECRET,
    click_payload,
    command_body,
    idle_scan,
    interaction_body,
)
from tests.support.processes import (
    TcpForwarder,
    bot_env,
    free_port,
    healthy,
    signed_answer,
    slack_settings,
    start,
    stop,
    wait_for,
)
from tests.support.slack_standin import SlackStandIn

ACKED_WITHIN = 3.0  # Slack's limit for an acknowledgement
HEALTH_WITHIN = 1.0
PROBERS = 6  # a load balancer's probes at once: with the bot's own, more than gunicorn's 8 threads
DATABASE_DOWN = "database is unavailable"

Hang = Callable[[], AbstractContextManager[None]]


@contextmanager
def reached_by_the_bot(database_url: str) -> Iterator[tuple[str, Hang]]:
    """The URL the bot is given, and a way to make its database hang."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":

        @contextmanager
        def write_locked() -> Iterator[None]:
            holder = sqlite3.connect(url.database, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # as a backup tool, or a stuck process, would
            try:
                yield
            finally:
                holder.execute("ROLLBACK")
                holder.close()

        yield database_url, write_locked
        return
    hop = TcpForwarder(url.port or 5432)

    @contextmanager
    def paused() -> Iterator[None]:
        hop.pause()
        try:
            yield
        finally:
            hop.resume()

    try:
        yield url.set(port=hop.port).render_as_string(hide_password=False), paused
    finally:
        hop.cut()


def hop_url(database_url: str, hop: TcpForwarder) -> str:
    return make_url(database_url).set(port=hop.port).render_as_string(hide_password=False)


# Bounds short enough for a test to wait them out (production's: storage.db.SERVING, WORKING).
QUICK = Patience(checkout=1, connect=2, lock=0.2, statement=0.3, answer=0.5)


def outage_within(seconds: float, call: Callable[[], object]) -> None:
    """`call` stops on RecordsUnavailable within `seconds` (and a little): in a thread of its own,
    so that a wait without a bound fails the test rather than hangs it."""
    stopped: Future[BaseException | None] = Future()

    def run() -> None:
        try:
            call()
        except BaseException as error:
            stopped.set_result(error)
        else:
            stopped.set_result(None)

    threading.Thread(target=run, daemon=True).start()
    assert isinstance(stopped.result(timeout=seconds + 0.5), RecordsUnavailable)


@pytest.mark.postgres
def test_postgresql_that_hangs_is_an_outage_within_the_answer_bound(postgres_url):
    migrate(make_engine(postgres_url))
    with reached_by_the_bot(postgres_url) as (url, hang):
        engine = make_engine(url, patience=QUICK)
        first, second = engine.connect(), engine.connect()
        second.close()  # pooled, to be pinged when checked out next
        with hang():
            # The pool's ping of a pooled connection, then a new connection in its place.
            outage_within(QUICK.answer + QUICK.connect, engine.connect)
            outage_within(QUICK.answer, lambda: first.execute(select(models.Lease)))  # under way
            outage_within(QUICK.connect, engine.connect)  # a new connection, never signed in
        first.close()
        with engine.connect() as connection:  # back: the connections given up on were replaced
            assert connection.execute(select(models.Lease)).all() == []
        engine.dispose()


@pytest.mark.postgres
def test_a_step_whose_commit_hangs_is_unsettled_not_said_undone(postgres_url):
    """The person must not hear "nothing more was done" for a step the database may commit
    once it is back (it did, in the hostile review: the sweep then removed the password)."""
    migrate(make_engine(postgres_url))
    direct = Repository(make_engine(postgres_url))
    direct.record_scan(scan(account_scan(ACCOUNT, [facts("ann")], T0)), "cli", dry_run=False)
    (finding,) = direct.open_findings()
    hop = TcpForwarder(make_url(postgres_url).port or 5432)
    hung = Repository(make_engine(hop_url(postgres_url, hop), patience=QUICK))
    approver = Actor("U0APPROVER", Role.APPROVER, Surface.CHANNEL)
    hop.pause_at_commit()
    with pytest.raises(StepUnsettled):
        hung.transition(finding.id, Intent.REQUEST_DISABLE, approver, at=T0)
    hop.resume()
    # Whichever it was, it shows once the database is back; never half of it.
    state = direct.finding(finding.id).state
    assert state in (State.OPEN, State.DISABLE_REQUESTED)
    hop.cut()


@pytest.mark.postgres
def test_pooled_connections_a_restart_broke_are_replaced_not_an_outage(postgres_url):
    migrate(make_engine(postgres_url))
    hop = TcpForwarder(make_url(postgres_url).port or 5432)
    engine = make_engine(hop_url(postgres_url, hop), patience=QUICK)
    held = [engine.connect() for _ in range(3)]
    for connection in held:
        connection.close()  # three pooled connections
    hop.cut()  # the database restarts: every open connection drops
    hop.restore()
    for _ in held:  # each stale pooled connection is pinged, found dead and replaced
        with engine.connect() as connection:
            assert connection.execute(select(models.Lease)).all() == []
    engine.dispose()
    hop.cut()


@pytest.mark.postgres
def test_a_migration_waits_for_another_replicas_whatever_the_engines_bounds(postgres_url):
    engine = make_engine(postgres_url, patience=QUICK)
    with make_engine(postgres_url).connect() as replica:  # migrating meanwhile, for 2 s
        replica.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        threading.Timer(2, replica.execute, [text("SELECT pg_advisory_unlock_all()")]).start()
        began = time.monotonic()
        migrate(engine)
        assert time.monotonic() - began > 2 * QUICK.answer
        assert schema_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_sqlite_write_locked_by_another_process_fails_writes_within_the_bound(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(make_engine(database_url))
    repository = Repository(make_engine(database_url, patience=QUICK))
    with reached_by_the_bot(database_url) as (_url, hang), hang():
        now = datetime.now(UTC)
        assert repository.scanners_alive(now) == 0  # reads go on
        outage_within(QUICK.lock, lambda: repository.scanners_alive_and_writable(now))
        outage_within(
            QUICK.lock, lambda: repository.request_scan("slack:U0X", "command", None, None, now)
        )
    repository.engine.dispose()


@dataclass
class Probe:
    seconds: float
    status: int | None  # None: no answer
    database: str | None


class LoadBalancer:
    """Probes /healthz from `PROBERS` threads, each soon after its last was answered or it gave
    up on it (after 1 s, the answer's bound), as a load balancer retrying its checks does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe, daemon=True) for _ in range(PROBERS)]

    def __enter__(self) -> LoadBalancer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def _probe(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            status, database = None, None
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=HEALTH_WITHIN) as answer:
                    status, database = answer.status, json.loads(answer.read())["database"]
            except urllib.error.HTTPError as error:
                status, database = error.code, json.loads(error.read())["database"]
            except OSError:
                pass  # not answered in time
            self.probes.append(Probe(time.monotonic() - began, status, database))
            self._stop.wait(0.02)


def acknowledged(port: int, body: str) -> tuple[float, str]:
    """How long the bot took to acknowledge a signed request (it must: 200), and its answer."""
    began = time.monotonic()
    try:
        status, answer = signed_answer(port, body, SECRET, timeout=10)
    except OSError as error:
        raise AssertionError(f"not acknowledged within 10 s: {error}") from None
    assert status == 200
    return time.monotonic() - began, answer


def told(standin: SlackStandIn, method: str, text: str) -> bool:
    return any(text in json.dumps(call.params) for call in standin.named(method))


@pytest.mark.process
def test_a_hung_database_keeps_healthz_prompt_and_every_person_answered(
    database_url, standin, tmp_path
):
    engine = make_engine(database_url)
    migrate(engine)
    repository = Repository(engine)
    repository.record_scan(idle_scan({"111122223333": 1}, datetime.now(UTC)), "cli", dry_run=False)
    (finding,) = repository.open_findings()
    history = [event.id for event in repository.history(finding.id)]
    port, log = free_port(), tmp_path / "bot.log"
    with reached_by_the_bot(database_url) as (bot_url, hang):
        env = bot_env("http://127.0.0.1:9", **slack_settings(standin, bot_url), PORT=str(port))
        bot = start(["run"], env, log)
        try:
            wait_for(lambda: healthy(port), timeout=60, what="the bot to serve")
            with hang(), LoadBalancer(port) as balancer:
                time.sleep(2 * HEALTH_WITHIN)  # the probes in flight, on every worker
                help_took, help_answer = acknowledged(
                    port, command_body("help", APPROVER, standin.response_url())
                )
                scan_took, _ = acknowledged(
                    port, command_body("scan", APPROVER, standin.response_url())
                )
                click = click_payload(
                    ActionId.DISABLE, finding.id, APPROVER, CHANNEL, standin.response_url()
                )
                click_took, _ = acknowledged(port, interaction_body(click))
                wait_for(
                    lambda: (
                        told(standin, "response/respond", DATABASE_DOWN)
                        and told(standin, "views.update", DATABASE_DOWN)
                    ),
                    timeout=15,
                    what="both people told the database is unavailable",
                )
            wait_for(lambda: healthy(port), timeout=15, what="/healthz once the database is back")
        finally:
            stop(bot)

    assert max(help_took, scan_took, click_took) < ACKED_WITHIN, (help_took, scan_took, click_took)
    assert json.loads(help_answer)["text"] == help_message().text
    # Disable's form opened with its click's trigger (Slack's lasts 3 s): a placeholder, which
    # then said why nothing more happened.
    (opened,) = standin.named("views.open")
    assert opened.answer["ok"], opened.answer
    probes = balancer.probes
    assert max(p.seconds for p in probes) < HEALTH_WITHIN, max(p.seconds for p in probes)
    assert all(p.status == 503 for p in probes)
    assert {p.database for p in probes} <= {"not answering", "unreachable"}
    assert any(p.database == "not answering" for p in probes)
    # Nothing changed: no scan asked for, the finding as it was.
    with session_of(repository) as session:
        assert session.scalar(select(func.count()).select_from(models.ScanRequest)) == 0
    assert repository.finding(finding.id).state == State.OPEN
    assert [event.id for event in repository.history(finding.id)] == history
    assert "Traceback" not in log.read_text()


def test_a_person_hears_an_unsettled_step_as_not_known_yet_not_as_undone():
    assert explain(StepUnsettled("the answer bound ran out")) == STEP_UNSETTLED
    assert "nothing more was done" in explain(RecordsUnavailable("connection refused"))
    assert "cannot tell yet whether it was recorded" in STEP_UNSETTLED
