"""An embedded, simulated AWS account (moto) with a realistic mix of IAM users.

`python -m bot scan --demo` scans it, so a new user sees real output without an AWS account.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import AccessKeyLastUsed, AWSManagedPolicy, iam_backends

from bot.aws.fast import aws_session

DEMO_ACCOUNT_ID = DEFAULT_ACCOUNT_ID
DEMO_REGION = "us-east-1"
ADMINISTRATOR_ACCESS_CREATED = "2015-02-06T18:39:46+00:00"


@dataclass(frozen=True)
class DemoKey:
    used_days_ago: int | None
    active: bool = True


@dataclass(frozen=True)
class DemoUser:
    """One IAM user, described by ages in days relative to now."""

    name: str
    created_days_ago: int
    password: bool = True
    password_used_days_ago: int | None = None
    keys: tuple[DemoKey, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    mfa: bool = False


ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ALLOW_IAM = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
}


class DemoGrants(TypedDict, total=False):
    managed: str  # a managed policy's ARN
    inline: Mapping[str, object]  # an inline policy document


# Groups the demo's users may be in: one with AWS's AdministratorAccess, one with an inline
# policy allowing iam:*, one read-only.
DEMO_GROUPS: dict[str, DemoGrants] = {
    "admins": {"managed": ADMINISTRATOR_ACCESS},
    "iam-operators": {"inline": ALLOW_IAM},
    "readers": {},
}


DEMO_USERS = (
    DemoUser("alice@example.com", 800, password_used_days_ago=210, groups=("admins",)),
    DemoUser(
        "bob",
        600,
        password_used_days_ago=120,
        keys=(DemoKey(2),),
        tags={"owner": "bob@example.com"},
    ),
    DemoUser(
        "carol",
        500,
        password_used_days_ago=3,
        keys=(DemoKey(120),),
        tags={"owner": "carol@example.com"},
    ),
    DemoUser("ci-deploy", 900, password=False, keys=(DemoKey(0),), tags={"owner": "U0PLATFORM"}),
    DemoUser("dave", 300, tags={"owner": "dave@example.com"}, groups=("iam-operators",)),
    DemoUser("erin", 30, tags={"owner": "erin@example.com"}),
    DemoUser(
        "frank",
        400,
        password_used_days_ago=95,
        keys=(DemoKey(10, active=False),),
        tags={"owner": "frank@example.com"},
    ),
    DemoUser(
        "grace", 700, password_used_days_ago=100, keys=(DemoKey(60),), tags={"owner": "U0GRACE01"}
    ),
    DemoUser(
        "heidi",
        700,
        password_used_days_ago=365,
        tags={"owner": "heidi@example.com", "iam-inactive:exempt": "break-glass"},
    ),
    DemoUser(
        "ivan",
        1200,
        password_used_days_ago=400,
        keys=(DemoKey(None), DemoKey(300)),
        groups=("admins",),
        mfa=True,
    ),
    DemoUser("judy", 200, password_used_days_ago=89, tags={"owner": "judy@example.com"}),
    DemoUser(
        "svc-reporting",
        1000,
        password_used_days_ago=700,
        keys=(DemoKey(1), DemoKey(None)),
        tags={"owner": "data-team@example.com"},
    ),
    DemoUser("mallory", 365, password=False, password_used_days_ago=200),
    DemoUser("legacy-etl", 800, password=False, keys=(DemoKey(200),), tags={"owner": "U0PLATFORM"}),
    DemoUser("trent", 150, password_used_days_ago=91, tags={"owner": "trent@example.com"}),
)


def stable_user_id(name: str) -> str:
    """An IAM-shaped UserId (AIDA + 17 characters) that depends only on the user's name."""
    digest = hashlib.sha256(name.encode()).hexdigest().upper()
    return "AIDA" + digest[:17]


@contextmanager
def demo_aws(
    users: tuple[DemoUser, ...] = DEMO_USERS, *, fast: bool = True
) -> Iterator[boto3.Session]:
    """A simulated account seeded with `users`; yields a session that talks to it (`fast`:
    AWS_FAST_PARSING, see bot.aws.fast)."""
    with mock_aws():
        session = aws_session(
            fast, aws_access_key_id="demo", aws_secret_access_key="demo", region_name=DEMO_REGION
        )
        seed_users(session, users, datetime.now(UTC))
        yield session


def seed_users(
    session: boto3.Session,
    users: tuple[DemoUser, ...],
    now: datetime,
    account_id: str = DEMO_ACCOUNT_ID,
) -> None:
    """Create `users` through the IAM API, then set the dates no API can set (moto's backend)."""
    iam = session.client("iam")
    backend = iam_backends[account_id]["global"]
    _seed_groups(iam, backend, {group for user in users for group in user.groups})
    for user in users:
        tags = [{"Key": key, "Value": value} for key, value in user.tags.items()]
        iam.create_user(UserName=user.name, Tags=tags)
        if user.password:
            iam.create_login_profile(UserName=user.name, Password="Demo-password-1!")
        record = backend.users[user.name]
        record.id = stable_user_id(user.name)  # the same user in every run of the demo
        record.create_date = now - timedelta(days=user.created_days_ago)
        if user.password_used_days_ago is not None:
            # moto's User declares this attribute None; moto sets a datetime there on sign-in.
            used = now - timedelta(days=user.password_used_days_ago)
            record.password_last_used = used  # type: ignore[assignment]
        for group in user.groups:
            iam.add_user_to_group(GroupName=group, UserName=user.name)
        if user.mfa:
            _enable_mfa(iam, user.name)
        for made, key in enumerate(user.keys):
            key_id = iam.create_access_key(UserName=user.name)["AccessKey"]["AccessKeyId"]
            if not key.active:
                iam.update_access_key(UserName=user.name, AccessKeyId=key_id, Status="Inactive")
            # Made with the user, at the start of that day, a minute apart: a key is known by
            # when it was made, so it is the same key in every run of the demo (as its user is).
            day = record.create_date.replace(hour=0, minute=0, second=0, microsecond=0)
            backend.access_keys[key_id].create_date = day + timedelta(minutes=made)
            if key.used_days_ago is not None:
                backend.access_keys[key_id].last_used = AccessKeyLastUsed(
                    timestamp=now - timedelta(days=key.used_days_ago),
                    service="s3",
                    region=DEMO_REGION,
                )


def _seed_groups(iam: Any, backend: Any, names: set[str]) -> None:
    if not names:
        return
    # moto loads AWS's managed policies only on request, which costs a second: add the one
    # the demo uses.
    policy = AWSManagedPolicy.from_data(
        "AdministratorAccess",
        backend.account_id,
        backend.region_name,
        {
            "DefaultVersionId": "v1",
            "Path": "/",
            "Document": ALLOW_ALL,
            "CreateDate": ADMINISTRATOR_ACCESS_CREATED,
            "UpdateDate": ADMINISTRATOR_ACCESS_CREATED,
        },
    )
    backend.aws_managed_policies.append(policy)
    backend.managed_policies[policy.arn] = policy
    for name in sorted(names):
        iam.create_group(GroupName=name)
        grants = DEMO_GROUPS[name]
        if "managed" in grants:
            iam.attach_group_policy(GroupName=name, PolicyArn=grants["managed"])
        if "inline" in grants:
            iam.put_group_policy(
                GroupName=name,
                PolicyName=f"{name}-policy",
                PolicyDocument=json.dumps(grants["inline"]),
            )


def _enable_mfa(iam: Any, user_name: str) -> None:
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user_name)["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName=user_name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
