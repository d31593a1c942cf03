"""Privilege verdicts on the crafted account (issue 22) read back from moto through the bulk
call, with AWS_FAST_PARSING on and off: the same verdicts as the unit layer's on the same
account, with moto's copies of AWS's own managed policy documents this time."""

from __future__ import annotations

import json

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends

from bot.aws import iam as aws
from bot.aws.accounts import client
from bot.aws.demo import DEMO_ACCOUNT_ID
from bot.domain.paths import Verdict
from tests.integration.test_fast_parsing import session
from tests.support.privilege_account import ACCOUNT, AWS_MANAGED, cases, seed


def load_aws_managed_policies() -> None:
    """AWS's own documents of the policies the account uses, as moto copies them (moto loads
    none unless asked, and all 1,500 of them when asked, which takes seconds)."""
    backend = iam_backends[ACCOUNT]["global"]
    data = json.loads(aws_managed_policies_data)
    for name in AWS_MANAGED:
        policy = AWSManagedPolicy.from_data(name, ACCOUNT, backend.region_name, data[name])
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy


def set_user_boundary(name: str, arn: str) -> None:
    """moto has no PutUserPermissionsBoundary: set it on moto's user, as its roles hold it."""
    user = iam_backends[ACCOUNT]["global"].users[name]
    user.permissions_boundary = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


@pytest.fixture
def crafted(aws_session):
    assert ACCOUNT == DEMO_ACCOUNT_ID
    load_aws_managed_policies()
    seed(aws_session.client("iam"), set_user_boundary)
    return aws_session


@pytest.mark.parametrize("fast_parsing", [True, False], ids=["fast", "botocore"])
def test_every_crafted_case_is_judged_as_expected_from_the_bulk_call(crafted, fast_parsing):
    identities = aws.identities_of_all_users(client(session(fast_parsing), "iam"))
    verdicts = {name: Verdict(i.privileged, i.privilege) for name, i in identities.items()}
    expected = {case.user: Verdict(case.privileged, case.why) for case in cases()}
    assert verdicts == expected


def test_the_bulk_call_fetches_aws_managed_policies_only_when_some_are_attached(
    aws_session, monkeypatch
):
    calls = []
    iam = client(session(True), "iam")
    iam.meta.events.register(
        "provide-client-params.iam.GetAccountAuthorizationDetails",
        lambda params, **_: calls.append(params.get("Filter")),
    )
    load_aws_managed_policies()
    iam.create_user(UserName="plain")
    aws.identities_of_all_users(iam)
    assert calls == [["User", "Group", "Role", "LocalManagedPolicy"]]
    calls.clear()
    iam.attach_user_policy(UserName="plain", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert aws.identities_of_all_users(iam)["plain"].privileged is False
    assert calls == [["User", "Group", "Role", "LocalManagedPolicy"], ["AWSManagedPolicy"]]
