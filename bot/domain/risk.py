"""Which findings matter most: a dormant administrator without MFA before a read-only user.

Pure. The AWS side reads who is granted what from GetAccountAuthorizationDetails (the bulk call
the scan already makes) into `Grants`; the credential report says whether MFA is active.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

# AWS managed policies that make their holder an administrator, or able to become one (with
# IAMFullAccess a user can grant itself anything).
ADMIN_EQUIVALENT_POLICIES = frozenset(
    {
        "AdministratorAccess",
        "AdministratorAccess-Amplify",
        "AdministratorAccess-AWSElasticBeanstalk",
        "IAMFullAccess",
        "PowerUserAccess",
    }
)
AWS_MANAGED_PREFIX = ":iam::aws:policy/"
# Actions with which a user can grant itself anything: a statement whose Action pattern
# matches one is administrator-equivalent, as `*` and `iam:*` are.
ESCALATION_ACTIONS = (
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreatePolicyVersion",
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
)
# Actions that take over other users (their keys or console password): administrator-
# equivalent only when the statement reaches users besides the holder. AWS's own "manage your
# own credentials" policy grants them on `user/${aws:username}`.
OTHER_USERS_ACTIONS = ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile")
OWN_USER = "${aws:username}"


@dataclass(frozen=True)
class Grants:
    """What a user or a group is given: managed policies (ARNs), inline policies (name and
    document), and for a user, its groups."""

    managed: tuple[str, ...] = ()
    inline: tuple[tuple[str, Any], ...] = ()
    groups: tuple[str, ...] = ()


def privilege(
    user: Grants, groups: Mapping[str, Grants], customer_policies: Mapping[str, Any]
) -> str | None:
    """Why this user is administrator-equivalent, or None: an admin-equivalent AWS managed
    policy, or a statement `broad_action` finds (in an inline policy or a customer managed
    policy's default version), attached to the user or to one of its groups."""
    holders = [("", user)] + [
        (f" through group {name}", groups.get(name, Grants())) for name in user.groups
    ]
    for through, grants in holders:
        for arn in grants.managed:
            name = arn.rsplit("/", 1)[-1]
            if AWS_MANAGED_PREFIX in arn and name in ADMIN_EQUIVALENT_POLICIES:
                return f"{name}{through}"
            action = broad_action(customer_policies.get(arn))
            if action:
                return f"policy {name} allows {action}{through}"
        for name, document in grants.inline:
            action = broad_action(document)
            if action:
                return f"inline policy {name} allows {action}{through}"
    return None


def broad_action(document: Any) -> str | None:
    """The action pattern of an Allow statement in this policy document that makes its holder
    administrator-equivalent (`*`, `iam:*`, `iam:Put*`, `iam:AttachUserPolicy`, ...: any
    pattern matching an escalation action), or everything but a few with NotAction; None if
    there is none. Deny statements are not weighed."""
    if not isinstance(document, Mapping):
        return None
    for statement in _listed(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            return "all but a few actions (NotAction)"
        escalations: tuple[str, ...] = ESCALATION_ACTIONS
        if _reaches_other_users(statement):
            escalations += OTHER_USERS_ACTIONS
        for action in _listed(statement.get("Action")):
            if isinstance(action, str) and _matches_any(action, escalations):
                return action
    return None


def _reaches_other_users(statement: Mapping[str, Any]) -> bool:
    if "NotResource" in statement:
        return True
    resources = [r for r in _listed(statement.get("Resource")) if isinstance(r, str)]
    return not resources or any(OWN_USER not in resource for resource in resources)


def _matches_any(pattern: str, actions: Iterable[str]) -> bool:
    """IAM's action patterns: case-insensitive, `*` any run of characters, `?` any one."""
    wanted = re.compile(
        re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL
    )
    return any(wanted.fullmatch(action.lower()) for action in actions)


def _listed(value: Any) -> Iterable[Any]:
    """Policy grammar allows one element or a list wherever a list may stand."""
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)


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
