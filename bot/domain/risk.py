"""Which findings matter most: a dormant administrator without MFA before a read-only user.

Pure. Whether a user is privileged, and why, is judged by bot.domain.paths over the account's
authorization details (the bulk call the scan already makes); the credential report says
whether MFA is active.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

from bot.domain.rule import IDLE_KEY


class Risk(IntEnum):
    """Most urgent first. MFA not known to be on counts as off."""

    PRIVILEGED_WITHOUT_MFA = 0
    PRIVILEGED = 1
    WITHOUT_MFA = 2
    OTHER = 3


def risk(privileged: bool | None, mfa_active: bool | None) -> Risk:
    if privileged:
        return Risk.PRIVILEGED if mfa_active else Risk.PRIVILEGED_WITHOUT_MFA
    return Risk.OTHER if mfa_active else Risk.WITHOUT_MFA


MFA_WORDS = {True: "MFA on", False: "no MFA", None: "MFA not known"}
# What an idle access key's risk says instead of its user's MFA: MFA guards the console, and an
# access key signs requests alone.
KEY_WITHOUT_MFA = "no MFA on keys"


def risk_label(privileged: bool | None, mfa_active: bool | None) -> str:
    """The risk in words, saying what is not known rather than guessing it (not known ranks as
    not privileged, and as no MFA)."""
    privilege = {True: "privileged", False: None, None: "privilege not known"}[privileged]
    mfa = None if mfa_active else MFA_WORDS[mfa_active]
    return ", ".join(filter(None, [privilege, mfa]))


class Ranked(Protocol):
    account_id: str
    user_name: str
    category: str
    days_idle: int
    privileged: bool | None
    mfa_active: bool | None


def finding_risk(finding: Ranked) -> Risk:
    """A finding's risk: its user's privilege and MFA for a console password; for an idle access
    key, privilege alone, with MFA counting as off (it does not guard a key): an
    administrator's idle key ranks with an administrator's password without MFA."""
    if finding.category == IDLE_KEY:
        return risk(finding.privileged, False)
    return risk(finding.privileged, finding.mfa_active)


def finding_risk_label(finding: Ranked) -> str:
    """`risk_label` of a finding; an idle key's says MFA does not guard it."""
    if finding.category != IDLE_KEY:
        return risk_label(finding.privileged, finding.mfa_active)
    return ", ".join(filter(None, [risk_label(finding.privileged, True), KEY_WITHOUT_MFA]))


def by_risk(finding: Ranked) -> tuple[Risk, int, str, str]:
    """The order findings are shown in everywhere: risk (`finding_risk`), then the longest idle
    (an idle key's days are the key's)."""
    return (
        finding_risk(finding),
        -finding.days_idle,
        finding.account_id,
        finding.user_name,
    )


def user_path(arn: str) -> str:
    """The IAM path in a user ARN (`arn:aws:iam::123456789012:user/ops/alice` -> `/ops/`)."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    return "/" + "".join(f"{part}/" for part in parts[1:-1]) if len(parts) > 2 else "/"
