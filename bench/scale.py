"""Scale benchmark (issue 11): recording a scan, the terminal scan's start, an Organization of
200 accounts, one account at the IAM user quota, and 20 accounts against one.

Everything runs end to end as a person runs it (`python -m bot scan --json`, a process of its
own) except the recording, which is timed in-process with the time spent in the database driver
counted apart. Each figure is printed beside its target, the figure before issue 11 (the code
of c4753c6 measured the same way on the same machine), and the original procedure's call
pattern (seed-procedure.sh: sequential, about 1.47 IAM calls a user as bench.scan counts them)
at the same latency.

    python -m bench.scale                   # everything (PostgreSQL on 127.0.0.1:5432)
    python -m bench.scale --skip-postgres
    python -m bench.scale --quota-only [--bot-root DIR]   # 5,000 users, 0-2 keys and 2 each
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.scan import moto_server
from bench.serving import ROOT, served
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.support.bot_harness import idle_scan
from tests.support.processes import AwsProxy

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_scale"
ORIGINAL_CALLS_PER_USER = 1.47
# Before issue 11: commit c4753c6 run against these same stand-ins on this machine (2 cores),
# 2026-11-29, the mean of two runs.
BEFORE = {
    "record SQLite": 1.21,
    "record PostgreSQL": 2.27,
    "rescan SQLite": 0.19,
    "rescan PostgreSQL": 0.43,
    "first request": 0.38,
    "organization": 92.5,
    "organization CPU": 90.6,
    "organization memory": 244,
    "20 / 1": 5.4,
}
Row = tuple[str, str, str, str, str, bool | None]


def bot_env(**settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDBENCH",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp(prefix='bench-scale-')}/bot.db",
        **settings,
    }


def terminal_scan(
    env: dict[str, str], bot_root: Path = ROOT
) -> tuple[float, float, int, subprocess.CompletedProcess]:
    """`python -m bot scan --json` (the bot of the checkout at `bot_root`) on a migrated
    database: wall seconds, CPU seconds, peak MB."""
    subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        cwd=bot_root,
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "scan", "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=bot_root,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        raise RuntimeError(f"the scan failed: {done.stderr[-2000:]}")
    return wall, cpu, after.ru_maxrss // 1024, done


def organization(accounts: int, users: int, delay: float) -> AbstractContextManager[str]:
    """bench.org_standin in its own process; yields its URL."""
    return served("bench.org_standin", accounts, users, delay)


def organization_scan(accounts: int, users: int = 500, delay: float = 0.1) -> tuple:
    with organization(accounts, users, delay) as url:
        env = bot_env(AWS_ENDPOINT_URL=url, AWS_ORG_ROLE_NAME="bench-role")
        return terminal_scan(env)


def organization_rescan(accounts: int, users: int = 500, delay: float = 0.1) -> tuple:
    """The Organization scanned twice on one database: the first scan records every user's
    verdict; the second, steady (every verdict as before), records none."""
    with organization(accounts, users, delay) as url:
        env = bot_env(AWS_ENDPOINT_URL=url, AWS_ORG_ROLE_NAME="bench-role")
        return terminal_scan(env)[:3], terminal_scan(env)[:3]


def recording(database_url: str) -> tuple[float, float, float, float]:
    """Wall and database seconds of recording 2,000 new findings and 8,000 cleared users, then
    of a rescan with nothing new."""
    engine = make_engine(database_url)
    migrate(engine)
    spent = [0.0]

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def ended(conn: Any, *_args: Any) -> None:
        spent[0] += time.perf_counter() - conn.info["bench_started"]

    repository = Repository(engine)
    figures = []
    now = datetime.now(UTC)
    for moment in (now, now + timedelta(days=1)):
        spent[0] = 0.0
        begun = time.perf_counter()
        repository.record_scan(
            idle_scan({"111122223333": 2000}, moment, 8000), "bench", dry_run=False
        )
        figures += [time.perf_counter() - begun, spent[0]]
    engine.dispose()
    return figures[0], figures[1], figures[2], figures[3]


def first_request_seconds(runs: int = 7) -> float:
    """Median seconds from starting `python -m bot scan` to its first AWS request."""
    arrived: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            arrived.append(time.perf_counter())
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = bot_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{server.server_port}", AWS_MAX_ATTEMPTS="1")
    subprocess.run(
        [sys.executable, "-m", "bot", "migrate"], env=env, check=True, capture_output=True
    )
    times = []
    for _ in range(runs):
        arrived.clear()
        started = time.perf_counter()
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "scan"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not arrived and bot.poll() is None:
            time.sleep(0.005)
        if arrived:
            times.append(arrived[0] - started)
        bot.kill()
        bot.wait()
    server.shutdown()
    return statistics.median(times)


def quota_account(
    users: int = 5000, delay: float = 0.02, keys_each: int | None = None, bot_root: Path = ROOT
) -> tuple[float, int]:
    """One account of `users` users (`keys_each`: access keys a user, else 0-2) in a moto server
    behind a proxy adding `delay` a call: the terminal scan's wall seconds and IAM calls."""
    with moto_server(users, datetime.now(UTC), keys_each):
        proxy = AwsProxy(os.environ["AWS_ENDPOINT_URL"], delay=delay)
        env = bot_env(AWS_ENDPOINT_URL=proxy.url)
        wall, _cpu, _mb, _done = terminal_scan(env, bot_root)
    iam_calls = [a for a in proxy.actions if a not in ("GetCallerIdentity", "AssumeRole")]
    return wall, len(iam_calls)


def original_seconds(users: int, delay: float) -> float:
    return users * ORIGINAL_CALLS_PER_USER * delay


def others(args: argparse.Namespace, row: Callable[..., None], info: Callable[..., None]) -> None:
    """Every figure but the 5,000-user account's."""
    databases = {"SQLite": f"sqlite:///{tempfile.mkdtemp(prefix='bench-scale-')}/record.db"}
    if not args.skip_postgres:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as db:
            db.execute("DROP SCHEMA IF EXISTS bench_scale CASCADE; CREATE SCHEMA bench_scale")
        databases["PostgreSQL"] = POSTGRES
    for name, url in databases.items():
        first, first_db, rescan, rescan_db = recording(url)
        row(f"record 2,000 new + 8,000 cleared, {name}: database", 0.3, first_db, None, "")
        info(f"  the same, {name}: whole recording", first, BEFORE[f"record {name}"])
        row(f"rescan, nothing new, {name}: database", 0.2, rescan_db, None, "")
        info(f"  the same, {name}: whole recording", rescan, BEFORE[f"rescan {name}"])
    row(
        "terminal scan: start to first AWS request",
        0.5,
        first_request_seconds(),
        BEFORE["first request"],
        "",
    )
    accounts = args.accounts
    wall, cpu, memory, _done = organization_scan(accounts)
    original = f"~{original_seconds(accounts * 500, 0.1) / 3600:.1f} h"
    row(
        f"{accounts} accounts x 500 users, 100 ms a request",
        20,
        wall,
        BEFORE["organization"],
        original,
    )
    row("  the bot's CPU", 10, cpu, BEFORE["organization CPU"], "")
    row("  peak memory", 300, memory, BEFORE["organization memory"], "", unit=" MB")
    one, *_ = organization_scan(1)
    twenty, *_ = organization_scan(20)
    row(
        "20 accounts / 1 account, 100 ms a request",
        2,
        twenty / one,
        BEFORE["20 / 1"],
        "20",
        unit="x",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument(
        "--quota-only",
        action="store_true",
        help="only the 5,000-user account, with and without keys",
    )
    parser.add_argument(
        "--bot-root", type=Path, default=ROOT, help="the checkout whose bot scans that account"
    )
    args = parser.parse_args()
    rows: list[Row] = []

    def info(what: str, now: float, before: float) -> None:
        """A figure the issue sets no target for, beside its value before."""
        rows.append((what, "", f"{before:g} s", f"{now:.2f} s", "", None))

    def row(
        what: str, target: float, now: float, before: float | None, original: str, unit: str = " s"
    ) -> None:
        rows.append(
            (
                what,
                f"< {target:g}{unit}",
                "" if before is None else f"{before:g}{unit}",
                f"{now:.0f}{unit}" if unit in (" MB", "") else f"{now:.2f}{unit}",
                original,
                now < target,
            )
        )

    if not args.quota_only:
        others(args, row, info)
    for keys_each, keys in ((None, ""), (2, ", 2 keys each")):
        quota, calls = quota_account(keys_each=keys_each, bot_root=args.bot_root)
        row(
            f"1 account x 5,000 users{keys} (moto), 20 ms a request",
            3,
            quota,
            None,
            f"~{original_seconds(5000, 0.02):.0f} s",
        )
        row(
            f"  IAM calls (budget {5 + 5000 // 1000})",
            5 + 5000 // 1000 + 1,
            calls,
            None,
            f"~{5000 * ORIGINAL_CALLS_PER_USER:.0f}",
            unit="",
        )
    print(f"Scale benchmark, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores\n")
    header = ("measure", "target", "before", "now", "original pattern", "")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    for line in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(line[:5], widths, strict=True)]
        verdict = "" if line is header or line[5] is None else ("PASS" if line[5] else "MISS")
        print("  ".join([*cells, verdict]))


if __name__ == "__main__":
    main()
