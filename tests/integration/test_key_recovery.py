"""Recovery of a key removal a crash cut short (the sweep, docs/operations.md#recovery): only a
removal asked for real can have been carried out before the crash, so what a dry run's request
finds done in AWS is not taken for the bot's; and a user deleted meanwhile settles the finding
rather than failing it on every sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.application.jobs import key_deletion_job, sweep_job
from bot.aws.demo import DemoKey, DemoUser
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import fail_first, left_stuck, set_fields, start_bot
from tests.integration.test_key_decisions import (
    IDLE_KEY,
    IN_DM,
    OWNER_TAG,
    crashed_while_deactivating,
    delete_user,
    key_bot,  # noqa: F401 (a fixture)
    key_finding,
    keys_of,
    scanned_bot,
    statuses,
)
from tests.support.bot_harness import OWNER


def test_a_deactivation_cut_short_whose_user_was_deleted_is_aborted_by_the_sweep(
    key_bot,  # noqa: F811 (the fixture)
    aws_session,
    key_calls,
):
    finding = key_finding(key_bot, "idle-key")
    (key,) = keys_of("idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    crashed_while_deactivating(key_bot, finding.id, key.access_key_id)
    delete_user(aws_session, "idle-key")  # ListAccessKeys now answers NoSuchEntity
    key_calls.clear()  # the test's own
    sweep_job(key_bot.services)
    settled = key_bot.repository.finding(finding.id)
    assert settled.state == State.ABORTED, settled.decision_note
    assert key_calls == []


def test_a_dry_run_consent_whose_password_someone_removed_deactivates_no_key_for_real(
    standin, database_file, aws_session, now, key_calls
):
    """Confirmed in a dry run, left in `disabling` by a crash; an administrator removed the
    password by hand; the bot comes back with DRY_RUN off. The dry run's consent removes
    nothing: the finding is decided again, its riding key left Active."""
    whole = DemoUser("whole", 600, password_used_days_ago=300, keys=(DemoKey(300),), tags=OWNER_TAG)
    dry = scanned_bot(standin, database_file, aws_session, now, whole, dry_run=True)
    (finding,) = dry.repository.findings_for_user("whole")
    dry.click(ActionId.DISABLE, finding.id)
    dry.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    assert dry.repository.finding(finding.id).requested_dry_run is True
    left_stuck(dry.repository, finding.id, state=State.DISABLING, closed_at=None)
    aws_session.client("iam").delete_login_profile(UserName="whole")
    real = start_bot(standin, database_file, aws_session)
    key_calls.clear()
    sweep_job(real.services)
    assert real.repository.finding(finding.id).state == State.OPEN
    assert key_calls == [] and statuses("whole") == ["Active"]


def test_a_key_switched_off_by_hand_during_a_dry_run_is_not_taken_for_the_bots(
    standin, database_file, aws_session, now, key_calls
):
    """A dry run never deactivates, so a key found Inactive after a dry run's deactivation was
    cut short was switched off by someone else: the re-check aborts the finding, and the key is
    not on record as the bot's (for Reactivate, or for KEY_DELETE_AFTER_DAYS once DRY_RUN is
    off)."""
    dry = scanned_bot(
        standin, database_file, aws_session, now, IDLE_KEY, dry_run=True, key_delete_after_days=60
    )
    finding = key_finding(dry, "idle-key")
    (key,) = keys_of("idle-key")
    dry.click(ActionId.DISABLE, finding.id)
    crashed_while_deactivating(dry, finding.id, key.access_key_id, dry_run=True)
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Inactive"
    )  # an administrator, by hand
    sweep_job(dry.services)
    settled = dry.repository.finding(finding.id)
    assert settled.state == State.ABORTED and not settled.deactivated_keys
    # Two months on, the bot runs for real.
    real = start_bot(standin, database_file, aws_session, key_delete_after_days=60)
    set_fields(real.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    key_calls.clear()
    key_deletion_job(real.services)
    assert key_calls == [] and keys_of("idle-key")


def test_a_deactivation_cut_short_that_aws_refuses_to_show_is_failed_and_told(
    key_bot,  # noqa: F811 (the fixture)
    aws_session,
    standin,
    key_calls,
):
    """The bot's role lost iam:ListAccessKeys: waiting will not mend AccessDenied, so the sweep
    records the removal failed (Disable may be pressed again) and says so, rather than trying
    for ever in `disabling`."""
    finding = key_finding(key_bot, "idle-key")
    (key,) = keys_of("idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    crashed_while_deactivating(key_bot, finding.id, key.access_key_id)
    aws_session.events.register_first(
        "before-send.iam", fail_first("ListAccessKeys", "AccessDenied", 10_000, 403)
    )
    standin.clear()
    sweep_job(key_bot.services)
    settled = key_bot.repository.finding(finding.id)
    assert settled.state == State.FAILED and "AccessDenied" in settled.decision_note
    assert "AccessDenied" in standin.said_to(OWNER)
    assert key_calls == [] and statuses("idle-key") == ["Active"]
