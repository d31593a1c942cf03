"""Privilege verdicts on the crafted account (issue 22) read back from moto through the bulk
call, with AWS_FAST_PARSING on and off: the same verdicts as the unit layer's on the same
account, with moto's copies of AWS's own managed policy documents this time."""

from __future__ import annotations

from typing import Any

import pytest

from bot.aws import iam as aws
from bot.aws.accounts import client
from bot.aws.demo import DEMO_ACCOUNT_ID
from bot.aws.details import AwsManagedPolicies
from bot.domain.paths import Verdict
from tests.integration.test_fast_parsing import session
from tests.support.privilege_account import ACCOUNT, cases
from tests.support.privilege_moto import load_aws_managed_policies, seed_moto


@pytest.fixture
def crafted(aws_session):
    assert ACCOUNT == DEMO_ACCOUNT_ID
    seed_moto(aws_session.client("iam"))
    return aws_session


@pytest.mark.parametrize("fast_parsing", [True, False], ids=["fast", "botocore"])
def test_every_crafted_case_is_judged_as_expected_from_the_bulk_call(crafted, fast_parsing):
    identities = aws.identities_of_all_users(client(session(fast_parsing), "iam"))
    verdicts = {name: Verdict(i.privileged, i.privilege) for name, i in identities.items()}
    expected = {case.user: Verdict(case.privileged, case.why) for case in cases()}
    assert verdicts == expected


def _bulk_calls_counted(calls: list) -> Any:
    """An IAM client of moto's account (AWS's managed policies loaded) whose bulk calls append
    their Filter to `calls`."""
    iam = client(session(True), "iam")
    iam.meta.events.register(
        "provide-client-params.iam.GetAccountAuthorizationDetails",
        lambda params, **_: calls.append(params.get("Filter")),
    )
    load_aws_managed_policies()
    return iam


def test_the_bulk_call_fetches_aws_managed_policies_only_when_some_are_attached(
    aws_session, monkeypatch
):
    calls: list = []
    iam = _bulk_calls_counted(calls)
    iam.create_user(UserName="plain")
    aws.identities_of_all_users(iam)
    assert calls == [["User", "Group", "Role", "LocalManagedPolicy"]]
    calls.clear()
    iam.attach_user_policy(UserName="plain", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert aws.identities_of_all_users(iam)["plain"].privileged is False
    assert calls == [["User", "Group", "Role", "LocalManagedPolicy"], ["AWSManagedPolicy"]]


def test_a_scan_reads_an_aws_managed_policy_in_the_first_account_that_attaches_it(aws_session):
    calls: list = []
    iam = _bulk_calls_counted(calls)
    iam.create_user(UserName="admin")
    iam.attach_user_policy(
        UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    read = AwsManagedPolicies()
    first, second = (aws.identities_of_all_users(iam, read) for _ in range(2))
    assert first["admin"].privileged and second == first
    assert calls.count(["AWSManagedPolicy"]) == 1
    iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    aws.identities_of_all_users(iam, read)
    assert calls.count(["AWSManagedPolicy"]) == 2  # one not read yet
