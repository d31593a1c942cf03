"""Faults and load at the edges (issue 9): the database down, one scan at a time, findings whose
message failed, odd and oversized requests. Signed requests through the production adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.application.jobs import scan_job, sweep_job
from bot.aws.demo import seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from storage.db import make_engine
from storage.repository import Repository
from tests.bot_harness import APPROVER, BotHarness
from tests.conftest import IDLE_DORMANT, KEYS_ONLY, OWNED, has_password, scans, start_bot


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
    listing = down.command("list")
    assert listing.status_code == 200 and "database is unavailable" in listing.get_json()["text"]
    keep = down.submit_keep(finding, APPROVER, "still needed", "90", "slack-channel")
    assert keep.status_code == 200
    assert "database is unavailable" in str(keep.get_json()["errors"])
    assert bot.finding("owned").state == State.OPEN and has_password("owned")


def test_findings_whose_message_failed_are_posted_later(standin, database_file, aws_session, now):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    standin.fail["chat.postMessage"] = "not_in_channel"
    harness.command("scan")
    (answer,) = standin.named("response/respond")
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
    answer = bot.command("scan").get_json()
    assert "started by the schedule at" in answer["text"] and "still running" in answer["text"]
    assert len(scans(bot.repository)) == scans_before
    assert scan_job(bot.services).startswith("skipped: A scan started by the schedule")
    bot.repository.release_lease("scan", "schedule (replica-b:7)")
    assert "Scanning all accounts" in bot.command("scan").get_json()["text"]


def test_a_scan_lease_left_by_a_dead_process_expires(bot, now):
    stale = now - timedelta(hours=2)
    bot.repository.take_lease("scan", "slack:U0DEAD (gone:1)", stale, stale + timedelta(hours=1))
    assert "Scanning all accounts" in bot.command("scan").get_json()["text"]


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
