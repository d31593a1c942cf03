"""A removal whose DeleteLoginProfile AWS answered so late that it is out of time for its
riding keys: having sent no UpdateAccessKey, it records the removal itself, with AWS's request
id, and the keys as left (an Inactive one is an administrator's, never claimed as the bot's).
A sweep that may not list keys records the password it finds gone, not a failure."""

from __future__ import annotations

from datetime import timedelta

from bot.application.jobs import sweep_job
from bot.aws.iam import LONGEST_REQUEST_SECONDS, AccountIam
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import fail_first, has_password
from tests.integration.test_key_decisions import keys_of, scanned_bot, statuses
from tests.integration.test_removal_race import _shifted
from tests.integration.test_removal_recovery import WHOLE
from tests.support.bot_harness import OWNER

DM = "D0OWNER"


def _confirmed_with_a_late_answer(bot, monkeypatch, before_confirm=None):
    """Disable, then the owner's confirmation, whose DeleteLoginProfile AWS carries out and
    answers so late that the removal is out of time for anything after it."""
    later = _shifted(bot, monkeypatch)
    stuck = timedelta(seconds=bot.services.settings.stuck_after_seconds)
    (finding,) = bot.repository.findings_for_user("whole")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.repository.finding(finding.id).requested_keys  # the riding key is covered
    if before_confirm:
        before_confirm()
    original, answers = AccountIam.delete_login_profile, []

    def answered_slowly(self, user_name):
        answers.append(original(self, user_name))  # AWS removed it, and said so...
        later[0] = stuck - timedelta(seconds=LONGEST_REQUEST_SECONDS - 1)  # ...late
        return answers[-1]

    monkeypatch.setattr(AccountIam, "delete_login_profile", answered_slowly)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert not has_password("whole") and answers and answers[0].request_id
    later[0] = stuck * 3  # the next sweep may take it over
    return finding, answers[0]


def test_a_key_an_admin_switched_off_is_not_claimed_when_aws_answered_the_removal_slowly(
    standin, database_file, aws_session, now, monkeypatch, key_calls
):
    """An administrator switched the riding key off (a suspected leak) after Disable was
    pressed. At AWS's normal speed the removal's key re-check finds it Inactive and leaves it
    (not the bot's: no Reactivate). Here AWS answers DeleteLoginProfile late: the removal,
    out of time, sends no UpdateAccessKey and leaves the finding in `disabling`; the sweep's
    recovery then records the administrator's key as "deactivated (recovered)" by the bot, which
    offers the owner Reactivate on it and KEY_DELETE_AFTER_DAYS deletes it as the bot's."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    (key,) = keys_of("whole")

    def the_administrator_switches_it_off():
        aws_session.client("iam").update_access_key(
            UserName="whole", AccessKeyId=key.access_key_id, Status="Inactive"
        )

    finding, _answer = _confirmed_with_a_late_answer(
        bot, monkeypatch, the_administrator_switches_it_off
    )
    key_calls.clear()
    sweep_job(bot.services)
    done = bot.repository.finding(finding.id)
    assert done.state == State.DISABLED and statuses("whole") == ["Inactive"]
    assert key_calls == []  # the bot never sent an UpdateAccessKey for this key...
    assert not done.deactivated_keys, (  # ...yet records the admin's switch-off as its own
        f"the administrator's key is recorded as the bot's (Reactivate offered): "
        f"{done.deactivated_keys!r}; the owner was told {standin.said_to(OWNER)!r}"
    )


def test_a_removal_answered_late_keeps_its_request_id_when_the_user_has_a_riding_key(
    standin, database_file, aws_session, now, monkeypatch
):
    """6efcdcf: "a DeleteLoginProfile AWS answered is recorded with its request id even when
    the check after it is out of time" (test_removal_race covers a user without keys). With a
    riding key, the keys phase is out of time too, StillUnderWay throws the request id away,
    and the sweep records the removal as a recovery without it: CloudTrail's proof is lost."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    finding, answer = _confirmed_with_a_late_answer(bot, monkeypatch)
    sweep_job(bot.services)
    done = bot.repository.finding(finding.id)
    assert done.state == State.DISABLED
    (event,) = [e for e in bot.repository.history(finding.id) if e.action == State.DISABLED]
    assert (event.details or {}).get("aws_request_id") == answer.request_id, (
        f"the removal's own request id is lost: {event.reason!r} {event.details!r}"
    )


def test_a_password_the_bot_removed_is_not_recorded_failed_when_the_sweep_may_not_list_keys(
    standin, database_file, aws_session, now, monkeypatch
):
    """The live removal removed the password (AWS answered late) and left its keys phase to the
    sweep. ListAccessKeys is now refused (an SCP or a permission boundary changed): the sweep's
    `gone_already` asks the whole live_user, reads the refusal as "not gone", and its removal's
    re-check then records `failed` / "live re-check failed", telling the owner so, though the
    bot's DeleteLoginProfile was carried out and answered. The next scan then resolves the
    finding (no password): the bot's removal is never recorded as the bot's."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    finding, _answer = _confirmed_with_a_late_answer(bot, monkeypatch)
    aws_session.events.register_first(
        "before-send.iam", fail_first("ListAccessKeys", "AccessDenied", 100, 403)
    )
    sweep_job(bot.services)
    settled = bot.repository.finding(finding.id)
    assert not has_password("whole")
    assert settled.state != State.FAILED, (
        f"recorded {settled.decision_note!r}; the owner was told {standin.said_to(OWNER)!r}"
    )
