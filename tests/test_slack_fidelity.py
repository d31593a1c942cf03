"""Slack as it really behaves (issue 10): text shown as written, findings seen only by those
concerned, refusals told once a minute. Signed requests through the production adapter, against
the stand-in that refuses what Slack refuses."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.application.access import Access, Refused
from bot.domain.clock import utc_now
from bot.domain.records import Surface
from bot.domain.workflow import Intent
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import literal
from tests.bot_harness import APPROVER, OWNER, STRANGER


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
    assert "History of owned" in bot.reply("show owned", user=APPROVER)["text"]
    bot.click(ActionId.DISABLE, bot.finding("owned").id)  # the owner is now known in Slack
    assert "History of owned" in bot.reply("show owned", user=OWNER)["text"]  # their own
    assert "Findings are shown" in bot.reply("show idle-dormant", user=OWNER)["text"]


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
