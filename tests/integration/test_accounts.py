"""Several accounts: Organizations discovery, role lists, and one account failing alone."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.aws.accounts import resolve_targets, target_for
from bot.aws.demo import seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.scan import AccountTarget
from bot.domain.settings import Settings
from bot.entry.config import load_settings
from tests.integration.conftest import (
    IDLE_DORMANT,
    KEYS_ONLY,
    OWNED,
    RECENT_LOGIN,
    assumed,
    body_of,
    iam_error,
)

ORG_ROLE = "OrganizationAccountAccessRole"


@pytest.fixture
def organization(aws_session, now):
    """A management account (1 finding) and two members (2 and 1 findings)."""
    org = aws_session.client("organizations")
    org.create_organization(FeatureSet="ALL")
    members = []
    for name in ("prod", "dev"):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")
        members.append(status["CreateAccountStatus"]["AccountId"])
    seed_users(aws_session, (IDLE_DORMANT, RECENT_LOGIN), now)
    for account_id, users in zip(members, [(IDLE_DORMANT, KEYS_ONLY), (OWNED,)], strict=True):
        target = AccountTarget(account_id, f"arn:aws:iam::{account_id}:role/{ORG_ROLE}")
        seed_users(assumed(aws_session, target.role_arn), users, now, account_id=account_id)
    return members


def findings_by_account(result):
    found = {}
    for finding in result.candidates:
        found.setdefault(finding.account_id, set()).add(finding.user_name)
    return found


def test_organization_discovery_scans_every_active_member(aws_session, organization, now):
    progress = []
    result = scan_accounts(
        Settings(organization=True, org_role_name=ORG_ROLE),
        aws_session,
        clock=lambda: now,
        progress=progress.append,
    )
    prod, dev = organization
    assert result.status == "ok"
    assert findings_by_account(result) == {
        "123456789012": {"idle-dormant"},
        prod: {"idle-dormant", "keys-only"},
        dev: {"owned"},
    }
    assert {account.target.name for account in result.accounts} >= {"prod", "dev"}
    assert any(line.startswith(f"{prod} (prod): 2 users, 2 findings") for line in progress)


def test_management_account_uses_current_credentials(aws_session, organization):
    targets = resolve_targets(Settings(organization=True, org_role_name=ORG_ROLE), aws_session)
    management = [t for t in targets if t.account_id == "123456789012"]
    assert management and management[0].role_arn is None
    assert all(t.role_arn.endswith(f":role/{ORG_ROLE}") for t in targets if t not in management)


def test_role_arn_list_scans_those_accounts_with_external_id(aws_session, organization, now):
    prod, dev = organization
    env = {
        "AWS_ROLE_ARNS": f"arn:aws:iam::{prod}:role/{ORG_ROLE}, arn:aws:iam::{dev}:role/{ORG_ROLE}",
        "AWS_EXTERNAL_ID": "shared-secret",
    }
    assumed = []

    def record(params, **_kwargs):
        assumed.append((params["RoleArn"], params.get("ExternalId")))

    aws_session.events.register("provide-client-params.sts.AssumeRole", record)
    result = scan_accounts(load_settings(env), aws_session, clock=lambda: now)
    assert set(findings_by_account(result)) == {prod, dev}
    assert {external_id for _arn, external_id in assumed} == {"shared-secret"}


def test_one_account_that_cannot_be_assumed_fails_alone(aws_session, organization, now):
    prod, dev = organization

    def deny_prod(request, **_kwargs):
        if prod in body_of(request):
            return iam_error("AccessDenied", 403)
        return None

    aws_session.events.register_first("before-send.sts.AssumeRole", deny_prod)
    result = scan_accounts(
        Settings(organization=True, org_role_name=ORG_ROLE), aws_session, clock=lambda: now
    )
    assert result.status == "partial"
    failed = {account.target.account_id: account.error for account in result.failed_accounts}
    assert list(failed) == [prod]
    assert "AssumeRole failed: AccessDenied" in failed[prod]
    assert set(findings_by_account(result)) == {"123456789012", dev}


OUT_OF_TIME = "the account's scan took longer than 600 s (ACCOUNT_TIMEOUT_SECONDS)"


def test_an_account_out_of_time_fails_alone_and_sends_nothing_after(aws_session, organization, now):
    """The management account's IAM answers start only once both members are scanned, and each
    takes five minutes (of a clock the test moves): the members are scanned meanwhile, and the
    management account fails at its deadline without another request. (Tags per user: each
    account's requests go one after another.)"""
    prod, dev = organization
    moment, deadline = [now], now + timedelta(seconds=600)
    members_done, summaries, late = threading.Event(), [], []

    def progress(line: str) -> None:
        summaries.extend(member for member in (prod, dev) if line.startswith(f"{member} ("))
        if len(summaries) == 2:
            members_done.set()

    def management_answers_slowly(request, **_kwargs):
        if "Credential=testing/" in str(request.headers.get("Authorization")):
            assert members_done.wait(60), "the members waited on the stalled account"
            if moment[0] >= deadline:
                late.append(request.url)
            moment[0] += timedelta(minutes=5)

    aws_session.events.register("before-send.iam", management_answers_slowly)
    settings = Settings(
        organization=True,
        org_role_name=ORG_ROLE,
        tag_source="per-user",
        account_timeout_seconds=600,
    )
    result = scan_accounts(settings, aws_session, clock=lambda: moment[0], progress=progress)
    failed = {account.target.account_id: account.error for account in result.failed_accounts}
    assert failed == {"123456789012": OUT_OF_TIME}
    assert findings_by_account(result) == {prod: {"idle-dormant", "keys-only"}, dev: {"owned"}}
    assert late == []


def test_an_account_s_time_starts_when_its_scan_does(aws_session, organization, now):
    """One account at a time, each IAM answer taking two minutes: every account takes 6-8
    minutes and the three 20, yet none runs out of its 10."""
    moment = [now]

    def two_minutes(**_kwargs):
        moment[0] += timedelta(minutes=2)

    aws_session.events.register("before-send.iam", two_minutes)
    settings = Settings(
        organization=True,
        org_role_name=ORG_ROLE,
        tag_source="per-user",
        account_concurrency=1,
        account_timeout_seconds=600,
    )
    result = scan_accounts(settings, aws_session, clock=lambda: moment[0])
    assert result.status == "ok"
    assert moment[0] - now >= timedelta(minutes=20)
    assert len(findings_by_account(result)) == 3


def test_an_assume_role_throttled_past_the_deadline_is_not_tried_again(
    aws_session, organization, now
):
    prod, dev = organization
    moment, attempts = [now], []

    def throttle_prod(request, **_kwargs):
        if prod in body_of(request):
            attempts.append(moment[0])
            moment[0] += timedelta(minutes=11)
            return iam_error("Throttling", 400)
        return None

    aws_session.events.register("before-send.sts.AssumeRole", throttle_prod)
    settings = Settings(
        organization=True,
        org_role_name=ORG_ROLE,
        account_concurrency=1,
        account_timeout_seconds=600,
    )
    result = scan_accounts(settings, aws_session, clock=lambda: moment[0])
    assert {account.target.account_id: account.error for account in result.failed_accounts} == {
        prod: OUT_OF_TIME
    }
    assert attempts == [now]  # botocore would have tried 8 times
    assert set(findings_by_account(result)) == {"123456789012", dev}


def test_failed_discovery_is_a_failed_scan_not_an_empty_one(aws_session, organization, now):
    # Not the management account: Organizations refuses ListAccounts.
    aws_session.events.register_first(
        "before-send.organizations.ListAccounts",
        lambda **_: iam_error("AccessDeniedException", 400),
    )
    result = scan_accounts(
        Settings(organization=True, org_role_name=ORG_ROLE), aws_session, clock=lambda: now
    )
    assert result.status == "failed"
    assert result.candidates == []
    assert "ListAccounts failed" in result.accounts[0].error


def test_an_organization_without_active_accounts_is_a_failed_scan(aws_session, now):
    result = scan_accounts(
        Settings(organization=True, org_role_name=ORG_ROLE), aws_session, clock=lambda: now
    )
    assert result.status == "failed"
    assert "no active accounts" in result.accounts[0].error


def test_default_is_the_account_of_the_current_credentials(aws_session):
    assert resolve_targets(Settings(), aws_session) == [AccountTarget("123456789012")]


def test_removal_targets_match_how_the_account_was_scanned(aws_session, organization):
    prod, _dev = organization
    org = Settings(organization=True, org_role_name=ORG_ROLE)
    assert target_for(org, aws_session, prod).role_arn == f"arn:aws:iam::{prod}:role/{ORG_ROLE}"
    assert target_for(org, aws_session, "123456789012").role_arn is None
    listed = load_settings({"AWS_ROLE_ARNS": f"arn:aws:iam::{prod}:role/audit"})
    assert target_for(listed, aws_session, prod).role_arn == f"arn:aws:iam::{prod}:role/audit"
    assert target_for(Settings(), aws_session, prod).role_arn is None
