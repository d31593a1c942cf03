"""Start-up benchmark: the terminal scan as a fresh process against the same bulk calls made
with plain boto3 in a fresh process (issue 19: "small accounts start fast").

A moto HTTP server runs in another process (boto3 reaches it through AWS_ENDPOINT_URL), seeded
in that process with one account of N users as the real world has them: most with a console
password, a fifth of them idle, owner tags on most, a few groups with managed and inline
policies. Then, in turn, run after run (so that a drifting machine moves both sides alike):

  scan, first run    `python -m bot scan --json` on a new SQLite file (creates the schema)
  scan, steady       the same on a file an earlier run created (the everyday case)
  plain boto3        `python -c`: GenerateCredentialReport until COMPLETE, GetCredentialReport,
                     GetAccountAuthorizationDetails paginated (User, Group, LocalManagedPolicy)
  plain boto3 + STS  the same, plus the GetCallerIdentity the scan makes to name its account

The project's modules are compiled to bytecode first, as an installed bot's are (pip compiles
boto3's): with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile them again.

Seconds of the whole process (start-up included): wall min / median / max and the median CPU of
--runs runs after one warm-up run each, and each against plain boto3 as the median of the
run-by-run ratios. CPU is the steadier figure on a busy machine.

    python -m bench.small                      # 300 users
    python -m bench.small --users 300 10000 --runs 7
    python -m bench.small --delay 0.02            # each AWS call 20 ms late, as over a network
"""

from __future__ import annotations

import argparse
import compileall
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.serving import served
from tests.support.processes import AwsProxy, bot_env

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3  # the scan of a small account, against plain boto3

# The plain-boto3 yardstick: the bulk calls of bot/aws/iam.py (fetch_credential_report,
# identities_of_all_users), made one after another as a short script would make them.
PLAIN_BOTO3 = """
import time, boto3
iam = boto3.client("iam", region_name="us-east-1")
{sts}
while iam.generate_credential_report()["State"] != "COMPLETE":
    time.sleep(0.05)
iam.get_credential_report()["Content"]
pages = iam.get_paginator("get_account_authorization_details").paginate(
    Filter=["User", "Group", "LocalManagedPolicy"], PaginationConfig={{"PageSize": 1000}}
)
users = sum(len(page.get("UserDetailList", [])) for page in pages)
assert users == {users}, users
"""
WITH_STS = 'boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]'


# --- the server process: seeded in its own process (moto's backend is fast only in-process) ---


def seed_realistic(users: int, now: datetime, seed: int = 19) -> None:
    """One account of `users` users: about 60% with a console password (a third of those idle
    past 90 days), owner tags on 70%, 5 groups, 3 customer managed policies, a few inline ones;
    0-2 access keys a user."""
    import random

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    from bench.accounts import seed_keys  # moto loads in the server process only

    rng = random.Random(seed)
    backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]

    def document(action: str) -> str:
        statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    policies = [
        backend.create_policy("", "/", document(action), name, []).arn
        for name, action in (
            ("s3-read", "s3:Get*"),
            ("deploy", "cloudformation:*"),
            ("break-glass", "*"),
        )
    ]
    groups = ["developers", "readonly", "ops", "billing", "admins"]
    for index, group in enumerate(groups):
        backend.create_group(group)
        backend.attach_group_policy(policies[index % len(policies)], group)
    backend.put_group_policy("ops", "ops-inline", document("ec2:*"))
    for index in range(users):
        name = f"user-{index:05d}"
        tags = []
        if rng.random() < 0.7:
            tags.append({"Key": "owner", "Value": f"owner{rng.randint(1, 40)}@example.com"})
        if rng.random() < 0.3:
            tags.append({"Key": "team", "Value": rng.choice(("web", "data", "infra"))})
        if rng.random() < 0.02:
            tags.append({"Key": "iam-inactive:exempt", "Value": "break-glass"})
        user = backend.create_user("us-east-1", name, tags=tags or None)
        user.create_date = now - timedelta(days=rng.randint(10, 2000))
        kind = rng.random()
        if kind < 0.60:
            backend.create_login_profile(name, "Bench-password-1!")
            if kind < 0.20:  # idle: a finding, unless used by a key lately
                user.password_last_used = now - timedelta(days=rng.randint(91, 700))
            elif kind < 0.55:
                user.password_last_used = now - timedelta(days=rng.randint(0, 89))
        for group in rng.sample(groups, rng.choice((0, 1, 1, 1, 2))):
            backend.add_user_to_group(group, name)
        if rng.random() < 0.05:
            backend.attach_user_policy(rng.choice(policies), name)
        if rng.random() < 0.03:
            backend.put_user_policy(name, "own-bucket", document("s3:*"))
        seed_keys(backend, name, now, rng)


def serve(users: int) -> None:
    """Seed, print the port, serve until standard input closes."""
    import logging

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    seed_realistic(users, datetime.now(UTC))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line a request
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


def moto_server(users: int) -> AbstractContextManager[str]:
    return served("bench.small", "--serve", users)


# --- the timed processes ---


@dataclass
class Timings:
    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def ratio(self, yardstick: Timings, of: str = "wall") -> float:
        """The median of the run-by-run ratios (run i of both was taken in turn): a machine
        whose speed drifts moves both sides of a pair alike."""
        mine, theirs = getattr(self, of), getattr(yardstick, of)
        return statistics.median(a / b for a, b in zip(mine, theirs, strict=True))

    def row(self, yardstick: Timings | None) -> str:
        low, mid, high = min(self.wall), statistics.median(self.wall), max(self.wall)
        ratios = "     -       -"
        if yardstick is not None:
            ratios = f"{self.ratio(yardstick):5.2f}x  {self.ratio(yardstick, 'cpu'):5.2f}x"
        return (
            f"{self.label:<18} {low:6.3f} {mid:6.3f} {high:6.3f}   "
            f"{statistics.median(self.cpu):6.3f}   {ratios}"
        )


def environment(endpoint: str, database_url: str | None = None) -> dict[str, str]:
    """The processes' environment: the bots' (tests.support.processes.bot_env), and this
    database or none."""
    env = bot_env(endpoint)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def timed(command: list[str], env: dict[str, str], cwd: str, into: Timings | None) -> str:
    """Run a whole process; its wall and CPU seconds go `into` (None: a warm-up)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {done.returncode}: {done.stderr[-2000:]}")
    if into is not None:
        into.wall.append(wall)
        into.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return done.stdout


@contextmanager
def answered_after(delay: float, endpoint: str) -> Iterator[str]:
    """The endpoint, or with `delay`, a proxy in front of it that answers each call that much
    later, as AWS over a network does (moto on this machine answers at once)."""
    if not delay:
        yield endpoint
        return
    proxy = AwsProxy(endpoint, delay=delay)
    try:
        yield proxy.url
    finally:
        proxy.stop()


def measure(users: int, runs: int, delay: float = 0.0) -> tuple[list[Timings], int]:
    """Every command in turn, run after run; returns the timings and the scan's findings."""
    scan = [sys.executable, "-m", "bot", "scan", "--json"]
    plain = [sys.executable, "-c", PLAIN_BOTO3.format(sts="", users=users)]
    plain_sts = [sys.executable, "-c", PLAIN_BOTO3.format(sts=WITH_STS, users=users)]
    for package in ("bot", "handlers", "storage"):
        compileall.compile_dir(ROOT / package, quiet=1)
    first, steady = Timings("scan, first run"), Timings("scan, steady")
    yardstick, with_sts = Timings("plain boto3"), Timings("plain boto3 + STS")
    with (
        moto_server(users) as moto,
        answered_after(delay, moto) as endpoint,
        tempfile.TemporaryDirectory() as work,
    ):
        steady_env = environment(endpoint, f"sqlite:///{work}/steady.db")
        findings = len(json.loads(timed(scan, steady_env, work, None)))  # creates the file
        timed(plain, environment(endpoint), work, None)
        timed(plain_sts, environment(endpoint), work, None)
        for run in range(runs):
            fresh_env = environment(endpoint, f"sqlite:///{work}/first-{run}.db")
            timed(scan, fresh_env, work, first)
            timed(scan, steady_env, work, steady)
            timed(plain, environment(endpoint), work, yardstick)
            timed(plain_sts, environment(endpoint), work, with_sts)
    return [first, steady, yardstick, with_sts], findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[300])
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each (default 9)")
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        help="seconds each AWS call is answered late, as over a network (default 0: the target)",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    print(
        f"seconds of the whole process, {args.runs} runs each; ratios against plain boto3: "
        "the median of run-by-run ratios\n"
    )
    for users in args.users:
        timings, findings = measure(users, args.runs, args.delay)
        _first, steady, yardstick, _with_sts = timings
        late = f", each AWS call answered {args.delay * 1000:.0f} ms late" if args.delay else ""
        print(f"{users} users ({findings} findings){late}")
        print(f"  {'':<18} {'wall s':^20}   {'cpu s':>6}   {'vs plain boto3':^14}")
        print(f"  {'':<18} {'min':>6} {'median':>6} {'max':>6}   {'median':>6}   {'wall':>6}  cpu")
        for timing in timings:
            print(f"  {timing.row(None if timing is yardstick else yardstick)}")
        ratio = steady.ratio(yardstick)
        verdict = "within" if ratio <= TARGET_RATIO else "over"
        print(f"  steady scan / plain boto3 = {ratio:.2f}x wall ({verdict} {TARGET_RATIO}x)\n")


if __name__ == "__main__":
    main()
