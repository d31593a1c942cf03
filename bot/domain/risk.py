"""Which findings matter most: a dormant administrator without MFA before a read-only user.

Pure. Whether a user is privileged, and why, is judged by bot.domain.paths over the account's
authorization details (the bulk call the scan already makes); the credential report says
whether MFA is active.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


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


def risk_label(privileged: bool | None, mfa_active: bool | None) -> str:
    """The risk in words, saying what is not known rather than guessing it (not known ranks as
    not privileged, and as no MFA)."""
    privilege = {True: "privileged", False: None, None: "privilege not known"}[privileged]
    mfa = None if mfa_active else MFA_WORDS[mfa_active]
    return ", ".join(filter(None, [privilege, mfa]))


class Ranked(Protocol):
    account_id: str
    user_name: str
    days_idle: int
    privileged: bool | None
    mfa_active: bool | None


def by_risk(finding: Ranked) -> tuple[Risk, int, str, str]:
    """The order findings are shown in everywhere: risk, then the longest idle."""
    return (
        risk(finding.privileged, finding.mfa_active),
        -finding.days_idle,
        finding.account_id,
        finding.user_name,
    )


def user_path(arn: str) -> str:
    """The IAM path in a user ARN (`arn:aws:iam::123456789012:user/ops/alice` -> `/ops/`)."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    return "/" + "".join(f"{part}/" for part in parts[1:-1]) if len(parts) > 2 else "/"
