"""SECURITY_HUB=true: findings in moto's Security Hub (kept to AWS's rules by
tests/support/security_hub.py) as the bot's records say, through a scan, each decision step and
the next scan; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from typing import Any

from botocore.awsrequest import AWSResponse

from bot.application.scans import record_and_publish, scan_lease
from bot.aws.accounts import client
from bot.aws.demo import DEMO_ACCOUNT_ID, DEMO_REGION, DemoUser, seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.asff import GENERATOR_ID
from bot.domain.clock import utc_now
from bot.domain.records import Actor, Role, Surface
from bot.domain.settings import Settings
from bot.domain.workflow import Intent, State
from bot.entry import cli
from bot.entry.bootstrap import build_security_hub
from tests.integration.conftest import (
    IDLE_DORMANT,
    OWNED,
    has_password,
    start_bot,
)
from tests.support.bot_harness import APPROVER
from tests.support.security_hub import findings_of

APPROVING = Actor(APPROVER, Role.APPROVER, Surface.CHANNEL)
PRODUCT = f"arn:aws:securityhub:{DEMO_REGION}:{DEMO_ACCOUNT_ID}:product/{DEMO_ACCOUNT_ID}/default"


def state_in(security_hub: Any, user_name: str) -> tuple[str, str, str]:
    finding = findings_of(security_hub)[user_name]
    return (
        finding["Workflow"]["Status"],
        finding["RecordState"],
        finding["Compliance"]["Status"],
    )


def test_a_scan_publishes_each_finding_in_asff(hub_bot, security_hub):
    found = findings_of(security_hub)
    assert set(found) == {"idle-dormant", "keys-only", "owned"}
    owned = found["owned"]
    row = hub_bot.finding("owned")
    assert owned["Id"] == f"iam-inactive/{DEMO_ACCOUNT_ID}/{row.id}"
    assert (owned["ProductArn"], owned["AwsAccountId"]) == (PRODUCT, DEMO_ACCOUNT_ID)
    assert owned["GeneratorId"] == GENERATOR_ID
    (resource,) = owned["Resources"]
    assert (resource["Type"], resource["Id"]) == ("AwsIamUser", row.user_arn)
    assert (
        "CIS AWS Foundations Benchmark v1.4.0/1.12" in (owned["Compliance"]["RelatedRequirements"])
    )
    assert owned["Severity"]["Label"] == "MEDIUM"  # not privileged, no MFA
    assert state_in(security_hub, "owned") == ("NEW", "ACTIVE", "FAILED")


def test_each_decision_step_is_published(hub_bot, security_hub, iam_calls_to_delete):
    decisions, hub = hub_bot.services.decisions, hub_bot.services.security_hub
    kept = hub_bot.finding("keys-only")
    decisions.keep(kept.id, APPROVING, "the build server's account", 30)
    dormant = hub_bot.finding("idle-dormant")
    decisions.request_disable(dormant.id, APPROVING, None, owner_unreachable=True)
    hub.flush()
    assert state_in(security_hub, "keys-only") == ("SUPPRESSED", "ACTIVE", "FAILED")
    assert state_in(security_hub, "idle-dormant") == ("NOTIFIED", "ACTIVE", "FAILED")

    removal = decisions.confirm_and_remove(dormant.id, Intent.APPROVER_CONFIRM, APPROVING, "ok")
    assert removal.finding.state == State.DISABLED and iam_calls_to_delete == ["idle-dormant"]
    hub.flush()
    assert state_in(security_hub, "idle-dormant") == ("RESOLVED", "ARCHIVED", "PASSED")

    decisions.unkeep(kept.id, APPROVING, "the build server moved to a role")
    hub.flush()
    assert state_in(security_hub, "keys-only") == ("NEW", "ACTIVE", "FAILED")


def test_the_next_scan_resolves_and_archives_what_it_no_longer_finds(
    hub_bot, security_hub, aws_session
):
    client(aws_session, "iam").delete_login_profile(UserName="owned")
    assert "1 resolved" in hub_bot.replies("scan")
    assert state_in(security_hub, "owned") == ("RESOLVED", "ARCHIVED", "PASSED")
    assert state_in(security_hub, "keys-only") == ("NEW", "ACTIVE", "FAILED")


def test_security_hub_not_enabled_is_said_and_stops_nothing(
    standin, database_file, aws_session, security_hub, now, iam_calls_to_delete
):
    security_hub.disable_security_hub()
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    harness = start_bot(standin, database_file, aws_session, security_hub=True)
    reply = harness.replies("scan")
    assert "2 new findings" in reply
    assert "2 of 2 findings not published to Security Hub" in reply
    assert "InvalidAccessException" in reply

    dormant = harness.finding("idle-dormant")
    decisions = harness.services.decisions
    decisions.request_disable(dormant.id, APPROVING, None, owner_unreachable=True)
    removal = decisions.confirm_and_remove(dormant.id, Intent.APPROVER_CONFIRM, APPROVING, "ok")
    harness.services.security_hub.flush()
    assert removal.finding.state == State.DISABLED and not has_password("idle-dormant")


def test_off_by_default_nothing_is_sent(standin, database_file, aws_session, security_hub, now):
    sent = []
    aws_session.events.register("before-call.securityhub", lambda **_: sent.append(1))
    seed_users(aws_session, (IDLE_DORMANT,), now)
    harness = start_bot(standin, database_file, aws_session)
    assert "1 new findings" in harness.replies("scan")
    assert sent == [] and findings_of(security_hub) == {}


def _scan_and_publish(aws_session, repository, **settings: Any):
    configured = Settings(security_hub=True, database_url="unused", **settings)
    hub = build_security_hub(configured, aws_session, utc_now, repository)
    result = scan_accounts(configured, aws_session, clock=utc_now)
    with scan_lease(repository, utc_now, "cli") as lease:
        return record_and_publish(configured, repository, hub, lease, result, "cli")


def test_findings_go_in_batches_of_100(aws_session, repository, security_hub, now):
    crowd = tuple(DemoUser(f"idle-{i:03d}", 400, password_used_days_ago=200) for i in range(250))
    seed_users(aws_session, crowd, now)
    sizes: dict[str, list[int]] = {"BatchImportFindings": [], "BatchUpdateFindings": []}

    def count(params, model, **_kwargs):
        items = params.get("Findings") or params.get("FindingIdentifiers")
        sizes[model.name].append(len(items))

    aws_session.events.register("provide-client-params.securityhub", count)
    record, published = _scan_and_publish(aws_session, repository)
    assert (len(record.new), published.sent, published.failed) == (250, 250, 0)
    assert sizes == {"BatchImportFindings": [100, 100, 50], "BatchUpdateFindings": [100, 100, 50]}
    assert len(findings_of(security_hub)) == 250


class Throttled:
    """Security Hub's answer to too many requests, to the first `times` imports (a before-send
    hook: moto still takes each, as Security Hub may have)."""

    def __init__(self, times: int) -> None:
        self.left = times

    def __call__(self, request, **_kwargs):
        if not request.url.endswith("/findings/import") or self.left == 0:
            return None
        self.left -= 1
        body = json.dumps({"Message": "Rate exceeded"}).encode()

        class Raw:
            def stream(self, **_kwargs):
                yield body

        headers = {"x-amzn-ErrorType": "LimitExceededException"}
        return AWSResponse(request.url, 429, headers, Raw())


def test_throttling_is_retried(aws_session, repository, security_hub, now):
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    throttled = Throttled(2)
    aws_session.events.register_first("before-send.securityhub", throttled)
    _record, published = _scan_and_publish(aws_session, repository)
    assert (published.sent, published.failed, throttled.left) == (2, 0, 0)
    assert state_in(security_hub, "owned") == ("NEW", "ACTIVE", "FAILED")


def test_the_terminal_scan_publishes_and_says_what_was_not(
    aws_session, database_url, security_hub, now, monkeypatch
):
    """`python -m bot scan`, in this process (the AWS it reaches is moto's): a refusal is a
    line on stderr, not a failed scan."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", DEMO_REGION)
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    env = {"DATABASE_URL": database_url, "SECURITY_HUB": "true"}
    out, errors = io.StringIO(), io.StringIO()
    assert cli.scan(env, demo=False, output="json", source=None, stdout=out, stderr=errors) == 0
    assert "Security Hub" not in errors.getvalue()
    assert state_in(security_hub, "owned") == ("NEW", "ACTIVE", "FAILED")

    security_hub.disable_security_hub()
    errors = io.StringIO()
    assert cli.scan(env, demo=False, output="json", source=None, stdout=out, stderr=errors) == 0
    assert "2 of 2 findings not published to Security Hub" in errors.getvalue()
