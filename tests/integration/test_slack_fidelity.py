"""Slack as it really behaves (issue 10): text shown as written, findings seen only by those
concerned, refusals told once a minute. Signed requests through the production adapter, against
the stand-in that refuses what Slack refuses."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.application.access import Access, Refused
from bot.application.jobs import sweep_job
from bot.aws.demo import DemoUser, seed_users
from bot.domain.clock import utc_now
from bot.domain.records import Surface
from bot.domain.workflow import Intent, State
from bot.slack.ids import ActionId
from bot.slack.messages.text import literal
from storage.models import Finding
from tests.integration.conftest import set_fields, start_bot
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER, STRANGER, idle_scan
from tests.support.slack_limits import TIER_2
from tests.support.slack_standin import SlackStandIn, fresh_trigger


@pytest.fixture
def database_url(tmp_path):
    """How Slack behaves, not how storage does: a SQLite file is enough."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


def test_hostile_text_reaches_slack_only_as_written(bot, standin):
    hostile = "<!channel> <@U0X> <https://x|y> a < b & c *bold* _it_ ~s~ `tick`"
    finding = bot.finding("owned")
    bot.submit_keep(finding, APPROVER, hostile, "90", "slack-channel")
    bot.command("<!channel>")  # an unknown verb, echoed back
    bot.command("show <@U0X>")  # no such IAM user, echoed back
    sent = json.dumps([call.params for call in standin.calls], ensure_ascii=False)
    for raw in ("<!channel>", "<@U0X>", "<https://x|y>", "`tick`"):
        assert raw not in sent
    update = standin.named("chat.update")[-1].text_of_blocks()
    assert json.dumps(literal(hostile))[1:-1] in update  # in the kept finding's line
    assert "&lt;@U0X&gt;" in standin.named("response/respond")[-1].text_of_blocks()


def test_findings_are_shown_to_approvers_channel_members_and_owners_only(bot, standin):
    for number, text in enumerate(("list", "show owned", "show idle-dormant")):
        outsider = f"U0OUTSIDER{number}"
        assert "Findings are shown to approvers" in bot.reply(text, user=outsider)["text"]
    assert "owned" in json.dumps(bot.reply("list", user=STRANGER))  # a channel member
    assert "History of `owned`" in bot.reply("show owned", user=APPROVER)["text"]
    bot.click(ActionId.DISABLE, bot.finding("owned").id)  # the owner is now known in Slack
    assert "History of `owned`" in bot.reply("show owned", user=OWNER)["text"]  # their own
    assert "Findings are shown" in bot.reply("show idle-dormant", user=OWNER)["text"]


ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"


def idle_in(bot, *accounts: str) -> list[Finding]:
    """`idle-00000`, an idle password in each account (recorded, not posted), by account."""
    scan = idle_scan(dict.fromkeys(accounts, 1), utc_now())
    bot.repository.record_scan(scan, "test", dry_run=False)
    found = {row.account_id: row for row in bot.repository.findings_for_user("idle-00000")}
    return [found[account] for account in accounts]


def test_an_owner_shown_a_name_sees_their_iam_user_of_it_not_another_accounts(bot):
    """`idle-00000` in account A is OWNER's (they were asked about it); in account B it is
    someone else's. OWNER is neither an approver nor in the findings channel, so `show` gives
    them A's finding and its history, and nothing of B's."""
    mine, theirs = idle_in(bot, ACCOUNT_A, ACCOUNT_B)
    set_fields(bot.repository, mine.id, owner_slack_id=OWNER, state=State.AWAITING_OWNER)
    set_fields(bot.repository, theirs.id, owner="someone-else@example.com")
    shown = json.dumps(bot.reply("show idle-00000", user=OWNER))
    assert ACCOUNT_A in shown and ACCOUNT_B not in shown
    assert ACCOUNT_B in json.dumps(bot.reply("show idle-00000", user=APPROVER))


def test_an_owner_known_by_the_owner_tag_alone_may_show_what_their_home_lists(bot):
    """The owner tag holds OWNER's Slack id; an approver kept the finding in the channel, so
    OWNER was never asked. `show` knows owners as their Home tab does (the tag holds their Slack
    id or email, or they were resolved to it in Slack), not only once asked."""
    (kept,) = idle_in(bot, ACCOUNT_A)
    set_fields(bot.repository, kept.id, owner=OWNER, state=State.KEPT, decided_by=APPROVER)
    bot.open_home(OWNER)
    assert "Your keeps (1)" in json.dumps(bot.home_of(OWNER))
    assert "History of `idle-00000`" in bot.reply("show idle-00000", user=OWNER)["text"]


def test_a_person_refused_again_and_again_is_told_once_a_minute_and_counted(bot, standin):
    finding = bot.finding("owned")
    for _ in range(5):
        assert bot.click(ActionId.DISABLE, finding.id, user=STRANGER).status_code == 200
    assert standin.said_to(STRANGER).count("Only approvers") == 1
    refused = [a for a in bot.actions_of(finding) if a[:2] == ("refused", STRANGER)]
    assert len(refused) == 1
    moment = [utc_now()]
    access = Access(
        bot.repository, bot.services.approvers, bot.services.access.viewers, lambda: moment[0]
    )

    def refused_quietly() -> bool:
        with pytest.raises(Refused) as refusal:
            access.acting_on(finding.id, "U0INTRUDER", Surface.CHANNEL, Intent.REQUEST_DISABLE)
        return refusal.value.quiet

    assert [refused_quietly() for _ in range(5)] == [False, True, True, True, True]
    moment[0] += timedelta(minutes=2)
    assert not refused_quietly()
    events = [e for e in bot.repository.history(finding.id) if e.actor == "U0INTRUDER"]
    assert len(events) == 2 and events[-1].details["refused_since_last_recorded"] == 4


CROWD = tuple(
    DemoUser(f"idle-{i:02d}", 400, password_used_days_ago=200, tags={"owner": OWNER})
    for i in range(25)
)


def test_a_large_scan_goes_in_its_summarys_thread_at_the_channels_pace(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, CROWD, now)
    standin.channel_rate = 20  # Slack's one a second, sped up: a post sooner gets a 429
    harness = start_bot(standin, database_file, aws_session, slack_post_interval=0.05)
    harness.command("scan")
    (summary,) = standin.posted(CHANNEL)  # nothing else at the channel's top level
    assert "Posting 25 findings in this thread: 0 so far" in summary.params["text"] + str(
        summary.blocks()
    )
    thread = summary.answer["ts"]
    replies = standin.posted(CHANNEL, thread)
    assert [reply.text_of_blocks().count(ActionId.DISABLE) for reply in replies] == [10, 10, 5]
    assert not standin.named("429/chat.postMessage")  # paced, never refused
    final = [c for c in standin.named("chat.update") if c.params["ts"] == thread][-1]
    assert "All 25 findings are in this thread" in final.text_of_blocks()
    finding = harness.finding("idle-07")
    assert finding.slack_thread_ts == thread and finding.slack_ts == replies[0].answer["ts"]
    harness.click(ActionId.DISABLE, finding.id, message=(finding.slack_ts, thread))
    harness.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    told = standin.named("chat.postEphemeral")  # where the approver clicked, then the outcome
    assert [c.params["text"] for c in told] == [
        "Asked <@U0OWNER> to confirm by DM.",
        "Console password of `idle-07` removed.",
    ]
    assert all(call.params["thread_ts"] == thread for call in told)


def test_a_large_scan_slack_would_not_take_waits_for_the_sweep_and_then_gets_a_thread(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, CROWD, now)
    harness = start_bot(standin, database_file, aws_session)
    standin.fail["chat.postMessage"] = "internal_error"  # Slack's own, passing
    assert "0 posted, 25 to be posted again" in harness.reply("scan")["text"]
    assert len(standin.named("chat.postMessage")) == 1  # the summary, then nothing flooded
    del standin.fail["chat.postMessage"]
    standin.clear()
    assert sweep_job(harness.services).endswith("25 posted, 0 still unposted")
    (head,) = standin.posted(CHANNEL)
    assert "could not be posted earlier" in head.params["text"]
    assert len(standin.posted(CHANNEL, head.answer["ts"])) == 3


def post_large_scan(harness, count: int):
    """A scan that found `count` idle passwords in one account, recorded and posted."""
    result = idle_scan({"111111111111": count}, utc_now())
    record = harness.repository.record_scan(result, "test", dry_run=False)
    return harness.services.announcer.post_scan(result, record)


def test_a_large_scans_summary_shows_progress_and_findings_left_out_go_to_its_thread(
    standin, database_file, aws_session
):
    harness = start_bot(standin, database_file, aws_session)
    assert post_large_scan(harness, 60).posted == 60
    (summary,) = standin.posted(CHANNEL)
    thread = summary.answer["ts"]
    updates = [c.text_of_blocks() for c in standin.named("chat.update") if c.params["ts"] == thread]
    assert len(updates) == 2 and "50 so far" in updates[0] and "All 60 findings" in updates[1]
    # Three more, meant for the same thread, as if the process had died before posting them
    more = idle_scan({"111111111111": 63}, utc_now())
    harness.repository.record_scan(more, "test", dry_run=False)
    for row in harness.repository.open_findings():
        if row.slack_ts is None:
            set_fields(harness.repository, row.id, slack_thread_ts=thread)
    standin.clear()
    assert sweep_job(harness.services).endswith("3 posted, 0 still unposted")
    assert not standin.posted(CHANNEL)  # nothing at the top level
    posted, note = standin.posted(CHANNEL, thread)
    assert (
        posted.text_of_blocks().count(ActionId.DISABLE) == 3 and "Posted 3" in note.params["text"]
    )


def test_posts_sooner_than_the_channel_takes_wait_out_its_retry_after(
    standin, database_file, aws_session
):
    standin.channel_rate = 1  # the bot does not pace itself here: its next post within the
    # second is refused (at 20 a second, a busy machine could space posts enough to pass)
    harness = start_bot(standin, database_file, aws_session)
    assert post_large_scan(harness, 11).posted == 11
    refused = standin.named("429/chat.postMessage")
    (summary,) = standin.posted(CHANNEL)
    assert refused and len(standin.posted(CHANNEL, summary.answer["ts"])) == 2


def test_an_owner_tag_and_a_name_that_would_ping_or_format_reach_slack_as_text(
    standin, database_file, aws_session, now
):
    """Issue 20: this owner tag went raw into the Disable button's confirm dialog, and Slack
    refused the whole message. Issue 21: the name showed in italics. (The stand-in refuses what
    Slack refuses: the fixture fails the test on any of it.)"""
    owner = "<!channel>@x.io"  # an email to the owner tag's rule, so the owner
    admin = DemoUser("_break_glass_admin_", 400, password_used_days_ago=200, tags={"owner": owner})
    seed_users(aws_session, (admin,), now)
    harness = start_bot(standin, database_file, aws_session)
    harness.command("scan")
    (posted,) = [c for c in standin.posted(CHANNEL) if ActionId.DISABLE in c.text_of_blocks()]
    assert posted.params["text"] == "Idle console passwords: `_break_glass_admin_`"
    assert "Ask &lt;!channel&gt;@x.io to confirm removing" in posted.text_of_blocks()
    harness.click(ActionId.DISABLE, harness.finding("_break_glass_admin_").id)
    (form,) = standin.forms()  # no such Slack user: the approver's word is final
    assert "The owner `&lt;!channel&gt;@x.io` has no Slack account" in json.dumps(form)


# --- the stand-in's limits, as Slack's -----------------------------------------------------------


def test_the_standin_answers_a_burst_beyond_a_methods_tier_with_429_and_json():
    standin = SlackStandIn()
    client = WebClient(token="xoxb-test", base_url=standin.url)  # no retry handler
    try:
        for _ in range(TIER_2):
            client.users_list(limit=200)
        with pytest.raises(SlackApiError) as refused:
            client.users_list(limit=200)
    finally:
        standin.stop()
    answer = refused.value.response
    assert answer.status_code == 429 and answer.data == {"ok": False, "error": "ratelimited"}
    assert int(answer.headers["Retry-After"]) >= 1


def test_the_standin_takes_five_answers_through_a_response_url_then_refuses():
    standin = SlackStandIn()
    url = standin.response_url()
    try:
        bodies = [WebhookClient(url).send(text="answer").body for _ in range(6)]
    finally:
        standin.stop()
    assert [json.loads(body)["ok"] for body in bodies] == [True] * 5 + [False]
    assert json.loads(bodies[-1])["error"] == "used_url"
    assert standin.problems == ["response/respond: used_url"]  # a test's bot would fail


def test_the_standin_opens_one_view_per_trigger():
    standin = SlackStandIn()
    client = WebClient(token="xoxb-test", base_url=standin.url)
    text = {"type": "plain_text", "text": "Form"}
    view = {"type": "modal", "title": text, "blocks": [{"type": "section", "text": text}]}
    trigger = fresh_trigger()
    try:
        client.views_open(trigger_id=trigger, view=view)
        with pytest.raises(SlackApiError) as refused:
            client.views_open(trigger_id=trigger, view=view)
    finally:
        standin.stop()
    assert refused.value.response["error"] == "exchanged_trigger_id"


def test_the_standin_loses_an_ephemeral_in_a_thread_without_replies():
    standin = SlackStandIn()
    client = WebClient(token="xoxb-test", base_url=standin.url)
    try:
        parent = client.chat_postMessage(channel=CHANNEL, text="a finding")["ts"]
        client.chat_postEphemeral(channel=CHANNEL, user=APPROVER, text="lost", thread_ts=parent)
        client.chat_postMessage(channel=CHANNEL, text="a reply", thread_ts=parent)
        client.chat_postEphemeral(channel=CHANNEL, user=APPROVER, text="seen", thread_ts=parent)
    finally:
        standin.stop()
    assert standin.said_to(APPROVER) == "seen"
    assert len(standin.unseen) == 1  # the standin fixture fails a test whose bot sent it
