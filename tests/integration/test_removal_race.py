"""A live removal and the sweep never act on one finding at once: a removal sends AWS nothing
once the sweep may take its finding over (STUCK_AFTER_SECONDS after its step, less one
request's longest wait), and leaves the rest to the sweep, which settles it from what AWS
shows. So AWS hears each removal once, and the record says what was done, once."""

from __future__ import annotations

from datetime import timedelta

from bot.application.jobs import sweep_job
from bot.aws.iam import AccountIam
from bot.domain.clock import utc_now
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import fail_first, has_password, left_stuck
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
