"""The crafted account's cases of paths to administrator through other principals: other
users' credentials, roles, and roles passed to services that run code (see privilege_account)."""

from __future__ import annotations

from tests.support.privilege_account import IAM, MFA, Case, allow, aws, combined, deny

PASS_ALL = allow("iam:PassRole")
PATH_CASES = (
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
