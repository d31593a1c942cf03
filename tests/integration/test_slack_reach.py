"""What people see of what the bot says, as Slack shows it (issue 21): outcomes told where the
person will see them, channel edits coalesced, paced and never holding up the scan's reply,
posting paused while the bot is not in the channel, and response URLs used only while Slack
surely takes them."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select, update

from bot.application.jobs import sweep_job
from bot.application.services import nobody_to_wake
from bot.aws.demo import DemoUser, seed_users
from bot.domain.workflow import AuditAction
from storage import models
from tests.integration.conftest import IDLE_DORMANT, OWNED, session_of, start_bot
from tests.support.bot_harness import APPROVER, CHANNEL

PAUSED = "I cannot post in"

# --- outcomes where the person sees them -------------------------------------------------------


def approver_told(standin):
    return [c for c in standin.named("chat.postEphemeral") if c.params.get("user") == APPROVER]


def test_an_outcome_is_told_in_the_channel_when_the_findings_thread_has_no_replies(bot, standin):
    finding = bot.finding("owned")
    bot.submit_keep(finding, APPROVER, "service account until Q3", "90", "slack-channel")
    (told,) = approver_told(standin)
    assert "thread_ts" not in told.params  # Slack shows it in the channel, not in no thread
    assert "Kept the console password of `owned`" in standin.said_to(APPROVER)


def test_an_outcome_is_told_in_the_findings_thread_once_it_has_replies(bot, standin):
    finding = bot.finding("owned")
    reply = {"channel": CHANNEL, "thread_ts": finding.slack_ts, "text": "is this ours?"}
    standin.history.take(f"{time.time():.0f}.999999", reply)  # a person answered in its thread
    bot.submit_keep(finding, APPROVER, "service account until Q3", "90", "slack-channel")
    (told,) = approver_told(standin)
    assert told.params["thread_ts"] == finding.slack_ts
    assert "Kept the console password of `owned`" in standin.said_to(APPROVER)


# --- channel edits -----------------------------------------------------------------------------


def test_a_rescan_redraws_each_message_once_and_replies_before_its_edits(
    standin, database_file, aws_session, now
):
    crowd = tuple(DemoUser(f"idle-{i:02d}", 400, password_used_days_ago=200) for i in range(30))
    seed_users(aws_session, crowd, now)
    harness = start_bot(standin, database_file, aws_session)
    harness.command("scan")
    messages = sorted({harness.finding(user.name).slack_ts for user in crowd})
    assert len(messages) == 3  # 10 findings a message
    for user in crowd:
        aws_session.client("iam").delete_login_profile(UserName=user.name)
    standin.clear()
    held = standin.hold("chat.update")
    threading.Timer(5, held.set).start()  # a bot that waits for its edits waits this long
    harness.command("scan")
    (done,) = [c for c in standin.named("response/respond") if "Scan done" in c.params["text"]]
    assert "30 resolved" in done.params["text"]
    assert not held.is_set() and not standin.named("chat.update")  # the reply came first
    held.set()
    assert harness.services.announcer.edits.wait(30)
    updates = standin.named("chat.update")
    assert sorted(call.params["ts"] for call in updates) == messages  # one edit a message
    assert all(call.text_of_blocks().count("Resolved") == 10 for call in updates)
    assert not standin.named("429/chat.update")


def test_an_edit_slack_answers_429_is_sent_after_the_wait(bot, standin, aws_session):
    standin.rate_limited["chat.update"] = 4  # beyond the client's 3 retries: the bot waits too
    aws_session.client("iam").delete_login_profile(UserName="owned")
    bot.command("scan")
    standin.wait_for("chat.update", timeout=20)
    (update_call,) = standin.named("chat.update")
    assert "Resolved: `console password removed`" in update_call.text_of_blocks()
    assert len(standin.named("429/chat.update")) == 4


# --- the bot not in the channel ----------------------------------------------------------------


def pause_events(repository) -> list[str]:
    actions = (AuditAction.POSTING_PAUSED, AuditAction.POSTING_RESUMED, AuditAction.POST_FAILED)
    with session_of(repository) as session:
        query = select(models.AuditEvent.action).where(models.AuditEvent.action.in_(actions))
        return list(session.scalars(query.order_by(models.AuditEvent.id)))


def test_a_channel_without_the_bot_pauses_posting_until_it_is_invited(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    standin.absent_from.add(CHANNEL)
    harness = start_bot(standin, database_file, aws_session)
    assert f"2 waiting: I am not in <#{CHANNEL}>" in harness.replies("scan")
    for _ in range(2):  # the sweep and the next scan try nothing while the bot is not invited
        sweep_job(harness.services)
        harness.command("scan")
    tried = [c for c in standin.named("chat.postMessage") if c.params["channel"] == CHANNEL]
    assert len(tried) == 1 and tried[0].answer["error"] == "not_in_channel"
    assert not standin.named("conversations.history")
    assert pause_events(harness.repository) == [AuditAction.POSTING_PAUSED]
    assert standin.said_to(APPROVER).count(PAUSED) == 1  # told once, by DM
    harness.open_home(APPROVER)
    assert PAUSED in json.dumps(harness.home_of(APPROVER))

    standin.absent_from.clear()  # an approver invites the bot: Slack says so
    joined = {"type": "member_joined_channel", "user": "UBOT", "channel": CHANNEL}
    harness.event(joined | {"channel_type": "C", "inviter": APPROVER, "event_ts": "1.1"})
    posted = " ".join(call.text_of_blocks() for call in standin.posted(CHANNEL))
    assert "idle-dormant" in posted and "owned" in posted
    assert harness.finding("owned").slack_ts and harness.finding("idle-dormant").slack_ts
    assert pause_events(harness.repository) == [
        AuditAction.POSTING_PAUSED,
        AuditAction.POSTING_RESUMED,
    ]
    harness.open_home(APPROVER)
    assert PAUSED not in json.dumps(harness.home_of(APPROVER))


def test_someone_else_joining_the_channel_resumes_nothing(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    standin.absent_from.add(CHANNEL)
    harness = start_bot(standin, database_file, aws_session)
    harness.command("scan")
    harness.event({"type": "member_joined_channel", "user": APPROVER, "channel": CHANNEL})
    assert harness.services.announcer.presence.paused() is not None
    assert pause_events(harness.repository) == [AuditAction.POSTING_PAUSED]


# --- response URLs -----------------------------------------------------------------------------


def test_a_scan_run_25_minutes_after_its_command_answers_by_dm(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    harness.services.scan_queued = nobody_to_wake  # it waits in the queue (scans before it)
    assert "queued" in harness.replies("scan")
    with session_of(harness.repository) as session, session.begin():
        session.execute(update(models.ScanRequest).values(requested_at=now.replace(year=2000)))
    standin.response_urls.age(26 * 60)  # Slack would still take it, but not for long
    standin.clear()
    assert harness.scanner.run_pending() == 1
    assert not standin.named("response/respond")
    assert "Scan done: 2 new findings" in standin.said_to(APPROVER)
