"""Large-scan benchmark: a first scan of 2,000 new findings in 3 accounts, as the channel sees it,
then a rescan that resolves them all.

Records a scan result of 2,000 idle console passwords (667, 667 and 666 in three accounts) in a
SQLite file and posts it through the bot's announcer to the Slack stand-in, which takes one
message a channel per interval and answers anything sooner with 429 and Retry-After, as Slack
does. Slack's interval is one second; the run shortens it (and the bot's pace with it) so that
it ends in seconds. Prints the messages at the channel's top level and in threads, the findings
posted with their buttons, the 429s, and the time, beside the unthreaded posting before issue 10.
Then a rescan finds none of them idle: their messages are redrawn (chat.update, Tier 3: the
stand-in takes 50 a minute, scaled the same way); prints the edits sent and refused, how soon
the scan could reply, and how long the edits took, beside one edit per finding before issue 21.

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

from bot.application.services import Services
from bot.domain.settings import Settings
from bot.entry.bootstrap import build_services
from bot.slack.ids import ActionId
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.support.bot_harness import CHANNEL, idle_scan
from tests.support.slack_limits import Tiers
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
    standin = SlackStandIn(channel_rate=1 / args.interval, tiers=Tiers(second=args.interval))
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
    edits = rescan_edits(services, standin, now, args.interval)
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
    sent, refused_edits, reply_after, edit_seconds = edits
    print(f"Rescan: all {findings} resolved")
    print(f"{'':<34}{'before':>10}{'now':>10}")
    # One edit a findings message: 201 here (67 messages of at most 10 in each account).
    messages = sum(-(-count // 10) for count in ACCOUNTS.values())
    print(f"{'chat.update calls':<34}{findings:>10}{sent:>10}   (messages: {messages})")
    print(f"{'429 answers to chat.update':<34}{'':>10}{refused_edits:>10}")
    print(f"{'seconds until the reply':<34}{'':>10}{reply_after:>10.3f}")
    print(f"{'seconds of edits (scaled)':<34}{'':>10}{edit_seconds:>10.1f}")
    print(f"{'seconds at Slack pace':<34}{'':>10}{edit_seconds / args.interval:>10.0f}")
    ok = ok and sent <= messages and not refused_edits
    print("PASS" if ok else "FAIL")


def rescan_edits(
    services: Services, standin: SlackStandIn, now: datetime, interval: float
) -> tuple[int, int, float, float]:
    """A rescan of the same accounts finding nobody idle: the chat.update calls sent and
    refused, the seconds before the scan could reply, and the seconds the edits took."""
    standin.clear()
    result = idle_scan(dict.fromkeys(ACCOUNTS, 0), now)
    record = services.repository.record_scan(result, "bench", dry_run=False)
    assert len(record.resolved) == sum(ACCOUNTS.values()), len(record.resolved)
    started = time.monotonic()
    services.announcer.refresh_later(record.resolved)
    reply_after = time.monotonic() - started
    services.announcer.edits.wait()
    seconds = time.monotonic() - started
    return (
        len(standin.named("chat.update")),
        len(standin.named("429/chat.update")),
        reply_after,
        seconds,
    )


if __name__ == "__main__":
    main()
