"""Which AWS accounts to scan, and a boto3 session for each.

Default: the account of the current credentials. `AWS_ROLE_ARNS`: one role per account.
`AWS_ORGANIZATION`: every active member of the Organization, through the role
`AWS_ORG_ROLE_NAME` (the account the bot runs in is scanned with the current credentials). Every
client comes from one base session, built by `bot.aws.fast.aws_session`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import boto3

from bot.aws import fast
from bot.aws.iam import CLIENT_CONFIG, GLOBAL_REGION, AccountIam
from bot.domain.scan import AccountTarget
from bot.domain.settings import Settings, account_of_role

ROLE_SESSION_NAME = "iam-inactive"
# A boto3 session builds one client at a time (it is not thread-safe); every client, in every
# account, comes from the one base session so that botocore parses its service models once.
_BUILDING = threading.Lock()
_STS: weakref.WeakKeyDictionary[boto3.Session, Any] = weakref.WeakKeyDictionary()


class DiscoveryError(RuntimeError):
    """Organizations answered, but there is nothing to scan."""


def resolve_targets(settings: Settings, base: boto3.Session) -> list[AccountTarget]:
    """The accounts this scan covers. Raises botocore errors when discovery itself fails."""
    if settings.organization:
        return _organization_targets(base, settings.org_role_name)
    if settings.role_arns:
        return [
            AccountTarget(account_id=account_of_role(arn), role_arn=arn)
            for arn in settings.role_arns
        ]
    return [AccountTarget(account_id=current_account(base))]


def target_for(settings: Settings, base: boto3.Session, account_id: str) -> AccountTarget:
    """How to act in one account a finding belongs to (for the live re-check and removal)."""
    for arn in settings.role_arns:
        if account_of_role(arn) == account_id:
            return AccountTarget(account_id, arn)
    if settings.organization and account_id != current_account(base):
        partition = base.get_partition_for_region(base.region_name or GLOBAL_REGION)
        return AccountTarget(account_id, _role_arn(partition, account_id, settings.org_role_name))
    return AccountTarget(account_id)


def _send_anything() -> None:
    pass


def account_iam(
    settings: Settings,
    base: boto3.Session,
    account_id: str,
    before_each_request: Callable[[], None] = _send_anything,
) -> AccountIam:
    """IAM in the account a finding belongs to, for the live re-check and the removal
    (`before_each_request`: as for `iam_in`)."""
    target = target_for(settings, base, account_id)
    client = iam_in(target, base, settings.external_id, before_each_request)
    return AccountIam(client, account_id, before_each_request)


# The STS client is shared by every account, and each AssumeRole is made (and retried) in the
# thread of the account it is for: the check for that account is the thread's.
_ASSUMING = threading.local()


def _check_the_assuming_account(**_kwargs: Any) -> None:
    getattr(_ASSUMING, "before_each_request", _send_anything)()


def iam_in(
    target: AccountTarget,
    base: boto3.Session,
    external_id: str | None,
    before_each_request: Callable[[], None] = _send_anything,
) -> Any:
    """An IAM client acting in the target account (through its role when there is one).

    `before_each_request` is called before every request made for the account, the AssumeRole
    and its retries included; what it raises stops the request and is raised to the caller."""
    if target.role_arn is None:
        iam = client(base, "iam")
    else:
        extra = {"ExternalId": external_id} if external_id else {}
        sts = _sts(base)
        _ASSUMING.before_each_request = before_each_request
        try:
            credentials = sts.assume_role(
                RoleArn=target.role_arn, RoleSessionName=ROLE_SESSION_NAME, **extra
            )["Credentials"]
        finally:
            _ASSUMING.before_each_request = _send_anything
        iam = client(
            base,
            "iam",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    iam.meta.events.register_first("before-send.iam", lambda **_: before_each_request())
    # botocore reads a service's paginators when one is first asked for, after listing every
    # service's folder for them (a thousand file checks). Read here, before the first IAM
    # request, rather than by the bulk call's thread while the terminal scan loads its database:
    # there each check waited on the GIL, and the bulk call went out 100 ms late.
    iam.can_paginate("get_account_authorization_details")
    return iam


def client(base: boto3.Session, service: str, **credentials: str) -> Any:
    """A client of the base session (with other `credentials`, to act in another account),
    made ready by bot.aws.fast (which reads its answers faster when the session was built so)."""
    with _BUILDING:
        built = base.client(
            service,
            region_name=base.region_name or GLOBAL_REGION,
            config=CLIENT_CONFIG,
            **credentials,
        )
    return fast.prepare(base, built)


def _sts(base: boto3.Session) -> Any:
    """The base session's STS client, one for every role the scan assumes."""
    if base not in _STS:
        sts = client(base, "sts")
        sts.meta.events.register_first("before-send.sts.AssumeRole", _check_the_assuming_account)
        _STS.setdefault(base, sts)
    return _STS[base]


def current_account(base: boto3.Session) -> str:
    """The account of the base session's own credentials (GetCallerIdentity needs no grant)."""
    sts = _sts(base)
    return sts.get_caller_identity()["Account"]


def _organization_targets(base: boto3.Session, role_name: str) -> list[AccountTarget]:
    organizations = client(base, "organizations")
    current = current_account(base)
    targets = []
    for page in organizations.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            if account.get("State", account.get("Status")) != "ACTIVE":
                continue
            account_id = account["Id"]
            partition = account["Arn"].split(":")[1]
            role_arn = (
                None if account_id == current else _role_arn(partition, account_id, role_name)
            )
            targets.append(AccountTarget(account_id, role_arn, account.get("Name")))
    if not targets:
        raise DiscoveryError("AWS Organizations listed no active accounts")
    return targets


def _role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"
