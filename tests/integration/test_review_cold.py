"""Cold review of 411dfa3..HEAD: failing tests for defects the fixes introduced or left
half-done. Each test states what docs/workflow.md (or the fix's own docstring) promises."""

from __future__ import annotations

from bot.application.jobs import follow_up_job, key_deletion_job
from bot.aws.demo import seed_users
from bot.domain.asff import Hub, document
from bot.domain.workflow import AuditAction, State
from bot.slack.ids import ActionId
from tests.integration.conftest import OWNED, has_password, start_bot
from tests.integration.test_key_decisions import (
    IN_DM,
    disable_and_confirm,
    key_finding,
    keys_of,
    statuses,
)
from tests.integration.test_key_deletion import deactivated_days_ago, key_deletion_bot
from tests.integration.test_reactivation_attacks import fresh_reports
from tests.integration.test_schedules import days_ago

DM = "D0OWNER"


def test_auto_disable_waits_for_silence_after_the_dm_arrived_not_after_the_failed_ask(
    standin, database_file, aws_session, now
):
    """docs/workflow.md: AUTO_DISABLE_AFTER_DAYS removes "only once the owner's DM has reached
    them" ("Silence is no answer from an owner the bot never reached"). Here the first DM fails,
    the reminder (day 3) delivers it, and one day later the password is removed: the days in
    which the owner was never reached count as their silence (follow_up measures from
    asked_at, and nothing records when the DM arrived)."""
    seed_users(aws_session, (OWNED,), now)
    bot = start_bot(standin, database_file, aws_session, auto_disable_days=4)
    bot.command("scan")
    standin.fail["conversations.open"] = "restricted_action"
    bot.click(ActionId.DISABLE, bot.finding("owned").id)
    assert bot.finding("owned").dm_ts is None
    del standin.fail["conversations.open"]
    days_ago(bot, 3)
    follow_up_job(bot.services)  # the reminder: the owner's DM arrives now, for the first time
    assert bot.finding("owned").dm_ts is not None
    days_ago(bot, 1)  # one day after the owner first heard of it
    follow_up_job(bot.services)
    assert has_password("owned"), "removed one day after the owner was first reached"
    assert bot.finding("owned").state == State.AWAITING_OWNER


def _key_held_by_a_later_finding(standin, database_file, aws_session, now):
    """Finding 1 deactivated the key; an administrator turned it back on in IAM; a scan found it
    idle and finding 2 deactivated it again with a new consent."""
    fresh_reports(aws_session)
    bot, first = key_deletion_bot(standin, database_file, aws_session, now)
    (key,) = keys_of("idle-key")
    deactivated_days_ago(bot, first.id, 5)  # well within KEY_REACTIVATE_DAYS (30)
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    bot.command("scan")
    second = key_finding(bot, "idle-key")
    assert second.id != first.id
    disable_and_confirm(bot, second.id)
    assert statuses("idle-key") == ["Inactive"]
    return bot, first, second


def test_reactivate_on_the_earlier_finding_does_not_undo_the_later_findings_deactivation(
    standin, database_file, aws_session, now, key_calls
):
    """docs/workflow.md (Deleting): a key a later finding deactivated again is that finding's
    ("that finding's Reactivate window and deletion date hold"), and delete_keys leaves it
    (`_deactivated_again`). Reactivate has no such check: finding 1's button turns on the key
    finding 2's consent deactivated, and finding 2 still records it as deactivated."""
    bot, first, second = _key_held_by_a_later_finding(standin, database_file, aws_session, now)
    bot.click(ActionId.REACTIVATE, first.id, **IN_DM)
    held = bot.repository.finding(second.id)
    assert statuses("idle-key") == ["Inactive"], (
        "finding 1's Reactivate turned on the key finding 2 holds; finding 2 is "
        f"{held.state} with {held.deactivated_keys}"
    )


def test_keys_left_is_not_published_to_security_hub_as_an_inactive_key(
    standin, database_file, aws_session, now, key_calls
):
    """An idle key's finding whose key was turned back on in IAM: its deletion is `keys_left`
    and the finding goes back to `disabled`. asff.KEY_INACTIVE includes `disabled`, so the
    AwsIamAccessKey resource is published as Status Inactive although the key is Active."""
    bot, finding = key_deletion_bot(standin, database_file, aws_session, now)
    (key,) = keys_of("idle-key")
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    deactivated_days_ago(bot, finding.id, 61)
    key_deletion_job(bot.services)
    settled = bot.repository.finding(finding.id)
    assert bot.repository.history(finding.id)[-1].action == AuditAction.KEYS_LEFT
    assert statuses("idle-key") == ["Active"]
    published = document(settled, Hub("111111111111", "us-east-1"), now)
    key_resource = next(r for r in published["Resources"] if r["Type"] == "AwsIamAccessKey")
    assert key_resource["Details"]["AwsIamAccessKey"]["Status"] == "Active"
