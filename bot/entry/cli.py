"""The terminal commands behind `python -m bot` (argument parsing lives in bot/__main__.py)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.domain.clock import utc_now
from bot.domain.records import LeaseLost, RecordsUnavailable
from bot.domain.risk import by_risk
from bot.entry.bootstrap import (
    SetupError,
    bootstrap,
    configure,
    open_database,
    open_scan_store,
    prepare,
)
from bot.entry.terminal import render_table, write_csv, write_json
from bot.entry.tuning import loading, tune_for_scanning

if TYPE_CHECKING:
    import boto3

    from bot.application.services import Services
    from bot.domain.scan import ScanResult
    from bot.domain.settings import Settings
    from storage.scan_store import ScanStore

DEMO_DATABASE_URL = "sqlite:///iam-inactive-demo.db"
# Seconds a stopping scanner gives the messages still to be redrawn (a container's stop grace
# is often 10 s); those left keep their old lines.
EDITS_GRACE = 5.0
EXIT_OK, EXIT_SCAN_FAILED, EXIT_BAD_SETUP, EXIT_SCAN_RUNNING = 0, 1, 2, 3


@contextmanager
def _demo_aws(fast: bool) -> Iterator[boto3.Session | None]:
    from bot.aws.demo import demo_aws  # moto is imported only for --demo

    with demo_aws(fast=fast) as session:
        yield session


def scan(
    env: Mapping[str, str],
    *,
    demo: bool,
    output: str,
    source: str | None,
    verbose: bool = False,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """Scan, record and print. The interpreter is tuned for scanning (recording and printing
    20,000 findings, with the scan's objects alive, cost 1.4 s of garbage collections) once
    the command has loaded what it needs, not before: while the database code loads, the
    scan's threads must take their turns within the default 5 ms. Made to wait 50 ms a turn,
    they kept a 300-user scan 9% longer."""
    overrides: dict[str, object] = {"scan_source": source} if source else {}
    if demo:
        overrides.update(role_arns=(), organization=False)
        if not env.get("DATABASE_URL"):
            overrides["database_url"] = DEMO_DATABASE_URL
    trigger = "demo" if demo else "cli"

    progress, stop = _HeldLines(stderr), threading.Event()
    try:
        settings = configure(env, verbose=verbose, **overrides)
        with (
            loading() as loaded,
            _demo_aws(settings.aws_fast_parsing) if demo else nullcontext() as session,
            _scan_first(settings, session, progress.say, stop) as (scanning, base),
            _database(settings) as store,
        ):
            from bot.application.scans import ScanRunning, record_and_publish, scan_lease
            from bot.entry.bootstrap import build_security_hub

            hub = build_security_hub(settings, base, utc_now, store)
            loaded()
            tune_for_scanning()
            try:
                # Patient: a rerun right after a scan was killed is not told that it runs.
                lease_time = settings.scan_lease_time
                with scan_lease(
                    store, utc_now, trigger, lease_time=lease_time, patient=True, lost=stop
                ) as lease:
                    progress.release()
                    result = scanning.result()
                    record, published = record_and_publish(
                        settings, store, hub, lease, result, trigger
                    )
            except (ScanRunning, LeaseLost) as running:
                print(f"iam-inactive: {running}", file=stderr)
                return EXIT_SCAN_RUNNING
    except (SetupError, RecordsUnavailable) as error:
        return _stopped(error, stderr)
    rows = sorted([*record.new, *record.reopened, *record.updated], key=by_risk)
    if output == "json":
        write_json(rows, stdout)
    elif output == "csv":
        write_csv(rows, stdout)
    else:
        print(render_table(rows, settings.timezone), file=stdout)
        print(
            f"\n{len(rows)} findings ({len(record.new)} new, {len(record.resolved)} resolved) "
            f"in {len(result.accounts)} account(s); recorded as scan #{record.scan_id}.",
            file=stdout,
        )
    for account in result.failed_accounts:
        print(f"iam-inactive: account {account.target.account_id}: {account.error}", file=stderr)
    if published.problem():  # the scan is recorded all the same: not a failed scan
        print(f"iam-inactive: {published.problem()}", file=stderr)
    return EXIT_SCAN_FAILED if result.failed_accounts else EXIT_OK


@contextmanager
def _database(settings: Settings) -> Iterator[ScanStore]:
    """The database, closed when the command is done: its connections are among what `loading`
    froze, so the interpreter's last collection would not close them (SQLite would keep its
    write-ahead log beside the file)."""
    store = open_scan_store(settings)
    try:
        yield store
    finally:
        store.engine.dispose()


class _HeldLines:
    """Progress lines, held until the scan is sure to be recorded: a command that stops before
    (bad settings, another scan running) says one line, not the progress of a scan it drops."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self._lock = stream, threading.Lock()
        self._held: list[str] | None = []

    def say(self, line: str) -> None:
        with self._lock:
            if self._held is None:
                print(line, file=self._stream, flush=True)
            else:
                self._held.append(line)

    def release(self) -> None:
        with self._lock:
            for line in self._held or []:
                print(line, file=self._stream, flush=True)
            self._held = None


@contextmanager
def _scan_first(
    settings: Settings,
    session: boto3.Session | None,
    progress: Callable[[str], None],
    stop: threading.Event,
) -> Iterator[tuple[Future[ScanResult], boto3.Session]]:
    """Start scanning AWS in the background, and go on once its first IAM request is sent: the
    database (SQLAlchemy takes as long to load as boto3) is opened while AWS answers, and by
    then botocore has read the models the scan's clients need (bot.aws.accounts.iam_in). The
    scan lease is taken before anything is recorded; a command that stops first (another scan
    holds the lease, the database cannot be opened) stops the scan too, and waits for the
    accounts under way, so that nothing outlives the command (nor, with --demo, its simulated
    AWS). So does `stop`, set by the lease once lost. Yields the scan's result to come, and the
    session it scans with."""
    from bot.aws.fast import aws_session
    from bot.aws.scanner import scan_accounts

    base = session or aws_session(settings.aws_fast_parsing)
    asked = threading.Event()
    base.events.register_first("before-send.iam", lambda **_: asked.set())
    scanned: Future[ScanResult] = Future()

    def run() -> None:
        try:
            found = scan_accounts(settings, base, clock=utc_now, progress=progress, stop=stop)
            scanned.set_result(found)
        except BaseException as error:  # handed to whoever reads the result
            scanned.set_exception(error)
        finally:
            asked.set()

    scanning = threading.Thread(target=run, name="scan")
    scanning.start()
    try:
        asked.wait()  # inside: Ctrl-C while waiting stops the scan too
        yield scanned, base
    finally:
        stop.set()
        scanning.join()


def export(
    env: Mapping[str, str],
    *,
    since: str | None,
    until: str | None,
    account: str | None,
    output_format: str,
    output: str | None,
    bom: bool = True,
    population: bool = False,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """The evidence of a period (or, `population`, every user's verdict) to stdout or
    `output`, its summary line to stderr. Arguments are checked before the database is
    opened: a bad one changes nothing."""
    from bot.domain.evidence import EvidenceError, check_account, period_of

    try:
        period = period_of(since, until, utc_now())
        account_id = check_account(account)
    except EvidenceError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    try:
        settings = configure(env, verbose=False)
        repository = open_database(settings, read_only=True)
        from bot.application import evidence

        made = (evidence.population if population else evidence.export)(
            repository, settings, period, account_id
        )
    except (SetupError, RecordsUnavailable) as error:
        return _stopped(error, stderr)
    text = made.json() + "\n" if output_format == "json" else made.csv(bom=bom)
    try:
        if output:
            Path(output).write_text(text, encoding="utf-8", newline="")
        else:
            stdout.write(text)
    except OSError as error:
        print(f"iam-inactive: cannot write {output}: {error.strerror or error}", file=stderr)
        return EXIT_BAD_SETUP
    print(made.summary.line(), file=stderr)
    if account_id and not made.about.accounts:  # a mistyped id, or an account never scanned
        print(f"iam-inactive: no scan in {period.describe()} covered {account_id}", file=stderr)
    return EXIT_OK


def _stopped(error: SetupError | RecordsUnavailable, stderr: TextIO) -> int:
    """The one line a command stops with when it cannot set up or reach its database."""
    why = "the database became unavailable: " if isinstance(error, RecordsUnavailable) else ""
    print(f"iam-inactive: {why}{error}", file=stderr)
    return EXIT_BAD_SETUP


def run_bot(env: Mapping[str, str], port: int | None, stderr: TextIO = sys.stderr) -> int:
    """Socket Mode when SLACK_APP_TOKEN is set: one process answers Slack and runs the scanner.
    Else HTTP under gunicorn, which only answers Slack (`scanner` runs the scans)."""
    from bot.entry.bootstrap import build_app

    try:
        services = bootstrap(env)
        socket_mode = services.settings.slack_app_token is not None
        app = build_app(services, socket_mode=socket_mode)
    except SetupError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket = SocketModeHandler(app, services.settings.slack_app_token)
        try:  # the socket's own threads answer Slack; this one runs the scanner
            _serve_scans(services, then=socket.connect)  # a scan asked for finds it beating
        finally:
            socket.close()
        return EXIT_OK
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"0.0.0.0:{port or services.settings.port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "bot.entry.web:create_wsgi()",
        ],
    )
    return EXIT_OK  # not reached: gunicorn replaces this process


def run_scanner(env: Mapping[str, str], stderr: TextIO = sys.stderr) -> int:
    """The scanner process (Procfile `scanner:`): the schedule, the sweep and every scan asked
    for, in the foreground until SIGTERM or SIGINT."""
    tune_for_scanning()
    try:
        services = bootstrap(env, http=False, answer_first=False)
    except SetupError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    _serve_scans(services)
    return EXIT_OK


def _serve_scans(services: Services, then: Callable[[], None] = lambda: None) -> None:
    """The scanner (heartbeat first, then `then`, the start-up sweep and the schedule) until
    SIGTERM or SIGINT, when a scan under way finishes first."""
    from bot.application.jobs import start_schedule
    from bot.entry.bootstrap import build_scanner

    scanner = build_scanner(services)
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: scanner.stop())
    scanner.start()
    try:
        then()
        schedule = start_schedule(services, scanner.stopping)
        try:
            scanner.serve()
        finally:
            schedule.stop()
            if not services.announcer.edits.wait(EDITS_GRACE):
                left = len(services.announcer.edits)
                logging.getLogger(__name__).warning("stopping with %d messages not redrawn", left)
    finally:
        scanner.stop()


def migrate_only(env: Mapping[str, str], stderr: TextIO = sys.stderr) -> int:
    try:
        prepare(env, verbose=False)
    except SetupError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    print("database is up to date", file=stderr)
    return EXIT_OK
