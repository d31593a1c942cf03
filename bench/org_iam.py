"""What bench.org_standin's accounts hold besides users, for the privilege verdicts (issue 22):
groups, roles and the AWS managed policies attached to them, rendered as
GetAccountAuthorizationDetails writes them (documents URL-encoded).

Each account: groups `admins` (AdministratorAccess), `readers` (ReadOnlyAccess) and `devs` (an
inline policy); ROLES roles trusting the account, one an administrator, two that Lambda may
assume, the rest readers; a user in ten is in `admins`, one in three in `readers`, one in seven
may manage its own credentials, one in fifty may assume any role.
"""

from __future__ import annotations

import json
from urllib.parse import quote

ROLES = 20
READ_SERVICES = ("s3", "ec2", "iam", "lambda", "rds", "dynamodb", "sqs", "sns")
READ_ONLY = {  # ReadOnlyAccess in its effect; AWS's names some 1,500 actions
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                f"{service}:{verb}*" for service in READ_SERVICES for verb in ("Get", "List")
            ],
            "Resource": "*",
        }
    ],
}
DOCUMENTS = {
    "AdministratorAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
    "ReadOnlyAccess": READ_ONLY,
}
OWN_CREDENTIALS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["iam:CreateAccessKey", "iam:UpdateLoginProfile", "iam:ChangePassword"],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        }
    ],
}
ASSUME_ANY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}


def _encoded(document: dict) -> str:
    return quote(json.dumps(document), safe="")


def _attached(*names: str) -> str:
    members = "".join(
        f"<member><PolicyName>{name}</PolicyName>"
        f"<PolicyArn>arn:aws:iam::aws:policy/{name}</PolicyArn></member>"
        for name in names
    )
    return f"<AttachedManagedPolicies>{members}</AttachedManagedPolicies>"


def _inline(kind: str, name: str, document: dict) -> str:
    return (
        f"<{kind}><member><PolicyName>{name}</PolicyName>"
        f"<PolicyDocument>{_encoded(document)}</PolicyDocument></member></{kind}>"
    )


def user_grants(number: int) -> str:
    """A user's GroupList, inline policies and attached policies."""
    groups = [g for g, every in (("admins", 10), ("readers", 3)) if number % every == 0]
    inline = (
        _inline("UserPolicyList", "own-credentials", OWN_CREDENTIALS)
        if number % 7 == 0
        else _inline("UserPolicyList", "assume", ASSUME_ANY)
        if number % 50 == 1
        else "<UserPolicyList/>"
    )
    group_list = "".join(f"<member>{group}</member>" for group in groups)
    return f"<GroupList>{group_list}</GroupList>{inline}<AttachedManagedPolicies/>"


def groups_and_roles(account_id: str, created: str) -> str:
    """GroupDetailList and RoleDetailList."""
    iam = f"arn:aws:iam::{account_id}"
    groups = "".join(
        f"<member><Path>/</Path><GroupName>{name}</GroupName><GroupId>AGPA{name}</GroupId>"
        f"<Arn>{iam}:group/{name}</Arn><CreateDate>{created}</CreateDate>{grants}</member>"
        for name, grants in (
            ("admins", "<GroupPolicyList/>" + _attached("AdministratorAccess")),
            ("readers", "<GroupPolicyList/>" + _attached("ReadOnlyAccess")),
            ("devs", _inline("GroupPolicyList", "devs", READ_ONLY) + _attached()),
        )
    )
    roles = []
    for number in range(ROLES):
        service = number in (1, 2)
        principal = {"Service": "lambda.amazonaws.com"} if service else {"AWS": f"{iam}:root"}
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
        name = f"role-{number:02d}"
        roles.append(
            f"<member><Path>/</Path><RoleName>{name}</RoleName><RoleId>AROA{number}</RoleId>"
            f"<Arn>{iam}:role/{name}</Arn><CreateDate>{created}</CreateDate>"
            f"<AssumeRolePolicyDocument>{_encoded(trust)}</AssumeRolePolicyDocument>"
            "<InstanceProfileList/><RolePolicyList/>"
            + _attached("AdministratorAccess" if number == 0 else "ReadOnlyAccess")
            + "</member>"
        )
    return (
        f"<GroupDetailList>{groups}</GroupDetailList><RoleDetailList>{''.join(roles)}"
        "</RoleDetailList>"
    )


def aws_managed_policies(created: str) -> str:
    """The Policies of the AWSManagedPolicy answer: those attached in the account."""
    return "".join(
        f"<member><PolicyName>{name}</PolicyName><PolicyId>ANPA{name}</PolicyId>"
        f"<Arn>arn:aws:iam::aws:policy/{name}</Arn><Path>/</Path>"
        "<DefaultVersionId>v1</DefaultVersionId><AttachmentCount>1</AttachmentCount>"
        f"<IsAttachable>true</IsAttachable><CreateDate>{created}</CreateDate>"
        f"<UpdateDate>{created}</UpdateDate><PolicyVersionList><member>"
        f"<Document>{_encoded(document)}</Document><VersionId>v1</VersionId>"
        f"<IsDefaultVersion>true</IsDefaultVersion><CreateDate>{created}</CreateDate>"
        "</member></PolicyVersionList></member>"
        for name, document in DOCUMENTS.items()
    )
