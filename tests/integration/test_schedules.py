"""Schedules: cron parsing, exactly-once claims, owner follow-ups and start-up recovery."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from moto.iam.models import iam_backends

from bot.application.jobs import SWEEP_CRON, follow_up_job, sweep_job
from bot.application.scheduler import ClaimedJob
from bot.aws.demo import DEMO_ACCOUNT_ID, seed_users
from bot.domain.cron import CronError, latest_fire_time, parse_cron
from bot.domain.deadlines import follow_up
from bot.domain.records import Actor, Role, Surface
from bot.domain.workflow import AuditAction, Intent, State
from bot.slack.ids import ActionId
from tests.integration.conftest import OWNED, job_runs, set_fields
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER, BotHarness, bot_settings

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def test_crontab_lines_and_seconds_lines_parse():
    berlin = ZoneInfo("Europe/Berlin")
    trigger = parse_cron("0 9 * * mon", berlin)
    assert trigger.get_next_fire_time(None, T0).astimezone(berlin).strftime("%a %H:%M") == (
        "Mon 09:00"
    )
    assert parse_cron("*/2 * * * * *", UTC).get_next_fire_time(None, T0) == T0
    for bad in ("every monday", "61 * * * *", "* * *"):
        with pytest.raises(CronError):
            parse_cron(bad, UTC)


def test_latest_fire_time_is_the_key_every_replica_agrees_on():
    daily = parse_cron("0 6 * * *", UTC)
    at = datetime(2026, 11, 27, 6, 0, 3, tzinfo=UTC)
    assert latest_fire_time(daily, at) == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert latest_fire_time(daily, at + timedelta(minutes=30)) == latest_fire_time(daily, at)
    assert latest_fire_time(daily, datetime(2026, 11, 27, 5, 0, tzinfo=UTC)) is None


def test_only_one_claim_per_job_and_fire_time(repository):
    assert repository.claim_job("scan", T0, "replica-a", T0) is True
    assert repository.claim_job("scan", T0, "replica-b", T0) is False
    assert repository.claim_job("scan", T0 + timedelta(days=1), "replica-b", T0) is True
    assert repository.claim_job("digest", T0, "replica-b", T0) is True
    assert [run.claimed_by for run in job_runs(repository, "scan")] == ["replica-a", "replica-b"]


def test_claimed_job_runs_each_fire_time_once_across_replicas(repository):
    runs = []
    trigger = parse_cron("0 6 * * *", UTC)
    at = datetime(2026, 11, 27, 6, 0, 1, tzinfo=UTC)
    replicas = [ClaimedJob("scan", trigger, lambda: runs.append(1), repository, lambda: at)] * 2
    for replica in replicas:
        replica()
    assert len(runs) == 1
    (run,) = job_runs(repository, "scan")
    assert run.outcome == "ok" and run.finished_at == at


def test_a_failed_run_is_recorded_and_does_not_block_the_next(repository):
    trigger = parse_cron("0 6 * * *", UTC)
    at = datetime(2026, 11, 27, 6, 0, 1, tzinfo=UTC)

    def boom():
        raise RuntimeError("AWS is down")

    ClaimedJob("scan", trigger, boom, repository, lambda: at)()
    ClaimedJob("scan", trigger, lambda: "2 new", repository, lambda: at + timedelta(days=1))()
    outcomes = [run.outcome for run in job_runs(repository, "scan")]
    assert outcomes == ["failed: RuntimeError: AWS is down", "2 new"]


@pytest.mark.parametrize(
    ("waited", "reminded", "escalated", "auto", "expected"),
    [
        (2, False, False, None, None),
        (3, False, False, None, AuditAction.REMIND),
        (4, True, False, None, None),
        (7, True, False, None, AuditAction.ESCALATE),
        (7, False, False, None, AuditAction.ESCALATE),
        (9, True, True, None, None),
        (9, True, True, 10, None),
        (10, True, True, 10, AuditAction.AUTO_DISABLE),
    ],
)
@pytest.mark.parametrize("owner_reached", [True, False])
def test_follow_up_steps(waited, reminded, escalated, auto, expected, owner_reached):
    now = T0 + timedelta(days=waited)
    step = follow_up(
        T0,
        T0 if reminded else None,
        T0 if escalated else None,
        now,
        reminder_days=3,
        escalate_days=7,
        auto_disable_days=auto,
        owner_reached=owner_reached,
    )
    # An owner never reached is reminded (the DM tried again) and escalated, never removed on.
    assert step == (
        None if expected == AuditAction.AUTO_DISABLE and not owner_reached else expected
    )


# --- through the bot ---------------------------------------------------------------------------


@pytest.fixture
def asked(standin, repository, aws_session, now):
    """The owner of `owned` was asked to confirm by DM."""

    def start(**changes):
        seed_users(aws_session, (OWNED,), now)
        settings = bot_settings(standin, "unused", **changes)
        bot = BotHarness.start(settings, repository, aws_session, standin)
        bot.command("scan")
        bot.click(ActionId.DISABLE, bot.finding("owned").id)
        standin.clear()
        return bot

    return start


def days_ago(bot, days):
    finding = bot.finding("owned")
    asked_at = finding.asked_at - timedelta(days=days)
    set_fields(bot.repository, finding.id, asked_at=asked_at)


def test_unanswered_owner_is_reminded_once_then_approvers_decide(asked, standin):
    bot = asked()
    days_ago(bot, 3)
    assert follow_up_job(bot.services) == "1 remind, 0 escalate, 0 auto_disable"
    (reminder,) = standin.named("chat.postMessage")
    assert reminder.params["channel"] == "D0OWNER" and "Reminder" in reminder.params["text"]
    assert follow_up_job(bot.services).startswith("0 remind")  # only one reminder

    days_ago(bot, 4)
    standin.clear()
    follow_up_job(bot.services)
    (escalation,) = standin.named("chat.postMessage")
    assert "has not answered for 7 days" in escalation.params["text"]
    assert escalation.params["thread_ts"] == bot.finding("owned").slack_ts
    channel_updates = [c for c in standin.named("chat.update") if c.params["channel"] == CHANNEL]
    assert ActionId.DECIDE_NOW in channel_updates[-1].text_of_blocks()

    bot.click(ActionId.DECIDE_NOW, bot.finding("owned").id)
    (modal,) = standin.forms()
    assert "did not answer" in json.dumps(modal)
    finding = bot.finding("owned")
    bot.submit_last_form(APPROVER)
    assert bot.finding("owned").state == State.DISABLED
    actions = [action for action, _a, _r in bot.actions_of(finding)]
    assert actions.count("remind") == 1 and actions.count("escalate") == 1


def test_decide_now_is_refused_before_escalation(asked, standin):
    bot = asked()
    bot.click(ActionId.DECIDE_NOW, bot.finding("owned").id)
    assert standin.forms() == []
    assert bot.finding("owned").state == State.AWAITING_OWNER


def test_auto_disable_removes_through_the_recorded_rechecked_path(asked, standin):
    bot = asked(auto_disable_days=10)
    days_ago(bot, 10)
    follow_up_job(bot.services)
    finding = bot.finding("owned")
    assert finding.state == State.DISABLED and finding.decided_by == "scheduler"
    assert not iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"].password
    reasons = [r for a, _actor, r in bot.actions_of(finding) if a == "owner_confirmed"]
    assert reasons == ["no answer for 10 days (AUTO_DISABLE_AFTER_DAYS)"]


def put_in_flight(bot):
    """As if the process died after recording `disabling`, before calling AWS."""
    finding = bot.finding("owned")
    at = finding.asked_at - timedelta(seconds=bot.services.settings.stuck_after_seconds + 1)
    owner = Actor(OWNER, Role.OWNER, Surface.DM)
    bot.repository.transition(finding.id, Intent.OWNER_CONFIRM, owner, at=at)
    system = Actor(OWNER, Role.SYSTEM, Surface.DM)
    bot.repository.transition(finding.id, Intent.START_REMOVAL, system, at=at)


def test_recovery_removes_a_password_still_there_once(asked, aws_session):
    bot = asked()
    put_in_flight(bot)
    deletes = []
    aws_session.events.register(
        "provide-client-params.iam.DeleteLoginProfile", lambda params, **_: deletes.append(1)
    )
    assert sweep_job(bot.services).startswith("1 moved on")
    assert sweep_job(bot.services).startswith("0 moved on")  # another replica finds nothing
    finding = bot.finding("owned")
    assert finding.state == State.DISABLED and deletes == [1]
    assert bot.actions_of(finding)[-1] == ("disabled", "system", "console password removed")


def test_recovery_records_a_password_already_gone(asked, aws_session):
    bot = asked()
    put_in_flight(bot)
    aws_session.client("iam").delete_login_profile(UserName="owned")
    sweep_job(bot.services)
    finding = bot.finding("owned")
    assert finding.state == State.DISABLED
    assert (
        bot.actions_of(finding)[-1][2]
        == "recovered: the password is gone (its removal was cut short)"
    )


# --- a time zone with daylight saving -------------------------------------------------------


class Fused:
    """A cron trigger that counts its answers and gives up after far more than any fire time
    needs (the sweep's 2-hour look back takes 24): a loop that never ends fails the test instead
    of hanging it."""

    FUSE = 100_000

    def __init__(self, trigger) -> None:
        self._trigger, self.calls = trigger, 0

    def get_next_fire_time(self, previous, now):
        self.calls += 1
        if self.calls > self.FUSE:
            raise RuntimeError(f"get_next_fire_time asked {self.calls} times: it never ends")
        return self._trigger.get_next_fire_time(previous, now)


def test_the_sweep_runs_on_the_night_clocks_go_back(repository):
    """TZ=Europe/Berlin (a documented setting): on 2026-10-25 the clock goes from 03:00 CEST
    back to 02:00 CET. The sweep (every 5 minutes, in TZ) fires at 02:05 CET; naming that fire
    time must end. APScheduler answers the fire time after 02:00 CET with 02:05 CEST, an hour
    earlier, and `latest_fire_time` walks that cycle for ever: the job's thread spins, and with
    max_instances=1 the sweep never runs again (nothing stuck is moved on, nothing unposted is
    posted) until the process restarts."""
    berlin = ZoneInfo("Europe/Berlin")
    trigger = Fused(parse_cron(SWEEP_CRON, berlin))
    at = datetime(2026, 10, 25, 1, 6, tzinfo=UTC)  # 02:06 CET, the second 02:06 that night
    runs = []
    job = ClaimedJob("sweep", trigger, lambda: runs.append(1) or "ok", repository, lambda: at)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            job()
        except BaseException as error:  # noqa: BLE001 (reported below)
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    assert outcome == [], f"the sweep never ran: {outcome}"
    assert runs == [1]
    assert [run.fire_time.astimezone(UTC) for run in job_runs(repository, "sweep")] == [
        datetime(2026, 10, 25, 1, 5, tzinfo=UTC)
    ]
