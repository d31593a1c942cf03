"""An account's authorization details (what GetAccountAuthorizationDetails returns, read by the
AWS side) as principals whose requests can be decided. Pure.

Each policy document is read into statements once per account, whoever it is attached to: a
5,000-user account with one policy shared by all reads that policy once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from bot.domain.evaluation import Principal
from bot.domain.policy import (
    Requirement,
    Statement,
    condition_holds,
    listed,
    statements,
    strings,
    wildcard_matches,
)
from bot.domain.steps import ASSUME

AWS_MANAGED_PREFIX = ":iam::aws:policy/"
Inline = tuple[tuple[str, Any], ...]  # (policy name, document)


@dataclass(frozen=True)
class Attachments:
    inline: Inline = ()
    managed: tuple[str, ...] = ()  # policy ARNs


class UserDetail(NamedTuple):
    """A named tuple, as evaluation.Principal is: one is made for every user of every account."""

    name: str
    arn: str
    user_id: str = ""
    policies: Attachments = Attachments()
    groups: tuple[str, ...] = ()
    boundary: str | None = None  # the permissions boundary's policy ARN


@dataclass(frozen=True)
class GroupDetail:
    name: str
    arn: str
    policies: Attachments = Attachments()


@dataclass(frozen=True)
class RoleDetail:
    name: str
    arn: str
    trust: Any = None  # the trust (assume role) policy document
    policies: Attachments = Attachments()
    boundary: str | None = None
    instance_profile: bool = False  # EC2 can run code with it


@dataclass(frozen=True)
class ManagedPolicy:
    arn: str
    default: Any  # the default version's document, the only one that is in force
    other_versions: tuple[Any, ...] = ()  # what SetDefaultPolicyVersion could bring into force

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def managed_by_aws(self) -> bool:
        return AWS_MANAGED_PREFIX in self.arn


@dataclass(frozen=True)
class Details:
    users: tuple[UserDetail, ...] = ()
    groups: Mapping[str, GroupDetail] = field(default_factory=dict)
    roles: tuple[RoleDetail, ...] = ()
    policies: Mapping[str, ManagedPolicy] = field(default_factory=dict)


class Statements:
    """Every document of an account read once: managed policies by ARN, groups by name."""

    def __init__(self, details: Details) -> None:
        self.details = details
        self._managed: dict[str, tuple[Statement, ...]] = {}
        self._groups: dict[str, tuple[Statement, ...]] = {}
        # Inline documents by identity: the AWS side hands the same object for the same text,
        # so a policy copied onto many users is read once.
        self._inline: dict[tuple[str, int], tuple[Statement, ...]] = {}

    def managed(self, arn: str) -> tuple[Statement, ...]:
        if arn not in self._managed:
            policy = self.details.policies.get(arn)
            self._managed[arn] = (
                statements(policy.default, _label(policy), managed_by_aws=policy.managed_by_aws)
                if policy
                else ()
            )
        return self._managed[arn]

    def of(self, attachments: Attachments) -> tuple[Statement, ...]:
        read: list[Statement] = []
        for name, document in attachments.inline:
            key = (name, id(document))
            if key not in self._inline:
                self._inline[key] = statements(document, f"inline policy {name}")
            read.extend(self._inline[key])
        for arn in attachments.managed:
            read.extend(self.managed(arn))
        return tuple(read)

    def group(self, name: str) -> tuple[Statement, ...]:
        if name not in self._groups:
            group = self.details.groups.get(name)
            through = f" through group {name}"
            self._groups[name] = tuple(
                replace(statement, through=through)
                for statement in (self.of(group.policies) if group else ())
            )
        return self._groups[name]

    def version(self, arn: str, document: Any) -> tuple[Statement, ...]:
        policy = self.details.policies[arn]
        return statements(document, f"{_label(policy)} (another version)")

    def user(self, user: UserDetail) -> Principal:
        own = self.of(user.policies)
        grouped = tuple(s for group in user.groups for s in self.group(group))
        variables = {"aws:username": user.name, "aws:principaltype": "User"}
        if user.user_id:
            variables["aws:userid"] = user.user_id
        return self._principal("user", user.name, user.arn, own + grouped, user.boundary, variables)

    def role(self, role: RoleDetail) -> Principal:
        variables = {"aws:principaltype": "AssumedRole"}
        return self._principal(
            "role", role.name, role.arn, self.of(role.policies), role.boundary, variables
        )

    def _principal(
        self,
        kind: str,
        name: str,
        arn: str,
        own: tuple[Statement, ...],
        boundary: str | None,
        variables: dict[str, str],
    ) -> Principal:
        variables["aws:principalaccount"] = account_of(arn)
        bounded = self.managed(boundary) if boundary else None
        boundary_name = boundary.rsplit("/", 1)[-1] if boundary else None
        return Principal(kind, name, arn, own, bounded, boundary_name, variables)


def _label(policy: ManagedPolicy) -> str:
    return policy.name if policy.managed_by_aws else f"policy {policy.name}"


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


@dataclass(frozen=True)
class TrustStatement:
    allow: bool
    aws: tuple[str, ...]  # principal ARNs, account ids, `*`
    services: tuple[str, ...]
    condition: Mapping[str, Any] | None


def trust_statements(document: Any) -> tuple[TrustStatement, ...]:
    """The statements of a role's trust policy that concern sts:AssumeRole, with their
    principals (`*` stands for every AWS principal)."""
    raws = document.get("Statement") if isinstance(document, Mapping) else None
    read = []
    for raw in listed(raws):
        if not isinstance(raw, Mapping):
            continue
        for statement in statements({"Statement": [raw]}, "trust"):
            if statement.covers_action(ASSUME):
                aws, services = _principals(raw.get("Principal"))
                read.append(TrustStatement(statement.allow, aws, services, statement.condition))
    return tuple(read)


def _principals(principal: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if principal == "*":
        return ("*",), ()
    if not isinstance(principal, Mapping):
        return (), ()
    aws, services = (strings(principal.get(key)) for key in ("AWS", "Service"))
    return aws, services


def trust_admits(
    trust: tuple[TrustStatement, ...], principal: Principal
) -> tuple[bool, Requirement] | None:
    """Whether the trust lets `principal` assume the role: (named, conditions) where `named`
    says the trust names the principal itself (or everyone), so that no identity policy need
    allow sts:AssumeRole; None when it does not admit it."""
    account = account_of(principal.arn)
    context = principal.context(**{"aws:principalarn": principal.arn})
    best: tuple[bool, Requirement] | None = None
    for statement in trust:
        named = principal.arn in statement.aws or "*" in statement.aws
        whole_account = account in statement.aws or f"arn:aws:iam::{account}:root" in {
            _standard(arn) for arn in statement.aws
        }
        if not (named or whole_account):
            continue
        requires = condition_holds(statement.condition, context)
        if not statement.allow:
            if requires == ():
                return None
            continue
        if requires is not None and (best is None or len(requires) < len(best[1])):
            best = (named, requires)
    return best


def _standard(arn: str) -> str:
    """Trust policies may name the account in another partition (aws-cn, aws-us-gov)."""
    parts = arn.split(":")
    return ":".join([parts[0], "aws", *parts[2:]]) if len(parts) > 2 else arn


def trusts_service(trust: tuple[TrustStatement, ...], service: str) -> bool:
    return any(
        statement.allow and any(wildcard_matches(name, service) for name in statement.services)
        for statement in trust
    )
