"""A key's deactivation interrupted by SIGKILL between its recording and UpdateAccessKey, settled
once after restart (issue 23). Real processes; AWS is moto over HTTP, Slack a local stand-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto.iam.models import iam_backends

from bot.aws.demo import DEMO_ACCOUNT_ID, seed_users
from tests.integration.mid_removal import killed_mid_removal
from tests.integration.test_key_decisions import IDLE_KEY
from tests.support.bot_harness import OWNER
from tests.support.processes import moto_http

pytestmark = pytest.mark.process


def key_status() -> list[str]:
    return [
        key.status for key in iam_backends[DEMO_ACCOUNT_ID]["global"].users["idle-key"].access_keys
    ]


def test_a_deactivation_killed_before_its_call_is_settled_once_after_restart(
    standin, aws_session, tmp_path
):
    seed_users(aws_session, (IDLE_KEY,), datetime.now(UTC))
    with moto_http() as aws_url:
        down = killed_mid_removal(standin, aws_url, tmp_path, held_action="UpdateAccessKey")
        finding, repository, proxy = down.finding, down.repository, down.proxy
        assert key_status() == ["Active"]  # the call never reached AWS
        with down.restarted():  # settled by the restarted scanner's start-up sweep
            pass
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
