"""Risk context, pure: the order findings are shown in (privilege itself: test_privilege)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.domain.risk import Risk, by_risk, risk, risk_label, user_path


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
