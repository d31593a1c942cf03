"""An owner's silence counts only once their DM has reached them: a new owner whose DM failed is
the one asked again (not the old owner), and AUTO_DISABLE_AFTER_DAYS never removes a password on
the silence of an owner the bot never reached; the approvers are told which it is."""

from __future__ import annotations

import pytest

from bot.application.jobs import follow_up_job
from bot.aws.demo import seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import OWNED, has_password, start_bot
from tests.integration.test_schedules import days_ago
from tests.support.bot_harness import CHANNEL, OWNER

DM = "D0OWNER"
NEW_OWNER = "U0NEWOWNER"
NEW_DM = "D0NEWOWNER"


def posts_in(standin, channel: str) -> list[str]:
    return [
        call.params.get("text", "")
        for call in standin.named("chat.postMessage")
        if call.answer.get("ok") and call.params.get("channel") == channel
    ]


def owner_changed_with_dm_refused(bot, standin, aws_session) -> None:
    """Disable pressed; the re-check at the owner's confirmation finds a new owner, whose DM
    Slack then refuses to open ("the reminder will try again")."""
    standin.add_user(NEW_OWNER, "new@example.com")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").tag_user(
        UserName="owned", Tags=[{"Key": "owner", "Value": "new@example.com"}]
    )
    standin.fail["conversations.open"] = "restricted_action"
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    moved = bot.finding("owned")
    assert (moved.state, moved.owner_slack_id) == (State.AWAITING_OWNER, NEW_OWNER)
    assert "the reminder will try again" in standin.said_to(OWNER)


def test_a_new_owner_whose_dm_failed_is_asked_by_the_reminder_and_the_old_owner_is_not(
    bot, standin, aws_session
):
    owner_changed_with_dm_refused(bot, standin, aws_session)
    del standin.fail["conversations.open"]
    days_ago(bot, 3)
    standin.clear()
    follow_up_job(bot.services)
    assert posts_in(standin, DM) == []  # the old owner's consent no longer counts
    assert posts_in(standin, NEW_DM), "the new owner was never asked"
    assert has_password("owned")


@pytest.mark.parametrize("owner_changed", [False, True])
def test_auto_disable_never_removes_on_the_silence_of_an_owner_never_reached(
    standin, database_file, aws_session, now, owner_changed
):
    """Slack never lets the bot DM the owner (the first one, or the new one the re-check
    found): the approvers are told the owner could not be reached, and the password stays until
    someone decides."""
    seed_users(aws_session, (OWNED,), now)
    bot = start_bot(standin, database_file, aws_session, auto_disable_days=10)
    bot.command("scan")
    if owner_changed:
        owner_changed_with_dm_refused(bot, standin, aws_session)
    else:
        standin.fail["conversations.open"] = "restricted_action"
        bot.click(ActionId.DISABLE, bot.finding("owned").id)
    for days in (3, 4, 3):  # reminder, escalation, then AUTO_DISABLE_AFTER_DAYS
        days_ago(bot, days)
        follow_up_job(bot.services)
    assert bot.finding("owned").state == State.AWAITING_OWNER and has_password("owned")
    assert posts_in(standin, NEW_DM if owner_changed else DM) == []
    escalated = [text for text in posts_in(standin, CHANNEL) if "could not be reached" in text]
    assert len(escalated) == 1 and not any(
        "has not answered" in text for text in posts_in(standin, CHANNEL)
    )


def test_auto_disable_waits_for_silence_after_the_dm_arrived_not_after_the_failed_ask(
    standin, database_file, aws_session, now
):
    """The first DM fails and the reminder delivers it: the owner's silence counts from then,
    not from the failed ask."""
    seed_users(aws_session, (OWNED,), now)
    bot = start_bot(
        standin, database_file, aws_session, reminder_days=1, escalate_days=3, auto_disable_days=4
    )
    bot.command("scan")
    standin.fail["conversations.open"] = "restricted_action"
    bot.click(ActionId.DISABLE, bot.finding("owned").id)
    assert bot.finding("owned").dm_ts is None
    del standin.fail["conversations.open"]
    days_ago(bot, 1)
    follow_up_job(bot.services)  # the reminder: the owner's DM arrives now, for the first time
    assert bot.finding("owned").dm_ts is not None
    days_ago(bot, 3)  # three days after the owner first heard of it (four since the ask)
    follow_up_job(bot.services)
    assert has_password("owned"), "removed one day after the owner was first reached"
    assert bot.finding("owned").state == State.AWAITING_OWNER
