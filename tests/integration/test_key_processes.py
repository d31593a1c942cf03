"""A key's deactivation interrupted by SIGKILL between its recording and UpdateAccessKey, settled
once after restart (issue 23). Real processes; AWS is moto over HTTP, Slack a local stand-in."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest
from moto.iam.models import iam_backends

from bot.aws.demo import DEMO_ACCOUNT_ID, DemoKey, DemoUser, seed_users
from bot.domain.workflow import State
from storage.db import make_engine
from storage.repository import Repository
from tests.integration.conftest import set_fields
from tests.integration.test_processes import confirmed_with_removal_held
from tests.support.bot_harness import OWNER
from tests.support.processes import (
    AwsProxy,
    bot_env,
    free_port,
    healthy,
    moto_http,
    slack_settings,
    start,
    stop,
    wait_for,
)

pytestmark = pytest.mark.process

IDLE_KEY = DemoUser(
    "idle-key", 500, password=False, keys=(DemoKey(200),), tags={"owner": "owner@example.com"}
)


def key_status() -> list[str]:
    return [
        key.status for key in iam_backends[DEMO_ACCOUNT_ID]["global"].users["idle-key"].access_keys
    ]


def test_a_deactivation_killed_before_its_call_is_settled_once_after_restart(
    standin, aws_session, tmp_path
):
    seed_users(aws_session, (IDLE_KEY,), datetime.now(UTC))
    with moto_http() as aws_url:
        database_url = f"sqlite:///{tmp_path / 'bot.db'}"
        proxy = AwsProxy(aws_url, held_action="UpdateAccessKey")
        port = free_port()
        env = bot_env(
            proxy.url,
            **slack_settings(standin, database_url),
            PORT=str(port),
            SCAN_LEASE_SECONDS="4",
        )
        repository = Repository(make_engine(database_url))
        log, scanner_log = tmp_path / "bot.log", tmp_path / "scanner.log"
        processes = [start(["run"], env, log), start(["scanner"], env, scanner_log)]
        try:
            finding, _click = confirmed_with_removal_held(port, standin, repository, proxy)
            assert repository.finding(finding.id).state == State.DISABLING
        finally:
            for process in processes:  # the whole machine goes down mid-call
                stop(process, signal.SIGKILL)
        proxy.hold.clear()
        assert key_status() == ["Active"]  # the call never reached AWS
        set_fields(repository, finding.id, state_changed_at=datetime.now(UTC) - timedelta(hours=1))

        processes = [start(["run"], env, log), start(["scanner"], env, scanner_log)]
        try:
            wait_for(lambda: healthy(port), what="the restarted bot")
            wait_for(
                lambda: repository.finding(finding.id).state == State.DISABLED, what="recovery"
            )
        finally:
            for process in processes:
                stop(process)
            proxy.stop()
    assert proxy.forwarded_held == 1
    assert key_status() == ["Inactive"]
    done = repository.finding(finding.id)
    assert [key["key_id"] for key in done.deactivated_keys] == [done.key_id]
    history = [(e.action, e.actor) for e in repository.history(finding.id)]
    assert history[-3:] == [
        ("owner_confirmed", OWNER),
        ("disabling", OWNER),
        ("disabled", "system"),
    ]
