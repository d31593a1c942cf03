"""KEY_DELETE_AFTER_DAYS (docs/workflow.md, Deleting): the keys a finding deactivated are deleted
only while still Inactive and still that finding's, only while the bot deletes keys (not in a
dry run), and the record says what became of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moto.iam.models import AccessKeyLastUsed

from bot.application.jobs import key_deletion_job, sweep_job
from bot.domain.asff import Hub, document
from bot.domain.evidence import outcome
from bot.domain.workflow import AuditAction, State
from bot.slack.ids import ActionId
from tests.integration.conftest import left_stuck, set_fields, start_bot
from tests.integration.test_key_decisions import (
    IDLE_KEY,
    IN_DM,
    delete_user,
    disable_and_confirm,
    key_finding,
    keys_of,
    scanned_bot,
    statuses,
)
from tests.integration.test_reactivation_attacks import fresh_reports
from tests.support.bot_harness import OWNER


def deactivated_days_ago(bot, finding_id: str, days: int) -> None:
    set_fields(bot.repository, finding_id, closed_at=datetime.now(UTC) - timedelta(days=days))


def key_deletion_bot(standin, database_file, aws_session, now):
    """An idle key deactivated on its owner's consent, by a bot that deletes after 60 days."""
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    assert statuses("idle-key") == ["Inactive"]
    return bot, finding


def test_the_keys_of_a_user_deleted_since_are_settled_once(
    standin, database_file, aws_session, now, key_calls
):
    bot, finding = key_deletion_bot(standin, database_file, aws_session, now)
    delete_user(aws_session, "idle-key")  # ListAccessKeys now answers NoSuchEntity
    deactivated_days_ago(bot, finding.id, 61)
    standin.clear()
    key_deletion_job(bot.services)
    settled = bot.repository.finding(finding.id)
    assert settled.state == State.KEYS_DELETED, settled.decision_note
    assert "already deleted" in standin.said_to(OWNER)
    assert key_deletion_job(bot.services) == "keys of 0 findings deleted or tried"


def test_a_deletion_cut_short_is_not_finished_by_a_bot_restarted_in_dry_run(
    standin, database_file, aws_session, now, key_calls
):
    """The deletion run recorded `deleting_keys`, then its process died; the bot comes back with
    DRY_RUN=true. A dry run deletes nothing: the finding goes back to `disabled`, for a run
    with DRY_RUN off to delete."""
    bot, finding = key_deletion_bot(standin, database_file, aws_session, now)
    left_stuck(bot.repository, finding.id, state=State.DELETING_KEYS)
    dry = start_bot(standin, database_file, aws_session, key_delete_after_days=60, dry_run=True)
    key_calls.clear()
    sweep_job(dry.services)
    settled = dry.repository.finding(finding.id)
    assert settled.state == State.DISABLED and settled.deactivated_keys
    assert key_calls == [] and statuses("idle-key") == ["Inactive"]


def test_a_key_a_later_finding_deactivated_again_keeps_that_findings_window(
    standin, database_file, aws_session, now, key_calls
):
    """Deactivated (finding 1), turned back on in IAM by an administrator 50 days later, found
    idle again and deactivated with a new consent (finding 2): on finding 1's deletion date,
    11 days into finding 2's Reactivate window, the key is finding 2's and is left."""
    bot, first, second = key_held_by_a_later_finding(standin, database_file, aws_session, now, 50)
    deactivated_days_ago(bot, first.id, 61)
    deactivated_days_ago(bot, second.id, 11)
    key_deletion_job(bot.services)
    assert keys_of("idle-key")
    assert bot.repository.finding(first.id).state == State.DISABLED
    assert bot.repository.history(first.id)[-1].action == AuditAction.KEYS_LEFT
    bot.click(ActionId.REACTIVATE, second.id, **IN_DM)
    assert statuses("idle-key") == ["Active"]


def test_a_key_turned_back_on_in_iam_is_left_and_not_recorded_as_deleted(
    standin, database_file, aws_session, now, key_calls
):
    bot, finding = key_deletion_bot(standin, database_file, aws_session, now)
    (key,) = keys_of("idle-key")
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    deactivated_days_ago(bot, finding.id, 61)
    standin.clear()
    key_deletion_job(bot.services)
    assert statuses("idle-key") == ["Active"]
    settled = bot.repository.finding(finding.id)
    assert settled.state == State.DISABLED and not settled.deactivated_keys
    assert outcome(settled) != "deleted"
    redrawn = " ".join(call.text_of_blocks() for call in standin.named("chat.update"))
    assert "active again in IAM" in standin.said_to(OWNER)
    assert "Deleted the access key" not in redrawn
    assert key_deletion_job(bot.services) == "keys of 0 findings deleted or tried"


def key_held_by_a_later_finding(standin, database_file, aws_session, now, days_later: int):
    """Finding 1 deactivated the key; `days_later` an administrator turned it back on in IAM; a
    scan found it idle and finding 2 deactivated it again with a new consent."""
    fresh_reports(aws_session)
    bot, first = key_deletion_bot(standin, database_file, aws_session, now)
    (key,) = keys_of("idle-key")
    deactivated_days_ago(bot, first.id, days_later)
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
    """As for deletion, a key a later finding deactivated again is that finding's to reactivate:
    the earlier finding's Reactivate is refused, saying where to look."""
    bot, first, second = key_held_by_a_later_finding(
        standin,
        database_file,
        aws_session,
        now,
        5,  # well within KEY_REACTIVATE_DAYS (30)
    )
    bot.click(ActionId.REACTIVATE, first.id, **IN_DM)
    assert "reactivate them from that one" in standin.said_to(OWNER)
    held = bot.repository.finding(second.id)
    assert statuses("idle-key") == ["Inactive"], (
        "finding 1's Reactivate turned on the key finding 2 holds; finding 2 is "
        f"{held.state} with {held.deactivated_keys}"
    )


def test_keys_left_is_not_published_to_security_hub_as_an_inactive_key(
    standin, database_file, aws_session, now, key_calls
):
    """Turned back on in IAM, the key is left (`keys_left`, back to `disabled`): Security Hub
    is told it is Active."""
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


def test_a_key_a_person_turned_back_on_and_used_is_not_deleted_once_switched_off_again(
    standin, database_file, aws_session, now, key_calls
):
    """The bot deactivated the key on consent. Someone turned it back on in IAM and used it (so
    it was needed after all), then switched it off again (paused, not retired). On the deletion
    date the bot sees it Inactive and deletes it, irreversibly, on a consent about a key idle
    for months: the key's last use, after the bot's deactivation, shows the consent no longer
    covers it (as an Active key is "left: active again in IAM")."""
    bot, finding = key_deletion_bot(standin, database_file, aws_session, now)
    (key,) = keys_of("idle-key")
    iam = aws_session.client("iam")
    iam.update_access_key(UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active")
    key.last_used = AccessKeyLastUsed(
        timestamp=datetime.now(UTC) - timedelta(days=20), service="s3", region="us-east-1"
    )  # used 40 days after the bot's deactivation
    iam.update_access_key(UserName="idle-key", AccessKeyId=key.access_key_id, Status="Inactive")
    deactivated_days_ago(bot, finding.id, 61)
    key_calls.clear()
    key_deletion_job(bot.services)
    assert keys_of("idle-key"), f"deleted a key used after the consent: {key_calls}"
