"""Scan benchmark: the report path, the API path and the original procedure's call pattern.

Builds moto accounts of 1,000 and 10,000 users (about 20% findings, 0-2 keys each), served by a
moto HTTP server in another process, adds 20 ms of latency to every IAM call, and prints wall
time (after one warm-up run), IAM calls and the bot's peak memory (tracemalloc, a separate
run), with ratios.

    python -m bench.scan            # 1,000 and 10,000 users
    python -m bench.scan --sizes 1000 --skip-original --script-users 0

When the aws CLI is installed, it also runs the original script itself
(../shared/baseline/seed-procedure.sh, from ../shared) on a smaller account and scales its time
per user to 1,000 users: the CLI starts one process per call, which the pattern run leaves out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from bench.serving import served
from bot.aws import iam as aws
from bot.aws.accounts import client
from bot.aws.fast import aws_session
from bot.aws.scanner import scan_accounts
from bot.domain.settings import Settings

BASELINE_DIR = Path(__file__).resolve().parents[2] / "shared"
BASELINE_SCRIPT = "baseline/seed-procedure.sh"
LATENCY = 0.020
CLI_PROCESS_SECONDS = 0.45  # one aws CLI process per call in the original (detection-rule.md)
TARGET_SECONDS_10K = 5.0
TARGET_RATIO_1K = 100
TARGET_MEMORY_MB = 200


@dataclass
class Run:
    label: str
    users: int
    seconds: float
    calls: int
    peak_mb: float | None
    findings: int


def instrumented_session() -> tuple[boto3.Session, list[str]]:
    session = aws_session(  # as the bot builds its own (AWS_FAST_PARSING on)
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    calls: list[str] = []
    session.events.register("before-call.iam", lambda model, **_: calls.append(model.name))
    session.events.register_first("before-send.iam", lambda **_: time.sleep(LATENCY))
    return session, calls


def original_procedure(session: boto3.Session, now: datetime, idle: int, recent: int) -> int:
    """seed-procedure.sh's call pattern: sequential, per user, with its step-1 filter."""
    iam = client(session, "iam")
    idle_cutoff, recent_cutoff = now - timedelta(days=idle), now - timedelta(days=recent)
    targets = 0
    for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 100}):
        for user in page["Users"]:
            last_used = user.get("PasswordLastUsed")
            # The original's `A && B || C`, precedence bug included.
            if not (
                (user["CreateDate"] <= idle_cutoff and last_used and last_used <= idle_cutoff)
                or last_used is None
            ):
                continue
            if aws.login_profile(iam, user["UserName"]) is None:
                continue
            keys = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
            recent_key = False
            for key in keys:
                used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
                when = used["AccessKeyLastUsed"].get("LastUsedDate")
                if when and when >= recent_cutoff:
                    recent_key = True
                    break
            targets += not recent_key
    return targets


def measure(label: str, users: int, work: Callable[[boto3.Session], int]) -> Run:
    """A warm-up run (loads botocore's models, as in the long-running bot), then timed runs."""
    work(instrumented_session()[0])
    session, calls = instrumented_session()
    started = time.perf_counter()
    findings = work(session)
    seconds = time.perf_counter() - started
    call_count = len(calls)
    tracemalloc.start()
    work(instrumented_session()[0])
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return Run(label, users, seconds, call_count, peak, findings)


@contextmanager
def moto_server(users: int, now: datetime, keys_each: int | None = None) -> Iterator[None]:
    """A seeded moto server process (`keys_each`: access keys a user, else 0-2); boto3 reaches it
    through AWS_ENDPOINT_URL."""
    keys = () if keys_each is None else (keys_each,)
    with served("bench.moto_server", users, now.isoformat(), *keys) as url:
        os.environ["AWS_ENDPOINT_URL"] = url
        try:
            yield
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)


def run_size(users: int, with_original: bool) -> list[Run]:
    now = datetime.now(UTC)
    runs = []
    with moto_server(users, now):

        def scan_with(source: str) -> Callable[[boto3.Session], int]:
            settings = Settings(scan_source=source, user_concurrency=8)
            return lambda session: len(
                scan_accounts(settings, session, clock=lambda: now).candidates
            )

        runs.append(measure("report path", users, scan_with("report")))
        runs.append(measure("API path", users, scan_with("api")))
        if with_original:
            runs.append(
                measure("original pattern", users, lambda s: original_procedure(s, now, 90, 45))
            )
    return runs


def run_baseline_script(users: int) -> tuple[float, int]:
    """Seconds and targets of the original script itself against a seeded moto server."""
    now = datetime.now(UTC)
    with moto_server(users, now):
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )
        started = time.perf_counter()
        done = subprocess.run(
            ["bash", BASELINE_SCRIPT], cwd=BASELINE_DIR, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
    return seconds, len(done.stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument(
        "--script-users", type=int, default=100, help="users for the real script run (0: skip)"
    )
    args = parser.parse_args()
    print(f"IAM latency injected: {LATENCY * 1000:.0f} ms per call\n")
    print(
        f"{'users':>6}  {'path':<17} {'wall s':>8} {'IAM calls':>9} {'peak MB':>8} {'findings':>8}"
    )
    results: dict[tuple[int, str], Run] = {}
    for size in args.sizes:
        for run in run_size(size, with_original=not args.skip_original and size <= 1000):
            results[(size, run.label)] = run
            print(
                f"{run.users:>6}  {run.label:<17} {run.seconds:>8.2f} {run.calls:>9} "
                f"{run.peak_mb:>8.1f} {run.findings:>8}"
            )
    print()
    for size in args.sizes:
        report, api = results[(size, "report path")], results[(size, "API path")]
        print(f"{size} users: API path / report path = {api.seconds / report.seconds:.1f}x time")
        original = results.get((size, "original pattern"))
        if original:
            ratio = original.seconds / report.seconds
            cli_estimate = original.calls * CLI_PROCESS_SECONDS
            print(
                f"{size} users: original pattern / report path = {ratio:.0f}x time "
                f"(target >= {TARGET_RATIO_1K}x); with one CLI process per call "
                f"(~{CLI_PROCESS_SECONDS} s each) the original takes ~{cli_estimate:.0f} s, "
                f"{cli_estimate / report.seconds:.0f}x"
            )
        budget = 5 + size // 1000
        print(
            f"{size} users: report path {report.seconds:.2f} s, {report.calls} IAM calls "
            f"(budget {budget}), peak {report.peak_mb:.0f} MB (target < {TARGET_MEMORY_MB} MB)"
        )
    if args.script_users and shutil.which("aws") and (BASELINE_DIR / BASELINE_SCRIPT).exists():
        seconds, targets = run_baseline_script(args.script_users)
        per_user = seconds / args.script_users
        print(
            f"original script itself: {args.script_users} users in {seconds:.1f} s "
            f"({targets} targets), {per_user:.2f} s a user"
        )
        report_1k = results.get((1000, "report path"))
        if report_1k:
            scaled = per_user * 1000
            print(
                f"1000 users: original script (scaled, ~{scaled:.0f} s) / report path = "
                f"{scaled / report_1k.seconds:.0f}x"
            )
    if 10_000 in args.sizes:
        ten_k = results[(10_000, "report path")]
        print(f"10000 users: report path under {TARGET_SECONDS_10K} s: {ten_k.seconds < 5}")


if __name__ == "__main__":
    main()
