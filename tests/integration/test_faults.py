"""Faults and load at the edges (issue 9): the database down, one scan at a time, findings whose
message failed, odd and oversized requests. Signed requests through the production adapter."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from slack_sdk.models.blocks import ButtonElement

from bot.application import flows
from bot.application.jobs import scan_job, sweep_job
from bot.application.scans import SCAN_LEASE_TIME, scan_lease
from bot.aws.demo import seed_users
from bot.domain.clock import utc_now
from bot.domain.records import LeaseLost
from bot.domain.workflow import State
from bot.slack.ids import ActionId, CallbackId
from storage import models
from storage.db import make_engine
from storage.repository import Repository
from tests.integration.conftest import (
    IDLE_DORMANT,
    KEYS_ONLY,
    OWNED,
    has_password,
    scans,
    session_of,
    start_bot,
)
from tests.support.bot_harness import APPROVER, BotHarness, bot_settings
from tests.support.processes import wait_for


@pytest.fixture
def database_url(tmp_path):
    """Faults of the bot's edges, not of storage: a SQLite file is enough."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


def test_with_the_database_down_every_person_hears_it_and_nothing_breaks(bot, standin):
    finding = bot.finding("owned")
    down = BotHarness.start(
        bot.services.settings,
        Repository(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")),
        bot.services.aws_session,
        standin,
    )
    click = down.click(ActionId.DISABLE, finding.id)
    assert click.status_code == 200
    assert "database is unavailable" in standin.wait_for("chat.postEphemeral").params["text"]
    assert "database is unavailable" in down.reply("list")["text"]
    standin.clear()
    keep = down.submit_keep(finding, APPROVER, "still needed", "90", "slack-channel")
    assert keep.status_code == 200  # the form closes; the approver hears why by DM
    assert "database is unavailable" in standin.said_to(APPROVER)
    assert bot.finding("owned").state == State.OPEN and has_password("owned")


def test_a_message_slack_sdk_will_not_build_is_told_as_the_bots_fault_not_slacks(
    bot, standin, monkeypatch, caplog
):
    """slack_sdk refuses to build a block Slack would refuse (SlackObjectFormationError, a
    SlackClientError) before anything is sent: the person is told it is the bot's fault, not
    that Slack could not be reached, and the bug is logged as an error."""

    def a_button_over_slacks_limit(*_args: object) -> None:
        ButtonElement(text="Next", action_id=ActionId.LIST_NEXT, value="v" * 2001).to_dict()

    monkeypatch.setattr(flows, "list_page", a_button_over_slacks_limit)
    bot.click(ActionId.LIST_NEXT, '{"filter": "dormant", "page": 2}')
    told = standin.said_to(APPROVER)
    assert "a fault of mine" in told and "Slack could not be reached" not in told
    assert [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]


def test_findings_whose_message_failed_are_posted_later(standin, database_file, aws_session, now):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    standin.fail["chat.postMessage"] = (
        "internal_error"  # passing (not_in_channel: test_slack_reach)
    )
    harness.command("scan")
    answer = standin.named("response/respond")[-1]
    assert "3 new findings" in answer.params["text"]
    assert "0 posted, 3 to be posted again" in answer.params["text"]
    assert harness.finding("owned").slack_ts is None
    del standin.fail["chat.postMessage"]
    standin.clear()
    assert sweep_job(harness.services).endswith("3 posted, 0 still unposted")
    (message,) = standin.named("chat.postMessage")
    assert message.text_of_blocks().count(ActionId.DISABLE) == 3
    assert all(harness.finding(name).slack_ts for name in ("owned", "keys-only", "idle-dormant"))


def test_one_scan_at_a_time_and_the_second_asker_hears_whose_is_running(bot, standin, now):
    held_since = now - timedelta(minutes=3)
    assert (
        bot.repository.take_lease(
            "scan", "schedule (replica-b:7)", held_since, now + timedelta(hours=1)
        )
        is None
    )
    scans_before = len(scans(bot.repository))
    answer = bot.reply("scan")["text"]
    assert "started by the schedule at" in answer and "Yours starts when it ends" in answer
    assert len(scans(bot.repository)) == scans_before  # it waits for the lease
    assert scan_job(bot.services).startswith("queued as scan request")
    assert len(scans(bot.repository)) == scans_before
    bot.repository.release_lease("scan", "schedule (replica-b:7)")
    standin.clear()
    assert "Scanning all accounts" in bot.replies("scan")
    # One scan served the three requests waiting; the two people who asked each heard of it.
    assert len(scans(bot.repository)) == scans_before + 1
    done = [c for c in standin.named("response/respond") if "Scan done" in c.params["text"]]
    assert len(done) == 2


def test_a_scan_longer_than_its_lease_keeps_it(bot, now):
    moments = [now]
    lease_time = timedelta(seconds=0.4)  # renewed every 0.1 s of real time

    def lease_expiry():
        with session_of(bot.repository) as session:
            return session.get(models.Lease, "scan").expires_at

    with scan_lease(bot.repository, lambda: moments[0], "cli", lease_time=lease_time):
        moments[0] = now + timedelta(hours=2)  # far beyond the lease taken at `now`
        wait_for(lambda: lease_expiry() > moments[0], what="the lease to be renewed")
        running = bot.repository.take_lease("scan", "schedule (b:1)", moments[0], moments[0])
        assert running is not None and running.holder.startswith("cli")
    assert bot.repository.take_lease("scan", "schedule (b:1)", moments[0], moments[0]) is None


def test_a_scan_waits_for_a_sweep_rather_than_say_a_scan_is_running(bot, now):
    """Every worker sweeps as it starts, holding the lease for moments: a scan asked for then
    runs once the sweep is done."""
    assert (
        bot.repository.take_lease("scan", "sweep (worker-2:9)", now, now + timedelta(hours=1))
        is None
    )
    threading.Timer(1.0, bot.repository.release_lease, ("scan", "sweep (worker-2:9)")).start()
    scans_before = len(scans(bot.repository))
    answer = bot.replies("scan")
    assert "Scanning all accounts" in answer and "still running" not in answer
    assert len(scans(bot.repository)) == scans_before + 1


def test_a_scan_lease_left_by_a_dead_process_expires_within_minutes(bot, now):
    """A scanner killed mid-scan (or a redeploy's SIGKILL) holds up the scans asked for after it
    no longer than the lease's time, which its renewals keep short."""
    assert timedelta(minutes=2) >= SCAN_LEASE_TIME
    killed = now - SCAN_LEASE_TIME - timedelta(seconds=1)  # its last renewal
    bot.repository.take_lease("scan", "slack:U0DEAD (gone:1:x)", killed, killed + SCAN_LEASE_TIME)
    assert "Scanning all accounts" in bot.replies("scan")


def test_nobody_is_told_a_scan_runs_whose_holder_stopped_renewing(bot):
    """A scan killed mid-way: its lease holds for the seconds it has left, but the person who
    asks hears that its process has likely stopped and when theirs starts, and it starts then."""
    now = utc_now()
    gone = "slack:U0DEAD (gone:1:x)"
    bot.repository.take_lease("scan", gone, now - timedelta(minutes=1), now + timedelta(seconds=2))
    scans_before = len(scans(bot.repository))
    answer = bot.replies("scan")
    assert "has not renewed its lease since" in answer and "still running" not in answer
    assert "Scanning all accounts" in answer
    assert len(scans(bot.repository)) == scans_before + 1


def test_the_sweep_posts_what_a_killed_scan_left_once_its_lease_lapses(
    standin, database_file, aws_session, now
):
    """Killed right after a renewal, the scan looks alive: the sweep waits to see it renew, and
    posts its findings once its lease has lapsed instead."""
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    standin.fail["chat.postMessage"] = "internal_error"  # posting fails (not_in_channel pauses)
    harness.command("scan")
    del standin.fail["chat.postMessage"]
    killed = utc_now()
    gone = "schedule (gone:1:x)"
    assert (
        harness.repository.take_lease("scan", gone, killed, killed + timedelta(seconds=3)) is None
    )
    assert sweep_job(harness.services).endswith("3 posted, 0 still unposted")
    assert all(harness.finding(name).slack_ts for name in ("owned", "keys-only", "idle-dormant"))


def test_a_scan_that_lost_its_lease_posts_nothing_more(standin, database_file, aws_session, now):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    standin.fail["chat.postMessage"] = "internal_error"  # posting fails (not_in_channel pauses)
    harness.command("scan")
    del standin.fail["chat.postMessage"]
    standin.clear()
    with scan_lease(
        harness.repository, utc_now, "schedule", lease_time=timedelta(seconds=4)
    ) as lease:
        with session_of(harness.repository) as session, session.begin():  # taken over
            session.get(models.Lease, "scan").holder = "sweep (other:2:abc)"
        assert lease.lost.wait(30)
        with pytest.raises(LeaseLost, match="another process took it over"):
            harness.services.announcer.post_unposted(lease.check)
    assert not standin.named("chat.postMessage")
    assert not any(harness.finding(name).slack_ts for name in ("owned", "keys-only"))


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "12.5", "X-Slack-Signature": "v0=00"},
        {},
    ],
    ids=["empty-timestamp", "float-timestamp", "no-headers"],
)
def test_unsigned_requests_with_odd_headers_get_401(bot, caplog, headers):
    response = bot.web.post(
        "/slack/events", data=b"payload=\xff\xfe", content_type="text/plain", headers=headers
    )
    assert response.status_code == 401
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]


def test_an_oversized_body_is_refused_before_anything_reads_it(bot):
    response = bot.web.post("/slack/events", data=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413


# --- every request is acknowledged before its work -----------------------------------------------


GROUPIE = "U0GROUPIE"


@pytest.fixture
def production(standin, database_file, aws_session, now):
    """Acknowledge first, work after (as gunicorn serves it). GROUPIE is an approver through a
    group, which is first looked up when they act."""
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    standin.groups["S0SECURITY"] = [GROUPIE]
    settings = bot_settings(standin, database_file, slack_approver_group="S0SECURITY")
    harness = BotHarness.start(
        settings,
        Repository(make_engine(database_file)),
        aws_session,
        standin,
        process_before_response=False,
    )
    harness.command("scan")

    def scan_done() -> bool:  # its last word: nothing of the scan reaches Slack after it
        return any("Scan done" in c.params["text"] for c in standin.named("response/respond"))

    wait_for(scan_done, what="the first scan's answer")
    standin.clear()
    return harness


@pytest.mark.parametrize("text", ["scan", "digest", "unkeep owned no longer needed"])
def test_commands_are_acknowledged_before_the_approver_group_answers(production, standin, text):
    group = standin.hold("usergroups.users.list")
    response = production.command(text, user=GROUPIE)
    assert response.status_code == 200 and response.get_data() == b""  # while Slack is held
    assert not standin.named("response/respond")
    group.set()
    answer = standin.wait_for("response/respond")
    assert answer.params["text"]


@pytest.mark.parametrize(
    ("button", "form"), [(ActionId.KEEP, CallbackId.KEEP), (ActionId.DISABLE, CallbackId.CONFIRM)]
)
def test_a_form_opens_first_when_every_other_slack_call_takes_2_s(
    production, standin, button, form
):
    standin.latency, standin.answered_at_once = 2.0, frozenset({"views.open"})
    finding = production.finding("idle-dormant")  # no owner: Disable needs the final word
    assert production.click(button, finding.id, user=GROUPIE).status_code == 200
    filled = standin.wait_for("views.update")
    (placeholder,) = standin.named("views.open")
    assert placeholder.answer["ok"]  # the trigger was fresh: opened before the slow lookup
    order = [call.method for call in standin.calls]
    assert order.index("views.open") < order.index("usergroups.users.list")
    assert "callback_id" not in placeholder.view_text() and form in filled.view_text()
    expected = State.DISABLE_REQUESTED if button == ActionId.DISABLE else State.OPEN
    wait_for(lambda: production.finding("idle-dormant").state == expected, what=expected)


def test_disable_says_in_its_placeholder_that_the_owner_was_asked_when_slack_was_slow(
    production, standin
):
    lookup = standin.hold("users.lookupByEmail")
    assert production.click(ActionId.DISABLE, production.finding("owned").id).status_code == 200
    assert "callback_id" not in standin.wait_for("views.open").view_text()
    lookup.set()
    assert "Asked" in standin.wait_for("views.update").view_text()  # after the request
    assert production.finding("owned").state == State.AWAITING_OWNER


def test_the_keep_form_closes_before_its_write_and_the_keep_lands_after(production, database_url):
    finding = production.finding("idle-dormant")
    with sqlite_write_lock(database_url):  # another writer holds the database
        response = production.submit_keep(
            finding, APPROVER, "service account until Q3", "90", "slack-channel"
        )
        assert response.status_code == 200 and response.get_data() == b""
        assert production.finding("idle-dormant").state == State.OPEN
    wait_for(lambda: production.finding("idle-dormant").state == State.KEPT, what="the keep")


@contextmanager
def sqlite_write_lock(database_url):
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


@pytest.mark.parametrize("button", [ActionId.KEEP, ActionId.DISABLE])
def test_a_placeholder_closed_before_its_form_is_filled_says_nothing(production, standin, button):
    group = standin.hold("usergroups.users.list")  # the lookups outlast Slack's trigger
    finding = production.finding("idle-dormant")  # no owner: Disable's form is the final word
    assert production.click(button, finding.id, user=GROUPIE).status_code == 200
    standin.wait_for("views.open")
    standin.close_views()  # the person closes the placeholder
    group.set()
    refused = wait_for(lambda: standin.named("views.update"), what="the form filled in")
    assert refused[0].answer == {"ok": False, "error": "not_found"}
    production.services.after_ack.shutdown(wait=True)  # the click's work is over
    assert not standin.named("chat.postEphemeral") and not standin.named("chat.postMessage")
    assert production.finding("idle-dormant").state == State.OPEN  # nothing to confirm
