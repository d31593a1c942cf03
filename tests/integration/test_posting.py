"""Findings posted to Slack exactly once (issue 20, points 4 and 7): a post Slack took but whose
answer was lost is found in the channel, not posted again; a finding Slack refuses does not hold
back the others, is reported with Slack's error, and is not retried for ever. Scans asked for
with signed requests through the production adapter, against the stand-in; SQLite and
PostgreSQL (the sweep leaves refused findings by their audit)."""

from __future__ import annotations

import json
import logging
from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import func, select

from bot.application.jobs import sweep_job
from bot.aws.demo import DEMO_ACCOUNT_ID, DemoUser, seed_users
from bot.slack.client import ConnectionRetry
from bot.slack.ids import ActionId
from bot.slack.posted import HISTORY_PAGE, findings_metadata, posted_findings
from storage import models
from tests.integration.conftest import session_of, start_bot
from tests.support.bot_harness import CHANNEL
from tests.support.slack_history import manifest_scopes

# A user whose line Slack refuses (what it holds: here, the owner tag its line shows)
REFUSED_OWNER = "refused@example.com"
ODD = DemoUser("odd-owner", 400, password_used_days_ago=200, tags={"owner": REFUSED_OWNER})


def idle_users(count: int) -> tuple[DemoUser, ...]:
    return tuple(DemoUser(f"idle-{i:02d}", 400, password_used_days_ago=200) for i in range(count))


def copies(harness, standin, names) -> dict[str, int]:
    """How many messages in the channel (its threads included) show each finding."""
    shown = [json.dumps(message["blocks"]) for message in standin.history.in_channel(CHANNEL)]
    return {name: sum(harness.finding(name).id in text for text in shown) for name in names}


def audit_rows(harness) -> int:
    with session_of(harness.repository) as session:
        return session.scalar(select(func.count()).select_from(models.AuditEvent))


def posts_lost(method, params) -> bool:
    return method == "chat.postMessage"


def replies_lost(method, params) -> bool:
    return method == "chat.postMessage" and bool(params.get("thread_ts"))


@pytest.mark.parametrize("lost_status", [0, 504], ids=["connection-dropped", "gateway-504"])
def test_findings_whose_post_answers_were_all_lost_are_in_the_channel_once(
    standin, database_file, aws_session, now, lost_status
):
    users = idle_users(10)
    seed_users(aws_session, users, now)
    harness = start_bot(standin, database_file, aws_session)
    standin.lose_answer, standin.lost_status = posts_lost, lost_status
    assert "0 posted, 10 to be posted again" in harness.reply("scan")["text"]
    standin.lose_answer = lambda *_: False
    assert sweep_job(harness.services).endswith(
        "10 found already in Slack, 0 posted, 0 still unposted"
    )
    names = [user.name for user in users]
    assert copies(harness, standin, names) == dict.fromkeys(names, 1)
    (message,) = [m for m in standin.history.in_channel(CHANNEL) if m.get("metadata")]
    assert {harness.finding(name).slack_ts for name in names} == {message["ts"]}
    assert message["metadata"]["event_type"] == "iam_inactive_findings"
    (looked,) = standin.named("conversations.history")
    assert looked.params["include_all_metadata"] in ("1", "true", True)
    standin.clear()
    assert sweep_job(harness.services).endswith("0 posted, 0 still unposted")
    assert not standin.named("chat.postMessage") and not standin.named("conversations.history")


def test_findings_in_a_thread_whose_answers_were_lost_are_found_in_the_thread(
    standin, database_file, aws_session, now
):
    users = idle_users(25)
    seed_users(aws_session, users, now)
    harness = start_bot(standin, database_file, aws_session)
    standin.lose_answer = replies_lost
    assert "0 posted, 25 to be posted again" in harness.reply("scan")["text"]
    standin.lose_answer = lambda *_: False
    standin.clear()
    assert sweep_job(harness.services).endswith(
        "25 found already in Slack, 0 posted, 0 still unposted"
    )
    names = [user.name for user in users]
    assert copies(harness, standin, names) == dict.fromkeys(names, 1)
    (looked,) = standin.named("conversations.replies")
    assert looked.params["ts"] == harness.finding("idle-07").slack_thread_ts
    assert not standin.named("chat.postMessage")


def test_without_the_history_scope_the_sweep_posts_again_and_says_why(
    standin, database_file, aws_session, now, caplog
):
    seed_users(aws_session, idle_users(3), now)
    standin.scopes = manifest_scopes() - {"channels:history"}
    harness = start_bot(standin, database_file, aws_session)
    standin.lose_answer = posts_lost
    harness.reply("scan")
    standin.lose_answer = lambda *_: False
    assert sweep_job(harness.services).endswith("3 posted, 0 still unposted")
    assert copies(harness, standin, ["idle-00"]) == {"idle-00": 2}  # the cost of not looking
    assert any("missing_scope" in record.getMessage() for record in caplog.records)


def test_a_message_slack_could_not_take_for_the_moment_is_not_split_and_is_posted_later(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, idle_users(3), now)
    harness = start_bot(standin, database_file, aws_session)
    standin.server_errors["chat.postMessage"] = 2  # the summary and the findings' message
    assert "0 posted, 3 to be posted again" in harness.reply("scan")["text"]
    assert not standin.named("chat.postMessage")  # never re-sent one by one
    assert sweep_job(harness.services).endswith("3 posted, 0 still unposted")
    assert copies(harness, standin, ["idle-00", "idle-02"]) == {"idle-00": 1, "idle-02": 1}


def test_one_finding_slack_refuses_does_not_hold_back_the_others_and_is_not_retried(
    standin, database_file, aws_session, now, caplog
):
    users = (*idle_users(4), ODD)
    seed_users(aws_session, users, now)
    harness = start_bot(standin, database_file, aws_session)
    standin.refused_content[REFUSED_OWNER] = "invalid_blocks"
    caplog.set_level(logging.WARNING)
    answer = harness.reply("scan")["text"]
    assert "4 posted" in answer and "1 refused by Slack" in answer
    good = [user.name for user in users if user is not ODD]
    assert copies(harness, standin, [*good, ODD.name]) == {**dict.fromkeys(good, 1), ODD.name: 0}
    assert all(harness.finding(name).slack_ts for name in good)
    assert harness.finding(ODD.name).slack_ts is None
    refused = [c for c in standin.named("chat.postMessage") if not c.answer["ok"]]
    assert [c.text_of_blocks().count(ActionId.DISABLE) for c in refused] == [5, 1]
    (said,) = [c for c in standin.posted(CHANNEL) if "refused" in c.params["text"]]
    assert "odd-owner" in said.params["text"] and "invalid_blocks" in said.params["text"]
    assert DEMO_ACCOUNT_ID in said.params["text"]
    assert ("post_refused", "bot", "Slack answered invalid_blocks") in harness.actions_of(
        harness.finding(ODD.name)
    )
    assert any(
        "odd-owner" in record.getMessage() and "invalid_blocks" in record.getMessage()
        for record in caplog.records
    )
    posts, rows = len(standin.named("chat.postMessage")), audit_rows(harness)
    for _ in range(3):
        assert sweep_job(harness.services).endswith("0 posted, 0 still unposted")
    assert len(standin.named("chat.postMessage")) == posts and audit_rows(harness) == rows


def test_in_a_large_scans_thread_a_refused_finding_is_told_in_the_summary(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (*idle_users(14), ODD), now)
    harness = start_bot(standin, database_file, aws_session)
    standin.refused_content[REFUSED_OWNER] = "msg_too_long"
    assert "14 posted" in harness.reply("scan")["text"]
    (summary,) = standin.posted(CHANNEL)
    final = [c for c in standin.named("chat.update") if c.params["ts"] == summary.answer["ts"]]
    assert "14 of 15 findings are in this thread; Slack refused 1" in final[-1].text_of_blocks()
    in_thread = standin.posted(CHANNEL, summary.answer["ts"])
    assert sum(c.text_of_blocks().count(ActionId.DISABLE) for c in in_thread) == 14
    assert any("msg_too_long" in c.params["text"] for c in in_thread)


def test_the_channel_is_read_page_by_page_and_threads_alone(standin):
    client = WebClient(token="xoxb-test", base_url=standin.url)
    count = 2 * HISTORY_PAGE + 50

    def post(number: int, thread: str | None = None) -> str:
        metadata = findings_metadata([f"f{number}", f"g{number}"], scan_id=7)
        return client.chat_postMessage(
            channel=CHANNEL, text="x", thread_ts=thread, metadata=metadata
        )["ts"]

    posted = [post(number) for number in range(count)]
    replies = [post(count + number, thread=posted[0]) for number in range(3)]
    found = posted_findings(client, CHANNEL, oldest=0)
    assert found == {f"{kind}{n}": ts for n, ts in enumerate(posted) for kind in "fg"}
    assert len(standin.named("conversations.history")) == 3
    in_thread = posted_findings(client, CHANNEL, thread_ts=posted[0])
    assert set(in_thread.values()) == {posted[0], *replies}


@pytest.mark.parametrize(
    ("method", "error", "again"),
    [
        ("chat.postMessage", RemoteDisconnected("closed unanswered"), False),
        ("chat.postMessage", ConnectionResetError(), False),
        ("chat.postMessage", URLError(ConnectionRefusedError()), True),  # never reached Slack
        ("chat.update", RemoteDisconnected("closed unanswered"), True),  # the same twice is once
    ],
)
def test_a_post_is_tried_again_after_a_connection_error_only_if_it_never_reached_slack(
    method, error, again
):
    request = HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})
    assert ConnectionRetry().can_retry(state=RetryState(), request=request, error=error) is again
