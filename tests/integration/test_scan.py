"""Scanning one account through moto: the report path, the API path, and AWS errors."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from bot.aws import iam as aws
from bot.aws.accounts import client
from bot.aws.demo import ALLOW_ALL, DemoUser, seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.clock import utc_now
from bot.domain.rule import DORMANT, KEYS_ONLY
from bot.domain.settings import Settings
from tests.integration.conftest import SCENARIO, SCENARIO_FINDINGS, fail_first


@pytest.fixture
def scenario(aws_session, now):
    seed_users(aws_session, SCENARIO, now)
    return aws_session


def by_name(result):
    return {finding.user_name: finding for finding in result.candidates}


def test_report_path_finds_the_idle_passwords(scenario, now):
    result = scan_accounts(Settings(), scenario, clock=lambda: now)
    assert result.status == "ok"
    findings = by_name(result)
    assert set(findings) == SCENARIO_FINDINGS
    assert findings["keys-only"].category == KEYS_ONLY
    assert findings["idle-dormant"].category == DORMANT
    assert findings["idle-dormant"].fully_inactive
    assert findings["owned"].owner == "owner@example.com"
    assert findings["never-used-old"].days_idle == 300
    cleared = result.accounts[0].cleared
    assert cleared["exempt"] == "exempt: tag iam-inactive:exempt"
    assert cleared["no-password"] == "console password removed"
    assert cleared["recent-login"] == "password used in the last 90 days"


def test_report_path_uses_a_constant_number_of_iam_calls(scenario, iam_calls, now):
    scan_accounts(Settings(), scenario, clock=lambda: now)
    assert iam_calls.count("GetAccountAuthorizationDetails") == 1
    assert iam_calls.count("GetCredentialReport") == 1
    assert len(iam_calls.operations) <= 5
    assert not {"GetLoginProfile", "ListAccessKeys", "GetUser"} & set(iam_calls.operations)


def test_per_user_tag_lookup_asks_only_for_findings(scenario, iam_calls, now):
    result = scan_accounts(Settings(tag_source="per-user"), scenario, clock=lambda: now)
    assert by_name(result)["owned"].owner == "owner@example.com"
    assert "GetAccountAuthorizationDetails" not in iam_calls.operations
    # the exempt user is a finding candidate too: its tag is what exempts it
    assert iam_calls.count("GetUser") == len(SCENARIO_FINDINGS) + 1
    assert by_name(result)["owned"].user_id.startswith("AIDA")


def test_categories_setting_limits_what_is_reported(scenario, now):
    result = scan_accounts(Settings(categories=frozenset({KEYS_ONLY})), scenario, clock=lambda: now)
    assert set(by_name(result)) == {"keys-only"}
    assert result.accounts[0].cleared["idle-dormant"] == "category dormant is not reported"


def test_ignore_list_exempts_a_user(scenario, now):
    result = scan_accounts(Settings(ignore_users=frozenset({"owned"})), scenario, clock=lambda: now)
    assert "owned" not in by_name(result)


def test_api_path_gives_the_same_findings_as_the_report(scenario, paged_list_users, now):
    from_report = scan_accounts(Settings(), scenario, clock=lambda: now)
    from_api = scan_accounts(Settings(scan_source="api"), scenario, clock=lambda: now)

    def comparable(result):
        return {
            (f.user_name, f.category, f.fully_inactive, f.days_idle, f.owner)
            for f in result.candidates
        }

    assert comparable(from_api) == comparable(from_report)


def test_api_path_follows_list_users_pages(scenario, paged_list_users, iam_calls, now):
    result = scan_accounts(Settings(scan_source="api"), scenario, clock=lambda: now)
    pages = -(-len(SCENARIO) // paged_list_users)
    assert iam_calls.count("ListUsers") == pages > 1
    assert result.accounts[0].users_seen == len(SCENARIO)
    # users the ListUsers facts already clear cost no per-user calls
    assert iam_calls.count("GetLoginProfile") < len(SCENARIO)


def test_api_path_with_latency_and_concurrency_gives_the_same_findings(scenario, now):
    scenario.events.register_first("before-send.iam.*", lambda **_: time.sleep(0.02))
    result = scan_accounts(
        Settings(scan_source="api", user_concurrency=4), scenario, clock=lambda: now
    )
    assert set(by_name(result)) == SCENARIO_FINDINGS


def test_report_generation_limit_and_not_ready_are_waited_out(scenario):
    scenario.events.register_first(
        "before-send.iam.GenerateCredentialReport",
        fail_first("GenerateCredentialReport", "LimitExceeded", 2, status=409),
    )
    scenario.events.register_first(
        "before-send.iam.GetCredentialReport",
        fail_first("GetCredentialReport", "ReportInProgress", 1, status=404),
    )
    waits = []
    report = aws.fetch_credential_report(client(scenario, "iam"), sleep=waits.append)
    assert {user.user_name for user in report.users} == {user.name for user in SCENARIO}
    assert waits == [0.05, 0.1, 0.2]  # two limited, one not ready: backoff doubles


@pytest.mark.parametrize("code", ["ReportNotPresent", "ReportExpired"])
def test_missing_or_expired_report_is_generated_again(scenario, code):
    scenario.events.register_first(
        "before-send.iam.GetCredentialReport", fail_first("GetCredentialReport", code, 1, 410)
    )
    report = aws.fetch_credential_report(client(scenario, "iam"), sleep=lambda _s: None)
    assert len(report.users) == len(SCENARIO)


def test_report_that_never_becomes_ready_times_out(scenario):
    scenario.events.register_first(
        "before-send.iam.GetCredentialReport",
        fail_first("GetCredentialReport", "ReportInProgress", 10_000, 404),
    )
    with pytest.raises(aws.ReportTimeout, match="not ready"):
        aws.fetch_credential_report(client(scenario, "iam"), timeout=0.05, first_delay=0.01)


def test_throttling_is_retried_by_botocore(scenario, iam_calls, now, monkeypatch):
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda *_: 0)
    scenario.events.register_first(
        "before-send.iam.GetAccountAuthorizationDetails",
        fail_first("GetAccountAuthorizationDetails", "Throttling", 3),
    )
    result = scan_accounts(Settings(), scenario, clock=lambda: now)
    assert result.status == "ok"
    assert set(by_name(result)) == SCENARIO_FINDINGS


def test_endless_throttling_fails_the_account_after_bounded_retries(scenario, now, monkeypatch):
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda *_: 0)
    sent = []

    def always_throttle(request, **_kwargs):
        sent.append(request)
        return fail_first("GenerateCredentialReport", "Throttling", 1)(request)

    scenario.events.register_first("before-send.iam.GenerateCredentialReport", always_throttle)
    result = scan_accounts(Settings(), scenario, clock=lambda: now)
    assert result.status == "failed"
    assert "Throttling" in result.accounts[0].error
    assert len(sent) == aws.MAX_ATTEMPTS


def test_access_denied_fails_the_account_with_a_clear_reason(scenario, now):
    scenario.events.register_first(
        "before-send.iam.GenerateCredentialReport",
        fail_first("GenerateCredentialReport", "AccessDenied", 1, status=403),
    )
    result = scan_accounts(Settings(), scenario, clock=lambda: now)
    assert result.status == "failed"
    assert result.candidates == []
    assert result.accounts[0].error.startswith("GenerateCredentialReport failed: AccessDenied")


def test_live_credentials_see_the_user_now(scenario, now):
    iam = client(scenario, "iam")
    live = aws.live_user(iam, "123456789012", "keys-only")
    facts = live.credentials
    assert facts.has_password and len(facts.keys) == 1 and facts.keys[0].key_id
    assert live.identity.user_id == facts.user_id and live.identity.user_id.startswith("AIDA")
    owned = aws.live_user(iam, "123456789012", "owned").identity
    assert owned.tags == {"owner": "owner@example.com", "team": "x"}
    removed, again = (aws.delete_login_profile(iam, "keys-only") for _ in range(2))
    assert removed.existed is True and again.existed is False
    assert removed.request_id and again.request_id and removed.request_id != again.request_id
    after = aws.live_user(iam, "123456789012", "keys-only").credentials
    assert after.has_password is False
    assert after.password_last_used == facts.password_last_used  # survives removal, as in AWS
    assert aws.live_user(iam, "123456789012", "nobody") is None


def test_other_client_errors_are_not_swallowed(scenario):
    scenario.events.register_first(
        "before-send.iam.GetLoginProfile", fail_first("GetLoginProfile", "AccessDenied", 1, 403)
    )
    with pytest.raises(ClientError):
        aws.login_profile(client(scenario, "iam"), "owned")


def test_missing_credentials_are_reported_plainly(monkeypatch, tmp_path):
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(region_name="us-east-1")
    result = scan_accounts(replace(Settings()), session, clock=utc_now)
    assert result.status == "failed"
    assert result.accounts[0].error.startswith("no AWS credentials found")


def test_the_scan_knows_who_is_privileged_and_who_has_mfa(aws_session, iam_calls, now):
    users = tuple(
        DemoUser(name, 400, password_used_days_ago=200, groups=groups, mfa=mfa)
        for name, groups, mfa in [
            ("group-admin", ("admins",), False),
            ("iam-operator", ("iam-operators",), True),
            ("reader", ("readers",), True),
            ("loner", (), False),
            ("inline-admin", (), False),
            ("customer-admin", (), False),
        ]
    )
    seed_users(aws_session, users, now)
    iam = aws_session.client("iam")
    iam.put_user_policy(
        UserName="inline-admin", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    mine = iam.create_policy(PolicyName="break-glass", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.attach_user_policy(UserName="customer-admin", PolicyArn=mine["Policy"]["Arn"])

    findings = by_name(scan_accounts(Settings(), aws_session, clock=lambda: now))
    assert {name: (f.privileged, f.privilege, f.mfa_active) for name, f in findings.items()} == {
        "group-admin": (True, "AdministratorAccess through group admins", False),
        "iam-operator": (True, "can iam:PutUserPolicy on self", True),
        "reader": (False, None, True),
        "loner": (False, None, False),
        "inline-admin": (True, "inline policy all allows *", False),
        "customer-admin": (True, "policy break-glass allows *", False),
    }
    # no call per user for it: users, groups, roles and customer policies, then the AWS
    # managed policies attached (AdministratorAccess, to admins)
    assert iam_calls.count("GetAccountAuthorizationDetails") == 2


def test_without_the_bulk_call_privilege_is_not_known(aws_session, now):
    seed_users(aws_session, (DemoUser("group-admin", 400, groups=("admins",)),), now)
    (finding,) = scan_accounts(
        Settings(tag_source="per-user"), aws_session, clock=lambda: now
    ).candidates
    assert (finding.privileged, finding.privilege, finding.mfa_active) == (None, None, False)


def test_only_a_customer_policys_default_version_counts(aws_session, now):
    users = (DemoUser("was-admin", 400, password_used_days_ago=200),)
    users += (DemoUser("now-admin", 400, password_used_days_ago=200),)
    seed_users(aws_session, users, now)
    iam = aws_session.client("iam")
    read = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
    }
    for name, first, then in [("was-admin", ALLOW_ALL, read), ("now-admin", read, ALLOW_ALL)]:
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(first))["Policy"]["Arn"]
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(then), SetAsDefault=True)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    findings = by_name(scan_accounts(Settings(), aws_session, clock=lambda: now))
    assert (findings["was-admin"].privileged, findings["now-admin"].privileged) == (False, True)
    assert findings["now-admin"].privilege == "policy now-admin allows *"


def test_a_user_name_with_a_comma_is_found_not_failing_the_account(aws_session, now):
    """moto writes the credential report unquoted: the name and its ARN span two fields each."""
    seed_users(aws_session, (DemoUser("svc,deploy", 400, password_used_days_ago=200),), now)
    result = scan_accounts(Settings(), aws_session, clock=lambda: now)
    (account,) = result.accounts
    assert account.ok, account.error
    assert [c.user_name for c in account.candidates] == ["svc,deploy"]
