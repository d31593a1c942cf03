"""Risk context, pure: the order findings are shown in (privilege itself: test_privilege)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.domain.risk import (
    Risk,
    by_risk,
    finding_risk,
    finding_risk_label,
    risk,
    risk_label,
    user_path,
)
from bot.domain.rule import IDLE_KEY


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
    category: str = "dormant"


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


def test_an_administrators_idle_key_ranks_with_its_password_without_mfa_whatever_its_mfa():
    """MFA guards the console, not an access key: an administrator's idle key is as urgent as an
    administrator's password without MFA (CRITICAL in Security Hub), ahead of an administrator
    with MFA on and of everyone unprivileged; a reader's idle key ranks as no MFA."""
    rows = [
        Row("reader-key", 900, False, True, category=IDLE_KEY),
        Row("reader", 900, False, True),
        Row("admin-mfa", 300, True, True),
        Row("admin-key", 200, True, True, category=IDLE_KEY),
        Row("admin-no-mfa", 100, True, False),
        Row("no-mfa", 1000, False, False),
    ]
    ordered = [row.user_name for row in sorted(rows, key=by_risk)]
    assert ordered == ["admin-key", "admin-no-mfa", "admin-mfa", "no-mfa", "reader-key", "reader"]
    assert finding_risk(rows[3]) == Risk.PRIVILEGED_WITHOUT_MFA
    assert finding_risk(rows[0]) == Risk.WITHOUT_MFA
    assert finding_risk(rows[2]) == risk(True, True) == Risk.PRIVILEGED


@pytest.mark.parametrize(
    ("privileged", "mfa", "label"),
    [
        (True, True, "privileged, no MFA on keys"),
        (True, False, "privileged, no MFA on keys"),
        (None, None, "privilege not known, no MFA on keys"),
        (False, True, "no MFA on keys"),
    ],
)
def test_an_idle_keys_risk_says_the_key_needs_no_mfa_not_the_users_mfa(privileged, mfa, label):
    key = Row("k", 100, privileged, mfa, category=IDLE_KEY)
    assert finding_risk_label(key) == label
    assert finding_risk_label(Row("p", 100, privileged, mfa)) == risk_label(privileged, mfa)


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
