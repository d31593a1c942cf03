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


PASS_ALL = allow("iam:PassRole")
CASES = (
    # Identity policies, as a whole
    Case("admin-direct", True, "AdministratorAccess", "AWS's policy allows *:*", managed=ADMIN),
    Case(
        "admin-group",
        True,
        "AdministratorAccess through group admins",
        "a group's policies are the member's",
        groups=("admins",),
    ),
    Case("admin-inline", True, "inline policy all allows *:*", "*:* on *", {"all": allow("*:*")}),
    Case(
        "admin-customer",
        True,
        "policy break-glass allows *",
        "customer managed default version allows *",
        managed=(local("break-glass"),),
    ),
    Case(
        "quarantined",
        False,
        "AdministratorAccess, but denied by inline policy quarantine",
        "an explicit Deny of everything wins over any Allow",
        {"quarantine": deny("*")},
        managed=ADMIN,
    ),
    Case(
        "group-admin-denied",
        False,
        "AdministratorAccess through group admins, but denied by inline policy stop",
        "the user's own Deny applies to what its groups allow",
        {"stop": deny("*:*")},
        groups=("admins",),
    ),
    Case(
        "iam-full-denied",
        False,
        None,
        "IAMFullAccess with iam:* denied: nothing left to escalate with",
        {"no-iam": deny("iam:*")},
        managed=(aws("IAMFullAccess"),),
    ),
    Case(
        "iam-full",
        True,
        "can iam:PutUserPolicy on self",
        "iam:* lets the user grant itself anything",
        managed=(aws("IAMFullAccess"),),
    ),
    Case(
        "bounded-admin",
        False,
        "AdministratorAccess, but outside the boundary ReadOnlyAccess",
        "the boundary intersects: only reads are left",
        managed=ADMIN,
        boundary=aws("ReadOnlyAccess"),
    ),
    Case(
        "admin-bounded-by-admin",
        True,
        "AdministratorAccess",
        "a boundary of everything takes nothing away",
        managed=ADMIN,
        boundary=aws("AdministratorAccess"),
    ),
    Case(
        "bounded-escalation",
        False,
        None,
        "PutUserPolicy on self, but the boundary allows IAM only: no more than IAM either way",
        {"self-edit": allow("iam:PutUserPolicy", f"{IAM}:user/${{aws:username}}")},
        boundary=local("iam-only"),
    ),
    Case("reader", False, None, "reads only", managed=(aws("ReadOnlyAccess"),)),
    Case(
        "power-user",
        True,
        "can sts:AssumeRole into role ops-admin (AdministratorAccess)",
        "PowerUserAccess leaves sts:AssumeRole in, and ops-admin trusts the account",
        managed=(aws("PowerUserAccess"),),
    ),
    # NotAction, NotResource
    Case(
        "notaction-narrow",
        False,
        None,
        "everything but IAM/STS/Organizations, on one S3 prefix only",
        {
            "prefix": allow(
                None, "arn:aws:s3:::data/team/*", NotAction=["iam:*", "sts:*", "organizations:*"]
            )
        },
    ),
    Case(
        "notaction-broad",
        True,
        "can iam:PutUserPolicy on self",
        "everything but S3 leaves iam:PutUserPolicy on self",
        {"no-s3": allow(None, NotAction="s3:*")},
    ),
    Case(
        "notaction-no-iam-sts",
        False,
        None,
        "everything but IAM, STS and Organizations: no way to grant or assume",
        {"most": allow(None, NotAction=["iam:*", "sts:*", "organizations:*"])},
    ),
    Case(
        "notresource-admin",
        True,
        "inline policy most allows *",
        "* on every resource but one bucket is still administrator",
        {"most": allow("*", NotResource="arn:aws:s3:::payroll/*")},
    ),
    Case(
        "notresource-deny",
        False,
        "AdministratorAccess, but denied by inline policy fence",
        "a Deny of everything but one bucket",
        {"fence": deny("*", NotResource="arn:aws:s3:::public/*")},
        managed=ADMIN,
    ),
    # Conditions: reported, counted privileged
    Case(
        "admin-with-mfa",
        True,
        "inline policy mfa allows * when MFA is present",
        "administrator once signed in with MFA",
        {"mfa": allow("*", Condition=MFA)},
    ),
    Case(
        "admin-from-network",
        True,
        "inline policy office allows * from 10.0.0.0/8",
        "administrator from the corporate network",
        {"office": allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})},
    ),
    Case(
        "admin-deny-without-mfa",
        True,
        "AdministratorAccess when MFA is present",
        "a Deny without MFA leaves administrator with MFA",
        {
            "force-mfa": deny(
                "*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
            )
        },
        managed=ADMIN,
    ),
    # Managed policy versions
    Case(
        "staged-version",
        False,
        None,
        "only the default version is in force; * is in another",
        managed=(local("staged"),),
    ),
    Case(
        "restores-version",
        True,
        "can iam:SetDefaultPolicyVersion on policy staged, attached to it",
        "it can bring the version allowing * into force",
        {"restore": allow("iam:SetDefaultPolicyVersion", local("staged"))},
        managed=(local("staged"),),
    ),
    Case(
        "set-default-no-target",
        False,
        None,
        "SetDefaultPolicyVersion, but no policy of its has a version granting more",
        {"restore": allow("iam:SetDefaultPolicyVersion")},
    ),
    Case(
        "creates-version",
        True,
        "can iam:CreatePolicyVersion on policy self-service, attached to it",
        "it can write a new default version of a policy it holds",
        managed=(local("self-service"),),
    ),
    # Self-escalation
    Case(
        "puts-own-policy",
        True,
        "can iam:PutUserPolicy on self",
        "${aws:username} expands to itself",
        {"self": allow("iam:PutUserPolicy", f"{IAM}:user/${{aws:username}}")},
    ),
    Case(
        "attaches-others",
        False,
        None,
        "it can make another user administrator, not itself",
        {"others": allow("iam:AttachUserPolicy", f"{IAM}:user/admin-direct")},
    ),
    Case(
        "edits-own-group",
        True,
        "can iam:PutGroupPolicy on its group devs",
        "a policy on its own group is its own",
        {"group": allow("iam:PutGroupPolicy", f"{IAM}:group/devs")},
        groups=("devs",),
    ),
    Case(
        "joins-admins",
        True,
        "can iam:AddUserToGroup into group admins (AdministratorAccess through group admins)",
        "joining an administrators' group",
        {"join": allow("iam:AddUserToGroup", f"{IAM}:group/admins")},
    ),
    Case(
        "joins-readers",
        False,
        None,
        "it can join a group that grants reads only",
        {"join": allow("iam:AddUserToGroup", f"{IAM}:group/readers")},
    ),
    Case(
        "attaches-role-no-way-in",
        False,
        None,
        "AttachRolePolicy, but it cannot assume or pass any role",
        {"roles": allow("iam:AttachRolePolicy")},
    ),
    Case(
        "attaches-role-and-assumes",
        True,
        "can sts:AssumeRole into role app, and can iam:AttachRolePolicy on role app",
        "it can grant the role everything, then assume it",
        {"roles": allow(["iam:AttachRolePolicy", "sts:AssumeRole"], f"{IAM}:role/app")},
    ),
    # Other users' credentials
    Case(
        "keys-for-admin",
        True,
        "can iam:CreateAccessKey on user admin-direct (AdministratorAccess)",
        "a key of an administrator is its power",
        {"keys": allow("iam:CreateAccessKey", f"{IAM}:user/admin-direct")},
    ),
    Case(
        "keys-for-reader",
        False,
        None,
        "a key of a read-only user gives reads only",
        {"keys": allow("iam:CreateAccessKey", f"{IAM}:user/reader")},
    ),
    Case(
        "own-credentials",
        False,
        None,
        "AWS's manage-your-own-credentials policy: itself only",
        {
            "own": allow(
                ["iam:CreateAccessKey", "iam:UpdateLoginProfile"],
                "arn:aws:iam::*:user/${aws:username}",
            )
        },
    ),
    Case(
        "direct",
        True,
        "can iam:CreateAccessKey on user admin-direct (AdministratorAccess)",
        "user/*${aws:username} expands to user/*direct, which matches admin-direct",
        {"suffix": allow("iam:CreateAccessKey", "arn:aws:iam::*:user/*${aws:username}")},
    ),
    Case(
        "lonely-suffix",
        False,
        None,
        "user/*lonely-suffix matches no other user",
        {"suffix": allow("iam:CreateAccessKey", "arn:aws:iam::*:user/*${aws:username}")},
    ),
    Case(
        "resets-admin-password",
        True,
        "can iam:UpdateLoginProfile on user admin-direct (AdministratorAccess)",
        "a new console password of an administrator",
        {"reset": allow("iam:UpdateLoginProfile", f"{IAM}:user/admin-*")},
    ),
    # Roles
    Case(
        "assumes-any",
        True,
        "can sts:AssumeRole into role ops-admin (AdministratorAccess)",
        "ops-admin trusts the account, and the user may assume any role",
        {"assume": allow("sts:AssumeRole")},
    ),
    Case(
        "assume-named",
        True,
        "can sts:AssumeRole into role named-admin (AdministratorAccess)",
        "a trust naming the user itself needs no identity policy",
    ),
    Case(
        "assumes-partner",
        False,
        None,
        "partner-admin trusts another account only",
        {"assume": allow("sts:AssumeRole", f"{IAM}:role/partner-admin")},
    ),
    Case(
        "assumes-app",
        False,
        None,
        "app trusts the account but grants reads only",
        {"assume": allow("sts:AssumeRole", f"{IAM}:role/app")},
    ),
    Case(
        "assumes-hop",
        True,
        "can sts:AssumeRole into role hop, which can sts:AssumeRole into role ops-admin "
        "(AdministratorAccess)",
        "two roles: hop may assume ops-admin",
        {"assume": allow("sts:AssumeRole", f"{IAM}:role/hop")},
    ),
    Case(
        "assumes-with-mfa",
        True,
        "can sts:AssumeRole into role ops-admin when MFA is present (AdministratorAccess)",
        "assuming needs MFA: reported, counted",
        {"assume": allow("sts:AssumeRole", f"{IAM}:role/ops-admin", Condition=MFA)},
    ),
    Case(
        "assume-denied",
        False,
        None,
        "an explicit Deny of sts:AssumeRole",
        {"assume": combined(allow("sts:AssumeRole"), deny("sts:AssumeRole"))},
    ),
    Case(
        "rewrites-trust",
        True,
        "can iam:UpdateAssumeRolePolicy on role locked-admin (AdministratorAccess)",
        "it can make the administrator role trust itself",
        {"trust": allow("iam:UpdateAssumeRolePolicy", f"{IAM}:role/locked-admin")},
    ),
    # Passing roles to services that run code
    Case(
        "passes-to-lambda",
        True,
        "can iam:PassRole role lambda-admin to lambda.amazonaws.com with lambda:CreateFunction, "
        "lambda:InvokeFunction (AdministratorAccess)",
        "a function of its own runs as the administrator role",
        {"lambda": combined(PASS_ALL, allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))},
    ),
    Case(
        "creates-function-only",
        False,
        None,
        "it can create a function as the role but never run it",
        {"lambda": combined(PASS_ALL, allow("lambda:CreateFunction"))},
    ),
    Case(
        "passes-to-ec2",
        True,
        "can iam:PassRole role ec2-admin to ec2.amazonaws.com with ec2:RunInstances "
        "(AdministratorAccess)",
        "an instance of its own runs with the administrator instance profile",
        {"ec2": combined(PASS_ALL, allow("ec2:RunInstances"))},
    ),
    Case(
        "passes-to-ecs",
        False,
        None,
        "no administrator role trusts ECS tasks",
        {"ecs": combined(PASS_ALL, allow(["ecs:RegisterTaskDefinition", "ecs:RunTask"]))},
    ),
    Case(
        "lambda-full-access",
        True,
        "can iam:PassRole role lambda-admin to lambda.amazonaws.com with lambda:CreateFunction, "
        "lambda:InvokeFunction (AdministratorAccess)",
        "AWSLambda_FullAccess passes roles to Lambda, and lambda-admin trusts Lambda",
        managed=(aws("AWSLambda_FullAccess"),),
    ),
    Case(
        "passes-to-wrong-service",
        False,
        None,
        "PassRole only to EC2, and it cannot launch instances",
        {
            "pass": combined(
                allow(
                    "iam:PassRole",
                    Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
                ),
                allow("lambda:*"),
            )
        },
    ),
)


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
            for index, case in enumerate(CASES)
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
    for case in CASES:
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
