"""Acknowledgement benchmark: every Slack request answered within Slack's 3 seconds under load.

Starts `python -m bot run` (gunicorn, as in production) against a Slack Web API stand-in and
moto behind a proxy that makes every AWS call take 2 s, records a scan, then sends at once
200 signed clicks on Disable (owner lookups, records, DMs), 20 owner confirmations (each a
live re-check and a removal: several 2-second AWS calls), 20 Keep clicks (each opens a form)
and 20 `list` commands. Prints each kind's acknowledgement
times (p50, p99, max) against the 3-second limit, the non-200 answers, and how many passwords
were removed once the work behind the acknowledgements finished.

    python -m bench.acks              # SQLite
    python -m bench.acks --postgres   # the PostgreSQL server on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from moto import mock_aws
from moto.iam.models import iam_backends

from bot.aws.demo import DEMO_ACCOUNT_ID, DemoUser, seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from storage.db import make_engine
from storage.repository import Repository
from tests.support.bot_harness import APPROVER, CHANNEL, SECRET, click_payload, command_body
from tests.support.bot_harness import interaction_body as interaction
from tests.support.processes import (
    AwsProxy,
    bot_env,
    free_port,
    healthy,
    moto_http,
    signed_post,
    start,
    stop,
    wait_for,
)
from tests.support.slack_standin import SlackStandIn

ACK_LIMIT = 3.0
AWS_SECONDS = 2.0
CLICKS, CONFIRMS, FORMS, LISTS = 200, 20, 20, 20
KINDS = ("Disable clicks", "owner confirmations", "Keep clicks", "list commands")


def owner_of(index: int) -> tuple[str, str]:
    return f"U0OWNER{index:03d}", f"owner{index}@example.com"


def timed_post(port: int, body: str) -> tuple[float, int]:
    started = time.monotonic()
    try:
        status = signed_post(port, body, SECRET)
    except urllib.error.HTTPError as error:
        status = error.code
    return time.monotonic() - started, status


def summary(label: str, samples: list[tuple[float, int]]) -> str:
    times = sorted(seconds for seconds, _status in samples)
    p99 = times[max(0, int(len(times) * 0.99) - 1)]
    late = sum(seconds > ACK_LIMIT for seconds in times)
    failed = sum(status != 200 for _seconds, status in samples)
    return (
        f"{label:<22} {len(times):>5} {statistics.median(times):>7.2f} {p99:>7.2f} "
        f"{times[-1]:>7.2f} {times[-1] / ACK_LIMIT:>9.2f} {late:>5} {failed:>7}"
    )


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every call
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-acks-"))
    database_url = (
        "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_acks"
        if args.postgres
        else f"sqlite:///{workdir / 'bot.db'}"
    )
    if args.postgres:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as db:
            db.execute("DROP SCHEMA IF EXISTS bench_acks CASCADE; CREATE SCHEMA bench_acks")
    users = CLICKS + CONFIRMS
    standin = SlackStandIn()
    for index in range(users):
        standin.add_user(*owner_of(index))
    with mock_aws(), moto_http() as moto_url:
        seed_users_now(users)
        proxy = AwsProxy(moto_url, delay=AWS_SECONDS)
        port = free_port()
        env = bot_env(
            proxy.url,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_CHANNEL=CHANNEL,
            SLACK_API_URL=standin.url,
            SLACK_APPROVERS=APPROVER,
            DATABASE_URL=database_url,
            PORT=str(port),
        )
        log = workdir / "bot.log"
        bot = start(["run"], env, log)
        repository = Repository(make_engine(database_url))
        try:
            wait_for(lambda: healthy(port), timeout=120, what="the bot to serve")
            signed_post(port, command_body("scan", APPROVER, standin.response_url()), SECRET)
            findings = wait_for(
                lambda: len(repository.open_findings()) == users and repository.open_findings(),
                timeout=300,
                what="the scan",
            )
            to_confirm, to_click = findings[:CONFIRMS], findings[CONFIRMS:]
            for finding in to_confirm:  # their owners are asked first, one by one
                click = click_payload(
                    ActionId.DISABLE, finding.id, APPROVER, CHANNEL, standin.response_url()
                )
                signed_post(port, interaction(click), SECRET)
            wait_for(
                lambda: all(
                    repository.finding(f.id).state == State.AWAITING_OWNER for f in to_confirm
                ),
                what="the owners to be asked",
            )
            bodies = [
                ("owner confirmations", interaction(confirm_payload(f, standin)))
                for f in to_confirm
            ] + [
                (
                    "Disable clicks",
                    interaction(
                        click_payload(
                            ActionId.DISABLE, f.id, APPROVER, CHANNEL, standin.response_url()
                        )
                    ),
                )
                for f in to_click
            ]
            bodies += [
                (
                    "Keep clicks",
                    interaction(
                        click_payload(
                            ActionId.KEEP, f.id, APPROVER, CHANNEL, standin.response_url()
                        )
                    ),
                )
                for f in to_click[:FORMS]
            ]
            bodies += [
                ("list commands", command_body("list", APPROVER, standin.response_url()))
            ] * LISTS
            with ThreadPoolExecutor(len(bodies)) as pool:
                timings = list(pool.map(lambda pair: (pair[0], timed_post(port, pair[1])), bodies))
            wait_for(
                lambda: all(repository.finding(f.id).state == State.DISABLED for f in to_confirm),
                timeout=600,
                what="the removals behind the acknowledgements",
            )
            removed = sum(
                not iam_backends[DEMO_ACCOUNT_ID]["global"].users[f.user_name].password
                for f in to_confirm
            )
        finally:
            stop(bot)
            proxy.stop()
            standin.stop()
    print(
        f"python -m bot run (gunicorn), {'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"every AWS call {AWS_SECONDS:.0f} s, all requests at once"
    )
    print(
        f"{'requests':<22} {'count':>5} {'p50 s':>7} {'p99 s':>7} {'max s':>7} "
        f"{'max/3s':>9} {'>3 s':>5} {'non-200':>7}"
    )
    for label in KINDS:
        print(summary(label, [timing for kind, timing in timings if kind == label]))
    print(summary("all", [timing for _kind, timing in timings]))
    print(
        f"passwords removed after the acks: {removed} of {CONFIRMS}, "
        f"DeleteLoginProfile forwarded {proxy.forwarded_held} times"
    )


def confirm_payload(finding, standin: SlackStandIn) -> dict:
    index = int(finding.user_name.split("-")[1])
    owner, _email = owner_of(index)
    return click_payload(
        ActionId.OWNER_CONFIRM, finding.id, owner, "D" + owner[1:], standin.response_url()
    )


def seed_users_now(users: int) -> None:
    """Idle users, each owned by someone the stand-in knows."""
    import boto3

    session = boto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    crowd = tuple(
        DemoUser(
            f"idle-{index:03d}", 400, password_used_days_ago=200, tags={"owner": owner_of(index)[1]}
        )
        for index in range(users)
    )
    seed_users(session, crowd, datetime.now(UTC))


if __name__ == "__main__":
    main()
