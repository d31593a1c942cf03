"""The crafted account's cases of one user's own policies: identity policies as a whole,
Deny, boundaries, NotAction and NotResource, conditions, managed policy versions and
self-escalation (see privilege_account)."""

from __future__ import annotations

from tests.support.privilege_account import (
    ADMIN,
    IAM,
    MFA,
    Case,
    allow,
    aws,
    deny,
    local,
)

IDENTITY_CASES = (
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
)
