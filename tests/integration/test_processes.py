"""Real bot processes: two replicas on PostgreSQL sharing a schedule, and a removal interrupted by
SIGKILL and settled after restart. AWS is moto over HTTP, Slack a local stand-in."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import pytest
from moto.iam.models import iam_backends
from sqlalchemy import make_url, select

from bot.aws.demo import DEMO_ACCOUNT_ID, seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from storage import models
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.integration.conftest import (
    IDLE_DORMANT,
    KEYS_ONLY,
    OWNED,
    job_runs,
    left_stuck,
    scans,
    session_of,
)
from tests.integration.mid_removal import confirmed_with_removal_held, killed_mid_removal
from tests.support.bot_harness import (
    APPROVER,
    CHANNEL,
    OWNER,
    SECRET,
    command_body,
)
from tests.support.processes import (
    AwsProxy,
    TcpForwarder,
    bot_env,
    free_port,
    healthy,
    moto_http,
    signed_post,
    slack_settings,
    start,
    stop,
    wait_for,
)
from tests.support.socket_standin import SocketModeStandIn

pytestmark = pytest.mark.process  # each test starts processes of its own

NEVER = "0 0 1 1 *"


@pytest.fixture
def aws_url(aws_session):
    seed_users(aws_session, (OWNED,), datetime.now(UTC))
    with moto_http() as url:
        yield url


@pytest.mark.postgres
def test_two_scanners_on_postgresql_queue_each_fire_time_once_and_run_every_request(
    postgres_url, standin, aws_url, tmp_path
):
    migrate(make_engine(postgres_url))
    env = bot_env(
        aws_url,
        **slack_settings(standin, postgres_url),
        SCAN_CRON="*/2 * * * * *",
        DIGEST_CRON=NEVER,
        REMINDER_CRON=NEVER,
    )
    logs = [tmp_path / f"scanner-{i}.log" for i in (1, 2)]
    scanners = [start(["scanner"], env, log) for log in logs]
    repository = Repository(make_engine(postgres_url))

    def finished_requests() -> list[models.ScanRequest]:
        with session_of(repository) as session:
            query = select(models.ScanRequest).where(models.ScanRequest.finished_at.is_not(None))
            return list(session.scalars(query))

    def competed() -> bool:  # a scanner's start-up sweep may wait a while for the scan lease
        return "runs on another replica" in " ".join(log.read_text() for log in logs)

    try:
        wait_for(lambda: len(finished_requests()) >= 4, timeout=90, what="4 scans run")
        wait_for(competed, timeout=90, what="both scanners to compete for a fire time")
    finally:
        for scanner in scanners:
            stop(scanner)
    claimed = job_runs(repository, "scan")
    with session_of(repository) as session:
        requests = list(session.scalars(select(models.ScanRequest)))
        scans = list(session.scalars(select(models.Scan).where(models.Scan.trigger == "schedule")))
    summaries = [c for c in standin.named("chat.postMessage") if ":mag: Scan" in c.params["text"]]
    # One claim per fire time however many scanners, each queuing one request; a scan serves
    # every request waiting when it starts, and every scan's summary reached the channel.
    assert len({run.fire_time for run in claimed}) == len(claimed)
    assert len(requests) == len([run for run in claimed if run.finished_at])
    assert all(r.outcome.startswith("Scan done") for r in finished_requests())
    assert len(scans) <= len(finished_requests()) and len(summaries) == len(scans)
    assert "Traceback" not in " ".join(log.read_text() for log in logs)


def test_removal_killed_midway_is_settled_once_after_restart(standin, aws_url, tmp_path):
    down = killed_mid_removal(standin, aws_url, tmp_path)
    finding, repository, proxy = down.finding, down.repository, down.proxy
    log, scanner_log = down.log, down.scanner_log
    assert iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"].password  # still there

    # The scanner's start-up sweep settles the removal; the web workers only serve.
    with down.restarted():
        wait_for(  # once per start
            lambda: scanner_log.read_text().count("start-up sweep:") == 2,
            what="the start-up sweep's end",
        )
        assert "start-up sweep" not in log.read_text()
        assert healthy(down.port), "the bot went down after recovering"
    assert proxy.forwarded_held == 1
    assert not iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"].password
    history = [(e.action, e.actor) for e in repository.history(finding.id)]
    assert history[-3:] == [
        ("owner_confirmed", OWNER),
        ("disabling", OWNER),
        ("disabled", "system"),
    ]
    assert "xoxb-test-token" not in log.read_text() + scanner_log.read_text()
    assert "Worker failed to boot" not in log.read_text()


def test_a_scanner_killed_mid_posting_blocks_scans_for_its_lease_and_its_findings_are_posted(
    standin, aws_session, aws_url, tmp_path
):
    """SIGKILL while the scan's findings are being posted (Slack held): the restarted scanner's
    start-up sweep posts them once the dead scanner's lease has lapsed (SCAN_LEASE_SECONDS=4,
    renewed every second), and a scan asked for meanwhile runs right after."""
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY), datetime.now(UTC))
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    env = bot_env(
        aws_url,
        **slack_settings(standin, database_url),
        SCAN_LEASE_SECONDS="4",
        SCAN_CRON=NEVER,
        DIGEST_CRON=NEVER,
        REMINDER_CRON=NEVER,
    )
    migrate(make_engine(database_url))
    repository = Repository(make_engine(database_url))
    log = tmp_path / "scanner.log"

    def queue_scan() -> int:  # as the schedule does
        return repository.request_scan("schedule", "schedule", None, None, datetime.now(UTC))

    def outcome(request: int) -> str | None:
        with session_of(repository) as session:
            return session.get(models.ScanRequest, request).outcome

    posting = standin.hold("chat.postMessage")
    scanner = start(["scanner"], env, log)
    try:
        queue_scan()
        wait_for(lambda: len(repository.open_findings()) == 3, what="the scan to be recorded")
        assert repository.lease_holder("scan", datetime.now(UTC)) is not None  # posting
    finally:
        stop(scanner, signal.SIGKILL)
    killed = time.monotonic()
    del standin.held["chat.postMessage"]
    posting.set()
    assert [f.slack_ts for f in repository.open_findings()] == [None] * 3

    scanner = start(["scanner"], env, log)  # restarted at once, as a platform does
    try:
        asked = queue_scan()
        wait_for(lambda: outcome(asked), timeout=90, what="the scan asked for after the kill")
        scanned_after = time.monotonic() - killed
        assert all(f.slack_ts for f in repository.open_findings())
    finally:
        stop(scanner)
    assert outcome(asked).startswith("Scan done")
    text = log.read_text()
    assert '"start-up sweep: 0 moved on, 3 posted, 0 still unposted"' in text
    assert "left to the running scan" not in text and "Traceback" not in text
    # How long scans were blocked (a few seconds over the lease: the restart, then a scan).
    print(f"scan asked for after the kill done {scanned_after:.1f} s after it")


def test_a_terminal_scan_killed_mid_scan_blocks_a_rerun_only_until_its_lease_lapses(
    aws_url, tmp_path
):
    """`python -m bot scan` SIGKILLed while AWS answers slowly: a rerun waits for the killed
    scan's lease to lapse (SCAN_LEASE_SECONDS=4), then scans, rather than exit 3."""
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(make_engine(database_url))
    repository = Repository(make_engine(database_url))
    proxy = AwsProxy(aws_url, delay=2.0)
    env = bot_env(proxy.url, DATABASE_URL=database_url, SCAN_LEASE_SECONDS="4")
    log = tmp_path / "scan.log"

    def held_by_the_terminal() -> bool:
        running = repository.lease_holder("scan", datetime.now(UTC))
        return running is not None and running.holder.startswith("cli (")

    scan = start(["scan"], env, log)
    try:
        wait_for(held_by_the_terminal, what="the terminal scan to take the lease")
    finally:
        stop(scan, signal.SIGKILL)
    killed = time.monotonic()
    proxy.delay = 0.0
    try:
        rerun = start(["scan"], env, log)
        assert rerun.wait(90) == 0, log.read_text()
    finally:
        stop(rerun)
        proxy.stop()
    rerun_took = time.monotonic() - killed
    assert [scan.trigger for scan in scans(repository)] == ["cli"]  # the rerun's alone
    print(f"the rerun scanned and exited {rerun_took:.1f} s after the kill")


@pytest.mark.postgres
def test_postgresql_cut_mid_removal_every_person_hears_it_and_nothing_is_lost(
    postgres_url, standin, aws_url, tmp_path
):
    """The bot under gunicorn, PostgreSQL behind a TCP hop that is cut while DeleteLoginProfile
    is in flight: the owner hears that the password was removed, clicks and commands meanwhile
    hear that the database is unavailable, /healthz says 503, and after the database is back
    the removal is recorded once."""
    migrate(make_engine(postgres_url))
    direct = make_url(postgres_url)
    hop = TcpForwarder(direct.port or 5432)
    proxy = AwsProxy(aws_url)
    port = free_port()
    through_hop = direct.set(port=hop.port).render_as_string(hide_password=False)
    env = bot_env(proxy.url, **slack_settings(standin, through_hop), PORT=str(port))
    repository = Repository(make_engine(postgres_url))  # the test's own, direct link
    log, scanner_log = tmp_path / "bot.log", tmp_path / "scanner.log"
    bot, scanner = start(["run"], env, log), start(["scanner"], env, scanner_log)
    try:
        finding, click = confirmed_with_removal_held(port, standin, repository, proxy)
        hop.cut()
        proxy.release.set()  # AWS removes the password; the bot cannot record it
        wait_for(lambda: "removed in AWS" in standin.said_to(OWNER), what="the owner told")
        assert not iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"].password
        assert repository.finding(finding.id).state == State.DISABLING

        assert click(ActionId.DISABLE, APPROVER, CHANNEL) == 200
        listing = command_body("list", APPROVER, standin.response_url())
        assert signed_post(port, listing, SECRET) == 200
        wait_for(lambda: "database is unavailable" in standin.said_to(APPROVER), what="a click")
        wait_for(
            lambda: any(
                "database is unavailable" in call.params.get("text", "")
                for call in standin.named("response/respond")
            ),
            what="the command's answer",
        )
        assert not healthy(port)
    finally:
        stop(bot)
        stop(scanner)
        hop.restore()
    # After STUCK_AFTER_SECONDS, the restarted scanner's start-up sweep records the removal once.
    left_stuck(repository, finding.id)
    scanner = start(["scanner"], env, scanner_log)
    try:
        wait_for(lambda: repository.finding(finding.id).state == State.DISABLED, what="recovery")
    finally:
        stop(scanner)
        proxy.stop()
    assert proxy.forwarded_held == 1
    assert (
        repository.history(finding.id)[-1].reason
        == "recovered: the password is gone (its removal was cut short)"
    )
    assert "Traceback" not in log.read_text() + scanner_log.read_text()


def test_socket_mode_is_one_process_that_answers_slack_and_runs_the_scans(
    standin, aws_url, tmp_path
):
    socket = SocketModeStandIn()
    standin.socket_url = socket.url
    settings = slack_settings(standin, f"sqlite:///{tmp_path / 'bot.db'}")
    del settings["SLACK_SIGNING_SECRET"]
    log = tmp_path / "bot.log"
    bot = start(["run"], bot_env(aws_url, **settings, SLACK_APP_TOKEN="xapp-1-test"), log)
    try:
        assert socket.connected.wait(60), "the bot never connected"
        payload = {
            "command": "/iam-inactive",
            "text": "scan",
            "user_id": APPROVER,
            "channel_id": CHANNEL,
            "team_id": "T0TEAM",
            "response_url": standin.response_url(),
            "trigger_id": "1.2.3",
        }
        socket.send({"envelope_id": "e-1", "type": "slash_commands", "payload": payload})
        assert socket.acks.get(timeout=30)["envelope_id"] == "e-1"
        answers = wait_for(
            lambda: [
                c.params["text"]
                for c in standin.named("response/respond")
                if "Scan done" in c.params["text"]
            ],
            what="the scan's answer",
        )
    finally:
        stop(bot)  # SIGTERM, as a platform's redeploy sends it
        socket.stop()
    assert bot.returncode == 0  # stopped on its own terms, its scanner's heartbeat released
    repository = Repository(make_engine(settings["DATABASE_URL"]))
    assert repository.scanners_alive(datetime.now(UTC)) == 0
    assert answers == ["Scan done: 1 new findings, 0 resolved; 1 posted."]
    said = [c.params["text"] for c in standin.named("response/respond")]
    assert "is queued; the scanner starts it" in said[0]  # its own scanner, in this process
    assert "Traceback" not in log.read_text()
