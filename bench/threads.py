"""Large-scan benchmark: a first scan of 2,000 new findings in 3 accounts, as the channel sees it.

Records a scan result of 2,000 idle console passwords (667, 667 and 666 in three accounts) in a
SQLite file and posts it through the bot's announcer to the Slack stand-in, which takes one
message a channel per interval and answers anything sooner with 429 and Retry-After, as Slack
does. Slack's interval is one second; the run shortens it (and the bot's pace with it) so that
it ends in seconds. Prints the messages at the channel's top level and in threads, the findings
posted with their buttons, the 429s, and the time, beside the unthreaded posting before issue 10.

    python -m bench.threads                  # paced: the bot waits its turn
    python -m bench.threads --interval 0.02  # Slack's second, scaled down
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3

from bot.domain.settings import Settings
from bot.entry.bootstrap import build_services
from bot.slack.ids import ActionId
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.support.bot_harness import CHANNEL, idle_scan
from tests.support.slack_standin import SlackStandIn

ACCOUNTS = {"111111111111": 667, "222222222222": 667, "333333333333": 666}
TOP_LEVEL_LIMIT = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--interval", type=float, default=0.02, help="Slack's per-channel interval, scaled"
    )
    args = parser.parse_args()
    database_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-threads-')) / 'bot.db'}"
    migrate(make_engine(database_url))
    standin = SlackStandIn(channel_rate=1 / args.interval)
    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_channel=CHANNEL,
        slack_api_url=standin.url,
        database_url=database_url,
        slack_post_interval=args.interval,
    )
    now = datetime.now(UTC)
    repository = Repository(make_engine(database_url))
    services = build_services(
        settings, repository, boto3.Session(), lambda: now, answer_first=False
    )
    result = idle_scan(ACCOUNTS, now)
    record = services.repository.record_scan(result, "bench", dry_run=False)
    started = time.monotonic()
    posting = services.announcer.post_scan(result, record)
    seconds = time.monotonic() - started
    top = standin.posted(CHANNEL)
    heads = {call.answer["ts"] for call in top}
    threads = [standin.posted(CHANNEL, call.answer["ts"]) for call in top]
    replies = [reply for thread in threads for reply in thread]
    buttons = sum(reply.text_of_blocks().count(ActionId.DISABLE) for reply in replies)
    refused = len(standin.named("429/chat.postMessage"))
    progress = sum(1 for call in standin.named("chat.update") if call.params["ts"] in heads)
    findings = sum(ACCOUNTS.values())
    before = sum(1 + -(-count // 10) for count in ACCOUNTS.values())  # summaries, batches
    standin.stop()
    print(
        f"First scan: {findings} new findings in {len(ACCOUNTS)} accounts; Slack's per-channel "
        f"interval scaled to {args.interval:.3f} s (1 s in Slack)"
    )
    print(f"{'':<34}{'before':>10}{'now':>10}")
    print(
        f"{'messages at the top level':<34}{before:>10}{len(top):>10}   (at most {TOP_LEVEL_LIMIT})"
    )
    print(f"{'messages in threads':<34}{0:>10}{len(replies):>10}")
    print(f"{'findings posted with buttons':<34}{findings:>10}{buttons:>10}")
    print(f"{'posted / left for the sweep':<34}{'':>10}{posting.posted:>5} / {posting.retried}")
    print(f"{'429 answers':<34}{'':>10}{refused:>10}")
    print(f"{'seconds (scaled)':<34}{'':>10}{seconds:>10.1f}")
    posts = len(top) + len(replies)
    in_slack = posts + seconds - posts * args.interval  # each wait a second long, the rest as is
    print(f"{'summary updates (progress)':<34}{'':>10}{progress:>10}")
    print(f"{'seconds at one message a second':<34}{'':>10}{in_slack:>10.0f}")
    ok = len(top) <= TOP_LEVEL_LIMIT and buttons == findings and not refused
    print("PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
