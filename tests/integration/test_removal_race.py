"""A live removal and the sweep never act on one finding at once: a removal sends AWS nothing
once the sweep may take its finding over (STUCK_AFTER_SECONDS after its step, less one
request's longest wait), and leaves the rest to the sweep, which settles it from what AWS
shows. So AWS hears each removal once, and the record says what was done, once."""

from __future__ import annotations

from datetime import timedelta

from botocore.exceptions import ReadTimeoutError

from bot.application.jobs import sweep_job
from bot.aws.iam import AccountIam
from bot.domain.clock import utc_now
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import fail_first, has_password, left_stuck
from tests.integration.test_key_decisions import keys_of, scanned_bot, statuses
from tests.integration.test_removal_recovery import WHOLE
from tests.support.bot_harness import OWNER

DM = "D0OWNER"


def answered_by_aws(aws_session, operation: str) -> list[int]:
    """Each `operation` request AWS answered (not one stopped before it was sent)."""
    answered: list[int] = []
    aws_session.events.register(
        f"after-call.iam.{operation}",
        lambda http_response, **_: answered.append(http_response.status_code),
    )
    return answered


def test_a_removal_out_of_time_sends_nothing_more_and_the_sweep_removes_the_password_once(
    bot, standin, monkeypatch, aws_session
):
    """AWS answered the live removal's re-check so slowly that, by its DeleteLoginProfile, the
    sweep may take the finding over, and does: the sweep removes the password and records it;
    the live request is never sent, and the owner is told it is left to the sweep."""
    later = [timedelta(0)]
    for decisions in (bot.services.decisions, bot.services.decisions.keys):
        monkeypatch.setattr(decisions, "_clock", lambda: utc_now() + later[0])
    stuck = timedelta(seconds=bot.services.settings.stuck_after_seconds)
    sent = answered_by_aws(aws_session, "DeleteLoginProfile")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    original, slow = AccountIam.delete_login_profile, []

    def after_a_slow_recheck(self, user_name):
        if not slow:  # the live removal's: AWS took this long to answer what came before
            slow.append(user_name)
            later[0] = stuck + timedelta(seconds=1)
            sweep_job(bot.services)
        return original(self, user_name)

    monkeypatch.setattr(AccountIam, "delete_login_profile", after_a_slow_recheck)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert not has_password("owned") and len(sent) == 1  # the sweep's request alone
    settled = bot.repository.finding(finding.id)
    assert settled.state == State.DISABLED
    history = [e.action for e in bot.repository.history(finding.id)]
    assert history.count(State.DISABLED) == 1
    told = standin.said_to(OWNER)
    assert "Picked up again" in told and "not finished yet" in told


def test_a_sweep_throttled_beside_a_live_removal_leaves_it_for_later_and_records_no_failure(
    bot, standin, monkeypatch, aws_session
):
    """AWS is throttling: the sweep's look at a finding a live removal holds is throttled past
    its retries. It is left for the next sweep, not recorded `failed`: the live removal then
    removes the password and records it."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda *_: 0)
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    original, held = AccountIam.delete_login_profile, []

    def held_while_the_sweep_runs(self, user_name):
        if not held:
            held.append(user_name)
            left_stuck(bot.repository, finding.id)
            aws_session.events.register_first(
                "before-send.iam", fail_first("GetUser", "Throttling", 8)
            )
            sweep_job(bot.services)
        return original(self, user_name)

    monkeypatch.setattr(AccountIam, "delete_login_profile", held_while_the_sweep_runs)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    settled = bot.repository.finding(finding.id)
    assert not has_password("owned")
    assert settled.state == State.DISABLED, (settled.state, standin.said_to(OWNER))


def test_the_sweeps_removal_sends_nothing_past_the_deadline_of_its_claim(
    bot, monkeypatch, aws_session
):
    """A sweep claims a `disabling` finding (a crash left it; the password is still there);
    AWS answers its look and its removal's re-check slowly, past its claim's deadline: it sends
    no DeleteLoginProfile (another replica's sweep may take the finding over by then), and the
    next sweep removes the password, once."""
    later = [timedelta(0)]
    for decisions in (bot.services.decisions, bot.services.decisions.keys):
        monkeypatch.setattr(decisions, "_clock", lambda: utc_now() + later[0])
    stuck = bot.services.settings.stuck_after_seconds
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    left_stuck(bot.repository, finding.id, state=State.DISABLING)
    sent = answered_by_aws(aws_session, "DeleteLoginProfile")
    original_look, original_live = AccountIam.has_password, AccountIam.live_user
    half_the_wait = timedelta(seconds=stuck // 2 - 10)

    def slow_look(self, user_name):  # the sweep's look: is the password gone already?
        later[0] += half_the_wait
        return original_look(self, user_name)

    def slow_live_user(self, user_name):  # its removal's re-check
        later[0] += half_the_wait
        return original_live(self, user_name)

    monkeypatch.setattr(AccountIam, "has_password", slow_look)
    monkeypatch.setattr(AccountIam, "live_user", slow_live_user)
    sweep_job(bot.services)
    assert has_password("owned") and sent == []
    monkeypatch.setattr(AccountIam, "has_password", original_look)
    monkeypatch.setattr(AccountIam, "live_user", original_live)
    later[0] += timedelta(seconds=stuck + 1)
    sweep_job(bot.services)  # the next sweep
    assert not has_password("owned") and len(sent) == 1
    history = [e.action for e in bot.repository.history(finding.id)]
    assert history.count(State.DISABLED) == 1


def _shifted(bot, monkeypatch):
    later = [timedelta(0)]
    for decisions in (bot.services.decisions, bot.services.decisions.keys):
        monkeypatch.setattr(decisions, "_clock", lambda: utc_now() + later[0])
    return later


def test_a_riding_key_aws_deactivated_but_whose_answer_came_too_late_is_recorded_as_the_bots(
    standin, database_file, aws_session, now, monkeypatch
):
    """DeleteLoginProfile is answered; the riding key's UpdateAccessKey reaches AWS (the key is
    now Inactive) but its answer is lost, by which time the removal is out of time to ask how
    the key is now: it records nothing it does not know, and the sweep, settling the removal
    from what AWS shows, records the key as the bot's (Reactivate may turn it back on)."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    later = _shifted(bot, monkeypatch)
    stuck = timedelta(seconds=bot.services.settings.stuck_after_seconds)
    (finding,) = bot.repository.findings_for_user("whole")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.repository.finding(finding.id).requested_keys
    original = AccountIam.set_access_key_status

    def answer_lost(self, user_name, key_id, *, active):
        original(self, user_name, key_id, active=active)  # AWS carried it out...
        later[0] = stuck - timedelta(seconds=30)  # ...and its answer never came back in time
        raise ReadTimeoutError(endpoint_url="https://iam.amazonaws.com/")

    monkeypatch.setattr(AccountIam, "set_access_key_status", answer_lost)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert not has_password("whole") and statuses("whole") == ["Inactive"]  # the bot did it
    later[0] = stuck * 3
    sweep_job(bot.services)
    done = bot.repository.finding(finding.id)
    assert done.state == State.DISABLED
    (key,) = keys_of("whole")
    told = standin.said_to(OWNER)
    assert [k["key_id"] for k in done.deactivated_keys or ()] == [key.access_key_id], (
        f"the key the bot switched off is not recorded as the bot's (no Reactivate): "
        f"deactivated_keys={done.deactivated_keys!r}; told: {told!r}"
    )
    assert "too slowly to reach it" not in told, told


def test_a_sweep_out_of_time_leaves_a_crashed_removals_riding_key_to_the_next_sweep(
    standin, database_file, aws_session, now, monkeypatch
):
    """A removal removed the password and deactivated the riding key, then its process died
    before recording `disabled`. AWS answers the sweep's look slowly, so its recovery's look at
    the keys is out of time: the finding is left to the next sweep (not closed with the key
    unrecorded), which records the key as the bot's."""
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    later = _shifted(bot, monkeypatch)
    stuck = bot.services.settings.stuck_after_seconds
    (finding,) = bot.repository.findings_for_user("whole")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.repository.finding(finding.id).requested_keys
    left_stuck(bot.repository, finding.id, state=State.DISABLING)
    iam = aws_session.client("iam")
    (key,) = keys_of("whole")
    iam.delete_login_profile(UserName="whole")  # what the crashed removal did...
    iam.update_access_key(UserName="whole", AccessKeyId=key.access_key_id, Status="Inactive")
    original_live, looks = AccountIam.live_user, []

    def slow_live_user(self, user_name):
        looks.append(user_name)
        answer = original_live(self, user_name)
        if len(looks) == 1:  # the sweep's gone_already look: answered slowly
            later[0] += timedelta(seconds=stuck)
        return answer

    monkeypatch.setattr(AccountIam, "live_user", slow_live_user)
    sweep_job(bot.services)
    later[0] += timedelta(seconds=stuck * 3)
    sweep_job(bot.services)  # the next sweep, if anything were left to it
    done = bot.repository.finding(finding.id)
    assert statuses("whole") == ["Inactive"]
    history = [(e.action, e.reason, e.details) for e in bot.repository.history(finding.id)]
    assert done.deactivated_keys, (
        f"state {done.state}: the key the crashed removal deactivated is not recorded as the "
        f"bot's: {history[-1]!r}"
    )
