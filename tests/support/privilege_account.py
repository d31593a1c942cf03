"""The crafted account privilege verdicts are measured on (issue 22): users covering each case
of AWS's evaluation and each path to administrator, with the expected verdict and why beside
each. Pure data: tests/unit judges it as authorization details, tests/integration and
bench/privilege.py seed it into moto and read it back through the bulk call.

Ground truth is "can this user reach full administrator of this account?", reasoned out from
AWS's policy evaluation logic for identity policies, boundaries and role trust policies. AWS
managed policies are written here as they matter to the verdicts (AdministratorAccess and
IAMFullAccess in full, ReadOnlyAccess and PowerUserAccess in their effect); the integration test
checks the same verdicts on moto's copies of AWS's real documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.domain.authorization import (
    Attachments,
    Details,
    GroupDetail,
    ManagedPolicy,
    RoleDetail,
    UserDetail,
)

ACCOUNT = "123456789012"  # moto's default account
IAM = f"arn:aws:iam::{ACCOUNT}"
OTHER_ACCOUNT = "999988887777"


def allow(actions: Any, resources: Any = "*", effect: str = "Allow", **extra: Any) -> dict:
    """A policy document of one statement; `extra`: NotAction, NotResource, Condition."""
    statement: dict[str, Any] = {"Effect": effect}
    if "NotAction" not in extra:
        statement["Action"] = actions
    if "NotResource" not in extra:
        statement["Resource"] = resources
    statement.update(extra)
    return {"Version": "2012-10-17", "Statement": [statement]}


def deny(actions: Any, resources: Any = "*", **extra: Any) -> dict:
    return allow(actions, resources, effect="Deny", **extra)


def combined(*documents: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": [s for d in documents for s in d["Statement"]]}


def trust(principal: dict | str, **extra: Any) -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}
    return {"Version": "2012-10-17", "Statement": [statement]}


MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
AWS_MANAGED = {
    "AdministratorAccess": allow("*"),
    "IAMFullAccess": allow(["iam:*", "organizations:DescribeAccount", "organizations:List*"]),
    "ReadOnlyAccess": allow(["iam:Get*", "iam:List*", "s3:Get*", "s3:List*", "ec2:Describe*"]),
    "PowerUserAccess": combined(
        allow(None, NotAction=["iam:*", "organizations:*", "account:*"]),
        allow(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles"]),
    ),
    "AWSLambda_FullAccess": combined(
        allow(["lambda:*", "iam:GetRole", "iam:ListRoles", "logs:DescribeLogGroups"]),
        allow(
            "iam:PassRole",
            Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
    ),
}


def aws(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


def local(name: str) -> str:
    return f"{IAM}:policy/{name}"


S3_READ = allow(["s3:GetObject", "s3:ListBucket"])
# Customer managed policies: their versions, the first the default.
POLICIES: dict[str, list[dict]] = {
    "break-glass": [allow("*")],
    "staged": [S3_READ, allow("*")],  # an Allow of everything in a version not in force
    "self-service": [combined(S3_READ, allow("iam:CreatePolicyVersion", local("self-service")))],
    "iam-only": [allow("iam:*")],
}


@dataclass(frozen=True)
class Group:
    inline: dict[str, dict] = field(default_factory=dict)
    managed: tuple[str, ...] = ()


GROUPS = {
    "admins": Group(managed=(aws("AdministratorAccess"),)),
    "devs": Group(inline={"devs-s3": S3_READ}),
    "readers": Group(managed=(aws("ReadOnlyAccess"),)),
}


@dataclass(frozen=True)
class Role:
    trust: dict
    inline: dict[str, dict] = field(default_factory=dict)
    managed: tuple[str, ...] = ()
    instance_profile: bool = False


ADMIN = (aws("AdministratorAccess"),)
ROOT = {"AWS": f"{IAM}:root"}
ROLES = {
    "ops-admin": Role(trust(ROOT), managed=ADMIN),
    "named-admin": Role(trust({"AWS": f"{IAM}:user/assume-named"}), managed=ADMIN),
    "partner-admin": Role(trust({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}), managed=ADMIN),
    "locked-admin": Role(trust({"AWS": OTHER_ACCOUNT}), managed=ADMIN),
    "app": Role(trust(ROOT), inline={"app-s3": S3_READ}),
    "hop": Role(trust(ROOT), inline={"onward": allow("sts:AssumeRole", f"{IAM}:role/ops-admin")}),
    "lambda-admin": Role(trust({"Service": "lambda.amazonaws.com"}), managed=ADMIN),
    "ec2-admin": Role(
        trust({"Service": "ec2.amazonaws.com"}), managed=ADMIN, instance_profile=True
    ),
    "ecs-reader": Role(
        trust({"Service": "ecs-tasks.amazonaws.com"}), managed=(aws("ReadOnlyAccess"),)
    ),
}


@dataclass(frozen=True)
class Case:
    user: str
    privileged: bool
    why: str | None  # the verdict's reason, as the bot words it
    because: str  # the ground truth, reasoned out
    inline: dict[str, dict] = field(default_factory=dict)
    managed: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    boundary: str | None = None


def cases() -> tuple[Case, ...]:
    """Every case of the account, in order (the case modules build on this one)."""
    from tests.support.privilege_identity_cases import IDENTITY_CASES
    from tests.support.privilege_path_cases import PATH_CASES

    return IDENTITY_CASES + PATH_CASES


def details(aws_documents: dict[str, dict] = AWS_MANAGED) -> Details:
    """The account as the bulk call describes it, without AWS: what the unit tests judge."""
    policies = {
        local(name): ManagedPolicy(local(name), versions[0], tuple(versions[1:]))
        for name, versions in POLICIES.items()
    } | {aws(name): ManagedPolicy(aws(name), document) for name, document in aws_documents.items()}
    return Details(
        users=tuple(
            UserDetail(
                case.user,
                f"{IAM}:user/{case.user}",
                f"AIDA{index:017d}",
                Attachments(tuple(case.inline.items()), case.managed),
                case.groups,
                case.boundary,
            )
            for index, case in enumerate(cases())
        ),
        groups={
            name: GroupDetail(
                name, f"{IAM}:group/{name}", Attachments(tuple(g.inline.items()), g.managed)
            )
            for name, g in GROUPS.items()
        },
        roles=tuple(
            RoleDetail(
                name,
                f"{IAM}:role/{name}",
                role.trust,
                Attachments(tuple(role.inline.items()), role.managed),
                instance_profile=role.instance_profile,
            )
            for name, role in ROLES.items()
        ),
        policies=policies,
    )


def synthetic(users: int, roles: int, seed: int = 3) -> Details:
    """A large account for timing: every user may manage its own credentials, a few are
    administrators, some may assume one role each; a tenth of the roles are administrators."""
    import random

    rng = random.Random(seed)
    own = allow(
        ["iam:CreateAccessKey", "iam:UpdateLoginProfile", "iam:ChangePassword"],
        "arn:aws:iam::*:user/${aws:username}",
    )
    people = []
    for number in range(users):
        inline: list[tuple[str, Any]] = [("own", own)]
        managed: tuple[str, ...] = ()
        draw = rng.random()
        if draw < 0.05:
            managed = ADMIN
        elif draw < 0.15:
            role = f"{IAM}:role/role-{rng.randrange(roles)}"
            inline.append(("assume", allow("sts:AssumeRole", role)))
        elif draw < 0.5:
            managed = (aws("ReadOnlyAccess"),)
        name = f"user-{number}"
        people.append(
            UserDetail(name, f"{IAM}:user/{name}", "", Attachments(tuple(inline), managed))
        )
    return Details(
        users=tuple(people),
        roles=tuple(
            RoleDetail(
                f"role-{number}",
                f"{IAM}:role/role-{number}",
                trust(ROOT if number % 2 else {"Service": "lambda.amazonaws.com"}),
                Attachments(managed=ADMIN if number % 10 == 0 else (aws("ReadOnlyAccess"),)),
            )
            for number in range(roles)
        ),
        policies={aws(name): ManagedPolicy(aws(name), doc) for name, doc in AWS_MANAGED.items()},
    )


def seed(iam: Any, user_boundaries: Any) -> None:
    """Create the account through the IAM API (`iam`: a client). moto has no API for a user's
    permissions boundary: `user_boundaries(name, arn)` sets it on moto's backend object."""
    for name, versions in POLICIES.items():
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(versions[0]))
        for version in versions[1:]:
            iam.create_policy_version(
                PolicyArn=local(name), PolicyDocument=json.dumps(version), SetAsDefault=False
            )
    for name, group in GROUPS.items():
        iam.create_group(GroupName=name)
        _attach(iam.put_group_policy, iam.attach_group_policy, {"GroupName": name}, group)
    for name, role in ROLES.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role.trust))
        _attach(iam.put_role_policy, iam.attach_role_policy, {"RoleName": name}, role)
        if role.instance_profile:
            iam.create_instance_profile(InstanceProfileName=name)
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    for case in cases():
        iam.create_user(UserName=case.user)
        _attach(iam.put_user_policy, iam.attach_user_policy, {"UserName": case.user}, case)
        for group in case.groups:
            iam.add_user_to_group(GroupName=group, UserName=case.user)
        if case.boundary:
            user_boundaries(case.user, case.boundary)


def _attach(put: Any, attach: Any, who: dict[str, str], holder: Any) -> None:
    for policy, document in holder.inline.items():
        put(**who, PolicyName=policy, PolicyDocument=json.dumps(document))
    for arn in holder.managed:
        attach(**who, PolicyArn=arn)
