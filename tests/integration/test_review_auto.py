"""A hostile review of the consent and automation path of console-password findings: owners
asked, reminded, escalated, removed without an answer, recovered after a crash, on schedules in a
time zone. Each test is a defect found by attacking that path, through the production HTTP path
(signed requests into Bolt's Flask adapter), moto, the Slack stand-in, SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.application.jobs import SWEEP_CRON, follow_up_job, sweep_job
from bot.application.scheduler import ClaimedJob
from bot.aws.demo import seed_users
from bot.domain.cron import parse_cron
from bot.domain.records import Actor, Role, Surface
from bot.domain.workflow import Intent, State
from bot.slack.ids import ActionId
from tests.integration.conftest import (
    OWNED,
    fail_first,
    has_password,
    job_runs,
    left_stuck,
    set_fields,
    start_bot,
)
from tests.support.bot_harness import CHANNEL, OWNER

DM = "D0OWNER"
NEW_OWNER = "U0NEWOWNER"
NEW_DM = "D0NEWOWNER"


def days_before(bot, user_name: str, days: int) -> None:
    """The owner of `user_name` was asked `days` days earlier than recorded."""
    finding = bot.finding(user_name)
    set_fields(bot.repository, finding.id, asked_at=finding.asked_at - timedelta(days=days))


def posts_in(standin, channel: str) -> list[str]:
    return [
        call.params.get("text", "")
        for call in standin.named("chat.postMessage")
        if call.answer.get("ok") and call.params.get("channel") == channel
    ]


# --- schedules in a time zone with daylight saving ----------------------------------------------


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


# --- a new owner whose DM failed ------------------------------------------------------------------


def test_a_new_owner_whose_dm_failed_is_reminded_and_the_old_owner_is_not(
    bot, standin, aws_session
):
    """The re-check found a new owner; Slack could not open the DM with them ("the reminder will
    try again"). The reminder goes into the OLD owner's DM instead (dm_channel is still theirs),
    and the new owner, who must consent, never hears of it."""
    standin.add_user(NEW_OWNER, "new@example.com")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").tag_user(
        UserName="owned", Tags=[{"Key": "owner", "Value": "new@example.com"}]
    )
    standin.fail["conversations.open"] = "restricted_action"  # the new owner's DM, this once
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    del standin.fail["conversations.open"]
    moved = bot.finding("owned")
    assert (moved.state, moved.owner_slack_id) == (State.AWAITING_OWNER, NEW_OWNER)
    assert has_password("owned")
    assert "the reminder will try again" in standin.said_to(OWNER)

    days_before(bot, "owned", 3)
    standin.clear()
    follow_up_job(bot.services)
    assert not any("Reminder" in text for text in posts_in(standin, DM)), (
        "the old owner, who may no longer answer, was reminded"
    )
    assert any("Reminder" in text for text in posts_in(standin, NEW_DM)), (
        "the new owner was never asked"
    )


def test_auto_disable_does_not_remove_for_a_new_owner_who_was_never_asked(
    standin, database_file, aws_session, now
):
    """The same, carried on: the new owner is never DM'd, the approvers are told they "have not
    answered", and AUTO_DISABLE_AFTER_DAYS removes the password on their silence."""
    seed_users(aws_session, (OWNED,), now)
    bot = start_bot(standin, database_file, aws_session, auto_disable_days=10)
    bot.command("scan")
    standin.add_user(NEW_OWNER, "new@example.com")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").tag_user(
        UserName="owned", Tags=[{"Key": "owner", "Value": "new@example.com"}]
    )
    standin.fail["conversations.open"] = "restricted_action"
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    del standin.fail["conversations.open"]
    for days in (3, 4, 3):  # reminder, escalation, then AUTO_DISABLE_AFTER_DAYS
        days_before(bot, "owned", days)
        follow_up_job(bot.services)
    asked_new_owner = [
        call
        for call in standin.named("chat.postMessage")
        if call.answer.get("ok") and call.params.get("channel") == NEW_DM
    ]
    assert asked_new_owner or has_password("owned"), (
        "removed on the silence of a new owner who was never sent a word"
    )


# --- an owner the DM never reached ---------------------------------------------------------------


def test_auto_disable_does_not_remove_on_the_silence_of_an_owner_never_reached(
    standin, database_file, aws_session, now
):
    """Slack would not let the bot DM the owner, at the request and again at the reminder: the
    owner was never asked. The approvers are told the owner "has not answered for 7 days", and
    AUTO_DISABLE_AFTER_DAYS then removes the password as if the owner had been silent."""
    seed_users(aws_session, (OWNED,), now)
    bot = start_bot(standin, database_file, aws_session, auto_disable_days=10)
    bot.command("scan")
    standin.fail["conversations.open"] = "restricted_action"  # for good
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.finding("owned").state == State.AWAITING_OWNER
    for days in (3, 4, 3):  # reminder, escalation, then AUTO_DISABLE_AFTER_DAYS
        days_before(bot, "owned", days)
        follow_up_job(bot.services)
    assert posts_in(standin, DM) == []  # nothing ever reached the owner
    escalated = [text for text in posts_in(standin, CHANNEL) if "has not answered" in text]
    assert has_password("owned"), (
        f"removed on the silence of an owner who was never asked; the approvers were told "
        f"{escalated}"
    )


# --- recovery when AWS will not say whether the password is there --------------------------------


def put_in_flight(bot) -> None:
    """As if the process died after recording `disabling`, before calling AWS."""
    finding = bot.finding("owned")
    at = datetime.now(UTC) - timedelta(hours=1)
    bot.repository.transition(
        finding.id, Intent.OWNER_CONFIRM, Actor(OWNER, Role.OWNER, Surface.DM), at=at
    )
    system = Actor(OWNER, Role.SYSTEM, Surface.DM)
    bot.repository.transition(finding.id, Intent.START_REMOVAL, system, at=at)


def test_recovery_refused_getloginprofile_does_not_leave_the_finding_disabling_silently(
    bot, standin, aws_session
):
    """A removal interrupted in `disabling`; the bot's role has since lost
    iam:GetLoginProfile (AccessDenied). docs/workflow.md: "Nothing stays in a transient state",
    and a re-check that fails (AccessDenied) is `failed`. The sweep's unguarded has_password
    raises, is logged, and the next sweep does the same, for ever: the finding stays
    `disabling` (no Disable, Keep or scan can move it), and nobody is told."""
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    put_in_flight(bot)
    aws_session.events.register_first(
        "before-send.iam", fail_first("GetLoginProfile", "AccessDenied", 10_000, 403)
    )
    standin.clear()
    for _ in range(3):  # three sweeps, each past STUCK_AFTER_SECONDS
        sweep_job(bot.services)
        left_stuck(bot.repository, finding.id)
    told = [
        call
        for call in standin.calls
        if call.method in ("chat.postMessage", "chat.postEphemeral") and call.answer.get("ok")
    ]
    state = bot.finding("owned").state
    assert state != State.DISABLING or told, (
        f"still {state} after three sweeps, and nobody was told anything"
    )
    assert has_password("owned")
