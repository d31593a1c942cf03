"""A cold, hostile review of the access key lifecycle: each test is a defect found in the key
workflow (deactivation, recovery, Reactivate, deletion), shown through the production path
(moto, the bot behind its HTTP adapter, SQLite and PostgreSQL). Each fails until it is mended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.application.jobs import key_deletion_job, sweep_job
from bot.aws.demo import DemoKey, DemoUser
from bot.domain.evidence import outcome
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import has_password, set_fields, start_bot
from tests.integration.test_key_decisions import (
    IDLE_KEY,
    IN_DM,
    OWNER_TAG,
    disable_and_confirm,
    key_bot,  # noqa: F401 (a fixture)
    key_finding,
    keys_of,
    scanned_bot,
    statuses,
)
from tests.integration.test_reactivation_attacks import fresh_reports
from tests.support.bot_harness import OWNER

AN_HOUR_AGO = timedelta(hours=1)


def _left_an_hour_ago(bot, finding_id: str, **fields) -> None:
    """The finding's last step an hour ago (past STUCK_AFTER_SECONDS): the sweep's to move on."""
    set_fields(
        bot.repository, finding_id, state_changed_at=datetime.now(UTC) - AN_HOUR_AGO, **fields
    )


def _delete_user(aws_session, user_name: str) -> None:
    """Someone deletes the IAM user (its keys first, as IAM requires)."""
    iam = aws_session.client("iam")
    for key in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user_name, AccessKeyId=key["AccessKeyId"])
    if has_password(user_name):
        iam.delete_login_profile(UserName=user_name)
    iam.delete_user(UserName=user_name)


# --- a deactivation a crash cut short, whose user is deleted meanwhile ---------------------------


def test_a_key_deactivation_cut_short_whose_user_was_deleted_is_settled_by_the_sweep(
    key_bot,  # noqa: F811 (the fixture)
    aws_session,
):
    """`disabling` is transient: "Nothing stays in a transient state". An idle key's finding left
    there by a crash, whose user someone deleted meanwhile (a plausible AWS answer: NoSuchEntity),
    must be settled (aborted: the user is gone), not retried by every sweep for ever."""
    finding = key_finding(key_bot, "idle-key")
    (key,) = keys_of("idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    # As if the process died right after recording `disabling` with the key's id.
    _left_an_hour_ago(
        key_bot,
        finding.id,
        state=State.DISABLING,
        key_id=key.access_key_id,
        requested_dry_run=False,
    )
    _delete_user(aws_session, "idle-key")
    for _ in range(3):  # three sweeps, each past STUCK_AFTER_SECONDS
        sweep_job(key_bot.services)
        _left_an_hour_ago(key_bot, finding.id)
    key_bot.command("scan")  # a scan does not resolve a finding in `disabling`, by design
    assert key_bot.repository.finding(finding.id).state != State.DISABLING


# --- deletion ------------------------------------------------------------------------------------


def test_keys_whose_user_was_deleted_are_not_failed_for_deletion_every_day(
    standin, database_file, aws_session, now, key_calls
):
    """KEY_DELETE_AFTER_DAYS: a deactivated key whose user someone deleted since is gone, as
    "already deleted" counts it; the deletion must not fail (and tell the people so) on every
    run for ever."""
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    assert statuses("idle-key") == ["Inactive"]
    _delete_user(aws_session, "idle-key")
    set_fields(bot.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    standin.clear()
    key_deletion_job(bot.services)
    settled = bot.repository.finding(finding.id)
    told = standin.said_to(OWNER)
    assert settled.state == State.KEYS_DELETED, (settled.state, settled.decision_note, told)
    assert key_deletion_job(bot.services) == "keys of 0 findings deleted or tried"


def test_a_deletion_cut_short_is_not_carried_out_by_a_bot_restarted_in_dry_run(
    standin, database_file, aws_session, now, key_calls
):
    """ "A deletion cannot be undone: a dry run never makes one" (delete_expired_keys), and
    DRY_RUN "never removes a password or deactivates a key". A deletion run that died after
    recording `deleting_keys`, before DeleteAccessKey, is picked up by the sweep of a bot
    restarted with DRY_RUN=true (as test_dry_run_deletes_no_key restarts it), which deletes."""
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    # The deletion run recorded its step (disabled -> deleting_keys), then the process died.
    _left_an_hour_ago(bot, finding.id, state=State.DELETING_KEYS)
    dry = start_bot(standin, database_file, aws_session, key_delete_after_days=60, dry_run=True)
    key_calls.clear()
    sweep_job(dry.services)
    assert key_calls == [] and statuses("idle-key") == ["Inactive"]


def test_a_key_deactivated_again_by_a_newer_finding_keeps_that_findings_reactivate_window(
    standin, database_file, aws_session, now, key_calls
):
    """Reactivate is offered for KEY_REACTIVATE_DAYS after the deactivation, and deletion is of
    keys "still inactive" KEY_DELETE_AFTER_DAYS after it. A key the bot deactivated (finding 1),
    that an administrator turned back on in IAM, that the bot found idle again and deactivated
    again with a new consent (finding 2) is deleted on finding 1's date, days after finding 2's
    deactivation: finding 2's owner, inside their window, can no longer reactivate it."""
    fresh_reports(aws_session)
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    first = key_finding(bot, "idle-key")
    disable_and_confirm(bot, first.id)
    (key,) = keys_of("idle-key")
    # Fifty days later: an administrator turns it back on in IAM; nobody uses it.
    set_fields(bot.repository, first.id, closed_at=datetime.now(UTC) - timedelta(days=50))
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    bot.command("scan")
    second = key_finding(bot, "idle-key")
    assert second.id != first.id
    disable_and_confirm(bot, second.id)
    assert bot.repository.finding(second.id).state == State.DISABLED
    assert statuses("idle-key") == ["Inactive"]
    # Eleven days on (day 61 of the first finding, day 11 of the second): the deletion run.
    set_fields(bot.repository, first.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    set_fields(bot.repository, second.id, closed_at=datetime.now(UTC) - timedelta(days=11))
    key_deletion_job(bot.services)
    assert keys_of("idle-key"), "deleted inside the second finding's Reactivate window"
    bot.click(ActionId.REACTIVATE, second.id, **IN_DM)
    assert statuses("idle-key") == ["Active"]


# --- a consent given in a dry run -----------------------------------------------------------


def test_a_dry_run_consent_recovered_after_a_restart_for_real_deactivates_no_key(
    standin, database_file, aws_session, now, key_calls
):
    """ "A consent given in a dry run never causes a real removal". A password finding with an
    idle key riding on it, confirmed in a dry run, left in `disabling` by a crash; meanwhile an
    administrator removed the password by hand; the bot comes back with DRY_RUN off. The sweep
    records the removal (the password is gone) and deactivates the riding key for real, on the
    dry run's consent."""
    whole = DemoUser("whole", 600, password_used_days_ago=300, keys=(DemoKey(300),), tags=OWNER_TAG)
    dry = scanned_bot(standin, database_file, aws_session, now, whole, dry_run=True)
    (finding,) = dry.repository.findings_for_user("whole")
    dry.click(ActionId.DISABLE, finding.id)
    dry.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    assert dry.repository.finding(finding.id).requested_dry_run is True
    # As if the dry run's process died after recording `disabling`.
    _left_an_hour_ago(dry, finding.id, state=State.DISABLING, closed_at=None)
    aws_session.client("iam").delete_login_profile(UserName="whole")
    real = start_bot(standin, database_file, aws_session)
    key_calls.clear()
    sweep_job(real.services)
    assert key_calls == [] and statuses("whole") == ["Active"]


def test_a_key_turned_back_on_in_iam_is_not_recorded_or_shown_as_deleted(
    standin, database_file, aws_session, now, key_calls
):
    """A deactivated key an administrator turned back on in IAM is left alone by the deletion
    ("only while still Inactive"); the record must not then say it was deleted. It ends
    `keys_deleted`: the channel line says "Deleted the access key", the evidence export's
    outcome (what an auditor filters on) says "deleted", while the key is there and Active."""
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    (key,) = keys_of("idle-key")
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    set_fields(bot.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    standin.clear()
    key_deletion_job(bot.services)
    assert statuses("idle-key") == ["Active"]  # left alone, as it should be
    settled = bot.repository.finding(finding.id)
    updated = " ".join(
        call.text_of_blocks() for call in standin.named("chat.update") if call.answer.get("ok")
    )
    assert "Deleted the access key" not in updated
    assert outcome(settled) != "deleted", settled.state


def test_a_key_switched_off_by_hand_during_a_dry_run_is_not_recorded_as_the_bots_to_delete(
    standin, database_file, aws_session, now, key_calls
):
    """In a dry run the bot never deactivates a key, so a key found Inactive after a dry-run
    deactivation a crash cut short was switched off by someone else. The sweep records it as the
    bot's own deactivation (`deactivated_keys`), so once DRY_RUN is off KEY_DELETE_AFTER_DAYS
    deletes a key on a dry run's consent."""
    dry = scanned_bot(
        standin, database_file, aws_session, now, IDLE_KEY, dry_run=True, key_delete_after_days=60
    )
    finding = key_finding(dry, "idle-key")
    (key,) = keys_of("idle-key")
    dry.click(ActionId.DISABLE, finding.id)
    # The dry run recorded `disabling` with the key's id, then its process died.
    _left_an_hour_ago(dry, finding.id, state=State.DISABLING, key_id=key.access_key_id)
    assert dry.repository.finding(finding.id).requested_dry_run is True
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Inactive"
    )  # an administrator, by hand
    sweep_job(dry.services)
    # Two months on, the bot runs for real.
    real = start_bot(standin, database_file, aws_session, key_delete_after_days=60)
    set_fields(real.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    key_calls.clear()
    key_deletion_job(real.services)
    assert key_calls == [] and keys_of("idle-key"), real.repository.finding(finding.id).state
