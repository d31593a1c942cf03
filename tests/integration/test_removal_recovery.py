"""A password removal (with a riding idle key) that a crash left in `disabling`, settled by the
sweep when the world changed meanwhile (an administrator switched the key off or deleted the
user, the operator turned KEY_ACTIONS off): the sweep records what the bot did, and only that."""

from __future__ import annotations

from bot.application.jobs import sweep_job
from bot.aws.demo import DemoKey, DemoUser
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import has_password, left_stuck, start_bot
from tests.integration.test_key_decisions import (
    OWNER_TAG,
    delete_user,
    keys_of,
    scanned_bot,
    statuses,
)
from tests.support.bot_harness import OWNER

WHOLE = DemoUser("whole", 600, password_used_days_ago=300, keys=(DemoKey(300),), tags=OWNER_TAG)


def _requested_then_crashed(bot):
    """Disable pressed (the owner asked), then the removal recorded as under way (`disabling`)
    by a process that died an hour ago."""
    (finding,) = bot.repository.findings_for_user("whole")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.repository.finding(finding.id).requested_keys  # the riding key is covered
    left_stuck(bot.repository, finding.id, state=State.DISABLING)
    return finding


def test_a_key_an_admin_switched_off_before_the_bot_reached_it_is_not_recorded_as_the_bots(
    standin, database_file, aws_session, now, key_calls
):
    """The crash came before DeleteLoginProfile: the sweep finds the password still there, so
    the bot never reached the keys (it deactivates them only after the password is gone). An
    administrator switched the riding key off meanwhile (a suspected leak, say). The sweep's
    removal still runs its key step as a *recovery* and records the admin's Inactive key as
    "deactivated (recovered)" by the bot, which makes it the bot's to Reactivate."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    finding = _requested_then_crashed(bot)
    (key,) = keys_of("whole")
    aws_session.client("iam").update_access_key(
        UserName="whole", AccessKeyId=key.access_key_id, Status="Inactive"
    )  # the administrator, by hand
    key_calls.clear()
    sweep_job(bot.services)
    done = bot.repository.finding(finding.id)
    assert done.state == State.DISABLED and not has_password("whole")
    assert key_calls == []  # the bot never touched the key...
    # ...yet records it as its own deactivation:
    assert not done.deactivated_keys, f"claimed as the bot's: {done.deactivated_keys}"


def test_reactivate_turns_on_a_key_an_admin_switched_off_during_a_cut_short_removal(
    standin, database_file, aws_session, now, key_calls
):
    """The consequence: the approver (or the owner) presses Reactivate and the bot sets Active a
    key that an administrator, not the bot, switched off."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    finding = _requested_then_crashed(bot)
    (key,) = keys_of("whole")
    aws_session.client("iam").update_access_key(
        UserName="whole", AccessKeyId=key.access_key_id, Status="Inactive"
    )
    sweep_job(bot.services)
    key_calls.clear()
    bot.click(ActionId.REACTIVATE, finding.id)
    assert statuses("whole") == ["Inactive"], f"the bot turned the admin's key on: {key_calls}"


def test_keys_deactivated_before_a_crash_are_recorded_when_key_actions_is_off_at_recovery(
    standin, database_file, aws_session, now, key_calls
):
    """The crashed process removed the password and deactivated the riding key, then died before
    recording `disabled`. The operator restarts with KEY_ACTIONS=off. The sweep records the
    password's removal but `riding` returns [] under KEY_ACTIONS=off, so the key the bot did
    deactivate is never recorded: no audit of it, no Reactivate, and the owner is told only of
    the password. (A restart in DRY_RUN records it: `recovering` is checked first there.)"""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    finding = _requested_then_crashed(bot)
    (key,) = keys_of("whole")
    iam = aws_session.client("iam")
    iam.delete_login_profile(UserName="whole")  # what the crashed process did
    iam.update_access_key(UserName="whole", AccessKeyId=key.access_key_id, Status="Inactive")
    restarted = start_bot(standin, database_file, aws_session, key_actions="off")
    standin.clear()
    sweep_job(restarted.services)
    done = restarted.repository.finding(finding.id)
    assert done.state == State.DISABLED
    recorded = [entry["key_id"] for entry in done.deactivated_keys or ()]
    told = standin.said_to(OWNER)
    assert recorded == [key.access_key_id], f"the bot's deactivation went unrecorded; told: {told}"
    assert key.access_key_id in told


def test_a_removal_cut_short_whose_user_was_deleted_is_not_recorded_as_the_bots_removal(
    bot, standin, aws_session, iam_calls_to_delete
):
    """Recorded `disabling`, then the process died before DeleteLoginProfile was sent; an
    administrator deleted the whole IAM user meanwhile. GetLoginProfile answers NoSuchEntity (for
    the user), which `gone_already` reads as "the password is gone", so the sweep records
    `disabled` / "console password removed" and tells the owner "Console password ... removed",
    though the bot never removed anything. An idle key's finding in the same situation is
    aborted ("user deleted": test_key_recovery)."""
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    left_stuck(bot.repository, finding.id, state="disabling")
    delete_user(aws_session, "owned")
    standin.clear()
    sweep_job(bot.services)
    settled = bot.repository.finding(finding.id)
    assert iam_calls_to_delete == []  # the bot never sent DeleteLoginProfile
    assert settled.state != State.DISABLED, (
        f"recorded {settled.decision_note!r}; the owner was told {standin.said_to(OWNER)!r}"
    )
