"""AWS_FAST_PARSING (bot/aws/fast.py): a scan's real clients read AWS's answers through the fast
paths when it is on, through botocore's own when it is off, and the scan finds the same either
way; a fast session whose IAM model the fast reader cannot read refuses to build its client."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.aws import details, fast
from bot.aws import iam as aws
from bot.aws.accounts import client
from bot.aws.demo import ALLOW_ALL, DEMO_REGION, DemoUser, seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.settings import Settings
from tests.integration.conftest import SCENARIO

READ_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
}
PRIVILEGED = (
    DemoUser("group-admin", 400, password_used_days_ago=200, groups=("admins",)),
    DemoUser(
        "iam-operator",
        400,
        password_used_days_ago=200,
        groups=("iam-operators",),
        tags={"owner": "ops@example.com"},
    ),
    DemoUser("reader", 400, password_used_days_ago=200, groups=("readers",), mfa=True),
    DemoUser("inline-admin", 400, password_used_days_ago=200, tags={"owner": "a@example.com"}),
    DemoUser("customer-admin", 400, password_used_days_ago=200),
    DemoUser("s3-reader", 400, password_used_days_ago=200),
)


@pytest.fixture
def account(aws_session, now):
    """Users, groups, inline and managed policies, tags and owners, in moto's account."""
    seed_users(aws_session, SCENARIO + PRIVILEGED, now)
    iam = aws_session.client("iam")
    iam.put_user_policy(
        UserName="inline-admin", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    admin = iam.create_policy(PolicyName="break-glass", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.attach_user_policy(UserName="customer-admin", PolicyArn=admin["Policy"]["Arn"])
    reads = iam.create_policy(PolicyName="reads", PolicyDocument=json.dumps(READ_S3))
    iam.attach_user_policy(UserName="s3-reader", PolicyArn=reads["Policy"]["Arn"])
    return aws_session


def session(fast_parsing: bool):
    return fast.aws_session(
        fast_parsing,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=DEMO_REGION,
    )


@pytest.mark.parametrize("source", ["report", "api"])
def test_the_scan_finds_the_same_with_fast_parsing_on_and_off(account, now, source):
    scans = {
        on: scan_accounts(
            Settings(aws_fast_parsing=on, scan_source=source), clock=lambda: now
        ).accounts
        for on in (True, False)
    }
    (fast_scan,), (plain_scan,) = scans[True], scans[False]
    assert fast_scan.ok and plain_scan.ok
    assert fast_scan.candidates == plain_scan.candidates
    assert fast_scan.cleared == plain_scan.cleared
    assert fast_scan.users_seen == plain_scan.users_seen == len(SCENARIO + PRIVILEGED)
    findings = {finding.user_name: finding for finding in fast_scan.candidates}
    verdicts = {name: (f.privileged, f.privilege, f.owner) for name, f in findings.items()}
    assert (
        verdicts.items()
        >= {
            "group-admin": (True, "AdministratorAccess through group admins", None),
            # iam:* is not administrator itself: the user can make itself one
            "iam-operator": (True, "can iam:PutUserPolicy on self", "ops@example.com"),
            "reader": (False, None, None),
            "inline-admin": (True, "inline policy all allows *", "a@example.com"),
            "customer-admin": (True, "policy break-glass allows *", None),
            "s3-reader": (False, None, None),
            "owned": (False, None, "owner@example.com"),
        }.items()
    )
    assert "exempt" in fast_scan.cleared


def test_identities_are_the_same_from_both_forms_of_policy_documents(account, monkeypatch):
    forms: Counter = Counter()
    read = details.Documents.__call__
    monkeypatch.setattr(
        details.Documents,
        "__call__",
        lambda self, raw: forms.update([type(raw).__name__]) or read(self, raw),
    )
    identities, counts = {}, {}
    for on in (True, False):
        forms.clear()
        identities[on] = aws.identities_of_all_users(client(session(on), "iam"))
        # on: the users', groups', roles' and managed documents left URL-encoded for
        # details.Documents; off: as botocore decoded them
        assert set(forms) == {"str" if on else "dict"}
        counts[on] = sum(forms.values())
    assert counts[True] == counts[False] >= 4
    assert identities[True] == identities[False]
    assert identities[True]["inline-admin"].privileged is True
    assert identities[True]["s3-reader"].privileged is False
    assert identities[True]["owned"].tags == {"owner": "owner@example.com", "team": "x"}


@pytest.fixture
def fast_paths(monkeypatch) -> Counter:
    """Counts what the fast paths read: answers by compiled readers, times by parse_timestamp
    in compiled readers and in botocore's parsers; and in which form the policy documents come
    to details.Documents (left as sent, or decoded by botocore's json_decode_policies)."""
    used: Counter = Counter()
    compile_reader, parse_timestamp = fast.compile_reader, fast.parse_timestamp
    read = details.Documents.__call__

    def counting_compile(shape, namespace=""):
        read = compile_reader(shape, namespace)
        if shape.name not in fast.COMPILED_SHAPES:
            return read
        return lambda node: used.update([shape.name]) or read(node)

    def timestamp_by(where):
        return lambda value: used.update([where]) or parse_timestamp(value)

    monkeypatch.setattr(fast, "_READERS", {})
    monkeypatch.setattr(fast, "compile_reader", counting_compile)
    monkeypatch.setattr(fast, "parse_timestamp", timestamp_by("time in botocore's parser"))
    monkeypatch.setitem(fast.SCALARS, "timestamp", timestamp_by("time in a compiled reader"))
    monkeypatch.setattr(
        details.Documents,
        "__call__",
        lambda self, raw: used.update([f"a {type(raw).__name__} document"]) or read(self, raw),
    )
    return used


@pytest.mark.parametrize("source", ["report", "api"])
def test_the_scan_s_clients_read_through_the_fast_paths_only_when_on(
    account, now, fast_paths, source
):
    result = scan_accounts(Settings(scan_source=source), clock=lambda: now)
    assert result.status == "ok" and result.candidates
    # one page of users, groups, roles and customer policies; one of AWS managed policies
    assert fast_paths["GetAccountAuthorizationDetailsResponse"] == 2
    # the bulk answer's CreateDates; the report's GeneratedTime or ListUsers' dates
    assert fast_paths["time in a compiled reader"] >= len(SCENARIO + PRIVILEGED)
    assert fast_paths["time in botocore's parser"] >= 1
    documents = fast_paths["a str document"]
    assert documents >= 4 and not fast_paths["a dict document"]

    fast_paths.clear()
    result = scan_accounts(Settings(aws_fast_parsing=False, scan_source=source), clock=lambda: now)
    assert result.status == "ok" and result.candidates
    assert fast_paths == Counter({"a dict document": documents})  # botocore's, all of it


def test_a_fast_session_refuses_an_iam_client_its_model_does_not_fit(account, now, monkeypatch):
    monkeypatch.setattr(fast, "_READERS", {})
    monkeypatch.setattr(fast, "COMPILED_SHAPES", frozenset({"NotTheBulkAnswer"}))
    with pytest.raises(fast.FastParsingUnavailable) as refused:
        client(session(True), "iam")
    assert "GetAccountAuthorizationDetails" in str(refused.value)
    assert "set AWS_FAST_PARSING=false" in str(refused.value)
    # in a scan: every account says why, and the way out works
    (failed,) = scan_accounts(Settings(), clock=lambda: now).accounts
    assert "AWS_FAST_PARSING=false" in failed.error
    (scanned,) = scan_accounts(Settings(aws_fast_parsing=False), clock=lambda: now).accounts
    assert scanned.ok and scanned.candidates
    # other services are not concerned
    assert client(session(True), "sts").get_caller_identity()["Account"]
