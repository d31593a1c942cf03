"""Risk context, pure: which users are administrator-equivalent, and the order findings are
shown in."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.domain.risk import (
    Grants,
    Risk,
    broad_action,
    by_risk,
    privilege,
    risk,
    risk_label,
    user_path,
)

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
MINE = "arn:aws:iam::111122223333:policy/mine"


def allow(action, effect="Allow", key="Action"):
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, key: action, "Resource": "*"}],
    }


# AWS's example policy that lets people manage their own keys and console password.
MANAGE_OWN_CREDENTIALS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:UpdateLoginProfile"],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        }
    ],
}


@pytest.mark.parametrize(
    ("user", "groups", "expected"),
    [
        (Grants(managed=(ADMIN,)), {}, "AdministratorAccess"),
        (Grants(managed=(READ_ONLY,)), {}, None),
        (
            Grants(groups=("ops",)),
            {"ops": Grants(managed=("arn:aws:iam::aws:policy/PowerUserAccess",))},
            "PowerUserAccess through group ops",
        ),
        (Grants(groups=("gone",)), {}, None),  # a group the details did not list grants nothing
        (Grants(inline=(("p", allow("iam:*")),)), {}, "inline policy p allows iam:*"),
        (Grants(inline=(("p", allow(["s3:Get*", "IAM:*"])),)), {}, "inline policy p allows IAM:*"),
        (Grants(inline=(("p", allow("*", effect="Deny")),)), {}, None),
        (Grants(inline=(("p", allow("s3:*")),)), {}, None),
        # actions that let a user grant itself anything, however they are written
        (
            Grants(inline=(("p", allow(["iam:Get*", "iam:Put*"])),)),
            {},
            "inline policy p allows iam:Put*",
        ),
        (
            Grants(inline=(("p", allow("IAM:attachuserpolicy")),)),
            {},
            "inline policy p allows IAM:attachuserpolicy",
        ),
        (
            Grants(inline=(("p", allow("iam:CreatePolicyVersio?")),)),
            {},
            "inline policy p allows iam:CreatePolicyVersio?",
        ),
        (Grants(inline=(("p", allow("*:*")),)), {}, "inline policy p allows *:*"),
        (Grants(inline=(("p", allow(["iam:Get*", "iam:List*", "iam:Tag*"])),)), {}, None),
        (Grants(inline=(("p", allow("iam:Put[a-z]*")),)), {}, None),  # brackets are literal
        # other users' keys and passwords: only when the statement reaches other users
        (
            Grants(inline=(("p", allow("iam:CreateAccessKey")),)),
            {},
            "inline policy p allows iam:CreateAccessKey",
        ),
        (Grants(inline=(("p", MANAGE_OWN_CREDENTIALS),)), {}, None),
        (
            Grants(groups=("g",)),
            {"g": Grants(inline=(("gp", allow("iam:*", key="NotAction")),))},
            "inline policy gp allows all but a few actions (NotAction) through group g",
        ),
        (Grants(managed=(MINE,)), {}, "policy mine allows *"),
        # a customer managed policy named like AWS's is judged by what it allows
        (Grants(managed=("arn:aws:iam::111122223333:policy/AdministratorAccess",)), {}, None),
        (Grants(inline=(("broken", None),)), {}, None),
    ],
)
def test_privilege_says_why_a_user_is_administrator_equivalent(user, groups, expected):
    customer = {
        MINE: allow("*"),
        "arn:aws:iam::111122223333:policy/AdministratorAccess": allow("s3:GetObject"),
    }
    assert privilege(user, groups, customer) == expected


@pytest.mark.parametrize(
    "document",
    [None, "not a document", {}, {"Statement": "nonsense"}, {"Statement": [{"Effect": "Allow"}]}],
)
def test_documents_it_cannot_read_grant_nothing(document):
    assert broad_action(document) is None


def test_a_single_statement_not_in_a_list_is_read():
    assert broad_action({"Statement": {"Effect": "Allow", "Action": "*"}}) == "*"


@pytest.mark.parametrize(
    ("privileged", "mfa", "expected"),
    [
        (True, False, Risk.PRIVILEGED_WITHOUT_MFA),
        (True, None, Risk.PRIVILEGED_WITHOUT_MFA),  # MFA not known counts as off
        (True, True, Risk.PRIVILEGED),
        (False, False, Risk.WITHOUT_MFA),
        (None, None, Risk.WITHOUT_MFA),
        (False, True, Risk.OTHER),
    ],
)
def test_risk_ranks_privilege_then_mfa(privileged, mfa, expected):
    assert risk(privileged, mfa) == expected


@pytest.mark.parametrize(
    ("privileged", "mfa", "label"),
    [
        (True, False, "privileged, no MFA"),
        (True, None, "privileged, MFA not known"),
        (True, True, "privileged"),
        (None, False, "privilege not known, no MFA"),
        (False, None, "MFA not known"),
        (False, True, ""),
    ],
)
def test_the_risk_label_says_what_is_not_known(privileged, mfa, label):
    assert risk_label(privileged, mfa) == label


@dataclass
class Row:
    user_name: str
    days_idle: int
    privileged: bool | None
    mfa_active: bool | None
    account_id: str = "111122223333"


def test_findings_are_ordered_riskiest_first_then_longest_idle():
    rows = [
        Row("reader", 900, False, True),
        Row("no-mfa", 100, False, False),
        Row("admin-mfa", 100, True, True),
        Row("admin-old", 500, True, False),
        Row("admin-new", 95, True, None),
        Row("unknown", 300, None, None),
    ]
    ordered = [row.user_name for row in sorted(rows, key=by_risk)]
    assert ordered == ["admin-old", "admin-new", "admin-mfa", "unknown", "no-mfa", "reader"]


@pytest.mark.parametrize(
    ("arn", "path"),
    [
        ("arn:aws:iam::111122223333:user/ann", "/"),
        ("arn:aws:iam::111122223333:user/ops/ann", "/ops/"),
        ("arn:aws:iam::111122223333:user/ops/admins/ann", "/ops/admins/"),
        ("arn:aws-us-gov:iam::111122223333:user/a/b", "/a/"),
    ],
)
def test_user_path_comes_from_the_arn(arn, path):
    assert user_path(arn) == path
