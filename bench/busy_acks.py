"""Slack's answers while a big scan runs: 100 signed `/iam-inactive help` requests to the web
process (gunicorn, 2 workers x 4 threads) while a scan of a 200-account Organization (500 users
each, every AWS answer 100 ms late: bench/org_standin.py) runs, against 100 sent while idle.

The scan is asked for through Slack like a person would. Here it runs in the scanner process
(`python -m bot scanner`); `--bot-root DIR` runs another checkout's bot instead (for instance
one where scans ran in the web workers: `git worktree add /tmp/before <commit>`), which gets no
scanner process unless it has the `scanner` command.

    python -m bench.busy_acks [--requests 100] [--accounts 200] [--bot-root DIR]
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.scale import organization
from tests.support.bot_harness import APPROVER, CHANNEL, SECRET, command_body
from tests.support.processes import ROOT, bot_env, free_port, healthy, signed_post, stop, wait_for
from tests.support.slack_standin import SlackStandIn


def start(
    root: Path, args: list[str], env: dict[str, str], log: Path, module: bool = True
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *(["-m", "bot"] if module else []), *args],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def acks(port: int, standin: SlackStandIn, count: int, gap: float, at_once: int) -> list[float]:
    """Seconds to each `help`'s answer (it comes in the acknowledgement), `at_once` in flight
    (so that every worker gets its share, the one running a scan among them)."""

    def one(_: int) -> float:
        body = command_body("help", APPROVER, standin.response_url())
        started = time.perf_counter()
        assert signed_post(port, body, SECRET) == 200
        seconds = time.perf_counter() - started
        time.sleep(gap)
        return seconds

    with ThreadPoolExecutor(at_once) as pool:
        return list(pool.map(one, range(count)))


def row(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[max(0, round(len(ordered) * 0.99) - 1)]
    return (
        f"| {label} | {len(ordered)} | {statistics.median(ordered) * 1000:.0f} ms "
        f"| {p99 * 1000:.0f} ms | {ordered[-1] * 1000:.0f} ms |"
    )


def recorded(database: Path) -> bool:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM scans").fetchone()[0] > 0


def said(standin: SlackStandIn, words: str) -> bool:
    return any(words in c.params.get("text", "") for c in standin.named("response/respond"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between requests")
    parser.add_argument("--at-once", type=int, default=4, help="requests in flight")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (Procfile: 2)")
    parser.add_argument("--bot-root", type=Path, default=ROOT)
    args = parser.parse_args()
    root = args.bot_root.resolve()
    with_scanner = "scanner" in (root / "bot" / "__main__.py").read_text()
    work = Path(tempfile.mkdtemp(prefix="bench-busy-acks-"))
    standin = SlackStandIn(channels={CHANNEL: {APPROVER}})
    port = free_port()
    with organization(args.accounts, 500, 0.1) as aws_url:
        env = bot_env(
            aws_url,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_CHANNEL=CHANNEL,
            SLACK_API_URL=standin.url,
            SLACK_APPROVERS=APPROVER,
            SLACK_POST_INTERVAL="0",
            DATABASE_URL=f"sqlite:///{work / 'bot.db'}",
            AWS_ORG_ROLE_NAME="bench-role",
            PORT=str(port),
            SCAN_CRON="0 0 1 1 *",
            DIGEST_CRON="0 0 1 1 *",
            REMINDER_CRON="0 0 1 1 *",
        )
        subprocess.run(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=root,
            env={**env, "PYTHONPATH": str(root)},
            check=True,
            capture_output=True,
        )
        gunicorn = ["-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--threads", "4"]
        web = [*gunicorn, "--workers", str(args.web_workers), "bot.entry.web:create_wsgi()"]
        processes = [start(root, web, env, work / "web.log", module=False)]
        if with_scanner:
            processes.append(start(root, ["scanner"], env, work / "scanner.log"))
        try:
            wait_for(lambda: healthy(port), what="the web process")
            acks(port, standin, 10, args.gap, args.at_once)  # both workers warm
            idle = acks(port, standin, args.requests, args.gap, args.at_once)
            assert signed_post(port, command_body("scan", APPROVER, standin.response_url()), SECRET)
            wait_for(lambda: said(standin, "Scanning all accounts"), what="the scan to start")
            busy = acks(port, standin, args.requests, args.gap, args.at_once)
            during = not recorded(work / "bot.db")  # AWS read and parsed: the costly part
        finally:
            for process in processes:  # a scan's posting, paced at Slack's 1 a second, can go
                stop(process, signal.SIGKILL)
            standin.stop()
    where = "the scanner process" if with_scanner else "a web worker"
    print(f"\n{args.accounts} accounts x 500 users, 100 ms an AWS answer; the scan ran in {where}")
    print(f"gunicorn: {args.web_workers} worker(s) x 4 threads")
    print(
        f"(bot: {root}; {args.at_once} requests at a time; all {args.requests} answered before "
        f"the scan was recorded: {during})\n"
    )
    print("| `/iam-inactive help` | requests | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    print(row("idle", idle))
    print(row(f"while a {args.accounts}-account scan runs", busy))


if __name__ == "__main__":
    main()
