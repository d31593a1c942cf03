"""Privilege verdicts, pure (issue 22): policy documents matched as AWS matches them, one
principal's request decided in AWS's order, and paths to administrator through the account's
own principals. Every case of the crafted account (tests/support/privilege_account.py) is judged
here as authorization details; tests/integration/test_privilege.py reads the same account back
from moto."""

from __future__ import annotations

import pytest

from bot.domain.authorization import (
    Attachments,
    Details,
    RoleDetail,
    UserDetail,
    trust_admits,
    trust_statements,
)
from bot.domain.evaluation import Access, Principal, Refused, administrator, allows, decide
from bot.domain.paths import Verdict, judge
from bot.domain.policy import Context, condition_holds, statements
from tests.support.privilege_account import (
    IAM,
    MFA,
    allow,
    cases,
    combined,
    deny,
    details,
    synthetic,
    trust,
)

CASES = cases()
VERDICTS = judge(details())


@pytest.mark.parametrize("case", CASES, ids=[case.user for case in CASES])
def test_each_user_of_the_crafted_account_gets_its_expected_verdict_and_reason(case):
    assert VERDICTS[case.user] == Verdict(case.privileged, case.why), case.because


def test_the_crafted_account_covers_what_issue_22_asks_for():
    assert len(CASES) >= 40
    assert sum(case.privileged for case in CASES) >= 20
    assert sum(not case.privileged for case in CASES) >= 20


def principal(*documents, boundary=None, name="alice"):
    own = tuple(s for d in documents for s in statements(d, "inline policy p"))
    bounded = statements(boundary, "policy b") if boundary else None
    variables = {"aws:username": name, "aws:principalaccount": "123456789012"}
    arn = f"{IAM}:user/{name}"
    return Principal("user", name, arn, own, bounded, "b" if boundary else None, variables)


@pytest.mark.parametrize(
    ("pattern", "action", "allowed"),
    [
        ("IAM:attachuserpolicy", "iam:AttachUserPolicy", True),  # actions: any case
        ("iam:Put*", "iam:PutUserPolicy", True),
        ("iam:CreatePolicyVersio?", "iam:CreatePolicyVersion", True),
        ("iam:Put[a-z]*", "iam:PutUserPolicy", False),  # brackets are literal
        ("iam:Get*", "iam:PutUserPolicy", False),
    ],
)
def test_action_patterns_match_as_iam_matches_them(pattern, action, allowed):
    assert bool(allows(principal(allow(pattern)), action, "*")) is allowed


@pytest.mark.parametrize(
    ("resource", "target", "allowed"),
    [
        (f"{IAM}:user/${{aws:username}}", f"{IAM}:user/alice", True),
        (f"{IAM}:user/${{aws:username}}", f"{IAM}:user/bob", False),
        ("arn:aws:iam::*:user/*${aws:username}", f"{IAM}:user/admin-alice", True),
        (f"{IAM}:user/${{aws:PrincipalTag/team}}", f"{IAM}:user/bob", False),  # not known
        (f"{IAM}:user/${{aws:PrincipalTag/team, 'bob'}}", f"{IAM}:user/bob", True),
        (f"{IAM}:USER/alice", f"{IAM}:user/alice", False),  # ARNs: case matters
        (f"{IAM}:user/a${{*}}", f"{IAM}:user/a*", True),
    ],
)
def test_resource_patterns_expand_policy_variables_for_the_principal(resource, target, allowed):
    assert (
        bool(
            allows(principal(allow("iam:CreateAccessKey", resource)), "iam:CreateAccessKey", target)
        )
        is allowed
    )


def test_an_explicit_deny_wins_and_is_named():
    decision = decide(principal(allow("*"), deny("iam:*")), "iam:PutUserPolicy", "*", Context({}))
    assert isinstance(decision, Refused) and decision.why == "denied by inline policy p"


def test_a_boundary_intersects():
    user = principal(allow("*"), boundary=allow("s3:*"))
    assert allows(user, "s3:GetObject", "*")
    decision = decide(user, "iam:PutUserPolicy", "*", user.context())
    assert isinstance(decision, Refused) and decision.why == "outside the boundary b"


def test_a_conditional_deny_becomes_a_requirement_of_the_grant():
    user = principal(
        allow("*"), deny("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    )
    decision = administrator(user)
    assert isinstance(decision, Access) and decision.requires == ("when MFA is present",)


def test_the_grant_with_fewest_conditions_is_the_one_reported():
    user = principal(allow("*", Condition=MFA), allow("*"))
    assert administrator(user).requires == ()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, ()),
        ({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}, ()),
        ({"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}, None),
        ({"StringLike": {"iam:PassedToService": "lambda.*"}}, ()),
        (
            {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
            ("from 10.0.0.0/8 or 192.168.0.0/16",),
        ),
        (
            {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            ("when aws:RequestedRegion StringEquals eu-west-1",),
        ),
    ],
)
def test_conditions_are_decided_on_known_keys_and_described_otherwise(condition, expected):
    context = Context({"iam:passedtoservice": "lambda.amazonaws.com"})
    assert condition_holds(condition, context) == expected


@pytest.mark.parametrize(
    "document",
    [None, "not a document", {}, {"Statement": "nonsense"}, {"Statement": [{"Effect": "Allow"}]}],
)
def test_documents_it_cannot_read_grant_nothing(document):
    assert statements(document, "p") == ()


def test_a_single_statement_not_in_a_list_is_read():
    (statement,) = statements({"Statement": {"Effect": "Allow", "Action": "*"}}, "p")
    assert statement.allow and statement.covers_action("s3:GetObject")


@pytest.mark.parametrize(
    ("principals", "expected"),
    [
        ({"AWS": f"{IAM}:root"}, (False, ())),
        ({"AWS": "123456789012"}, (False, ())),
        ({"AWS": f"{IAM}:user/alice"}, (True, ())),
        ("*", (True, ())),
        ({"AWS": "arn:aws:iam::999988887777:root"}, None),
        ({"Service": "ec2.amazonaws.com"}, None),
    ],
)
def test_a_trust_policy_admits_the_account_or_the_user_itself(principals, expected):
    assert trust_admits(trust_statements(trust(principals)), principal()) == expected


def test_a_trust_deny_of_the_user_wins():
    document = combined(
        trust({"AWS": f"{IAM}:root"}),
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": f"{IAM}:user/alice"},
                    "Action": "sts:AssumeRole",
                }
            ]
        },
    )
    assert trust_admits(trust_statements(document), principal()) is None


def test_roles_that_trust_each_other_without_power_lead_nowhere():
    hops = allow("sts:AssumeRole")
    account = Details(
        users=(UserDetail("u", f"{IAM}:user/u", policies=Attachments((("p", hops),))),),
        roles=tuple(
            RoleDetail(
                name,
                f"{IAM}:role/{name}",
                trust({"AWS": f"{IAM}:root"}),
                Attachments((("p", hops),)),
            )
            for name in ("a", "b")
        ),
    )
    assert judge(account) == {"u": Verdict(False, None)}


def test_500_users_and_200_roles_are_judged_at_once():
    """Its time is measured by the benchmarks (docs/benchmarks.md, "Privilege at scale"): a
    timed test would fail on a busy machine."""
    verdicts = judge(synthetic(500, 200))
    assert len(verdicts) == 500 and any(v.privileged for v in verdicts.values())
