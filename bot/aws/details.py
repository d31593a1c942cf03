"""The account's authorization details from GetAccountAuthorizationDetails, read into the domain's
`Details` (bot.domain.authorization) for the privilege verdicts: users, groups, roles and
customer managed policies in one paginated call, then the AWS managed policies attached to any
of them (as permissions or as a boundary) in a second, only when there are some that the scan
has not read yet in another account (AwsManagedPolicies).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from bot.domain.authorization import (
    AWS_MANAGED_PREFIX,
    Attachments,
    Details,
    GroupDetail,
    ManagedPolicy,
    RoleDetail,
    UserDetail,
)

log = logging.getLogger(__name__)

ENTITIES = ["User", "Group", "Role", "LocalManagedPolicy"]
AWS_POLICIES = ["AWSManagedPolicy"]
BULK_PAGES = {"PageSize": 1000}
# Most principals have neither inline nor attached policies of their own: they share this one.
NO_ATTACHMENTS = Attachments()


class CutShortListing(RuntimeError):
    """IAM said more pages follow (IsTruncated) and gave no Marker to read them by: what was
    read is not the whole listing, and must not be taken for it (a user missing from it would
    seem deleted, and its findings resolved)."""


def iam_pages(iam: Any, operation: str, **parameters: Any) -> Iterator[dict[str, Any]]:
    """Every page of a paginated IAM listing, or CutShortListing: botocore's paginator stops
    without a word at a page that says more follow but gives no Marker."""
    for page in iam.get_paginator(operation).paginate(**parameters):
        if page.get("IsTruncated") and not page.get("Marker"):
            name = iam.meta.method_to_api_mapping.get(operation, operation)
            raise CutShortListing(
                f"{name}: IAM said more pages follow but gave no marker to read them by, "
                "so the account's listing could not be read whole"
            )
        yield page


def bulk_pages(iam: Any, entities: list[str]) -> Iterator[dict[str, Any]]:
    yield from iam_pages(
        iam, "get_account_authorization_details", Filter=entities, PaginationConfig=BULK_PAGES
    )


class AwsManagedPolicies:
    """The AWS managed policies a scan has read, by ARN, for all its accounts: an AWS managed
    policy is one for all of AWS (one document in force, whatever the account), so it is read
    in the first account that attaches it, and an account whose attached ones were all read
    makes no second call. Accounts read at once may both read a policy; both keep the same."""

    def __init__(self) -> None:
        self._read: dict[str, ManagedPolicy] = {}

    def of(self, iam: Any, wanted: set[str]) -> dict[str, ManagedPolicy]:
        if any(arn not in self._read for arn in wanted):
            documents = Documents()
            # AWS's own policies are judged by what their documents say, not by their names
            for page in bulk_pages(iam, AWS_POLICIES):
                for policy in page.get("Policies", []):
                    if policy["Arn"] in wanted:
                        self._read[policy["Arn"]] = _policy(policy, documents, other_versions=False)
        return {arn: self._read[arn] for arn in wanted if arn in self._read}


def account_details(
    iam: Any, aws_policies: AwsManagedPolicies | None = None
) -> tuple[Details, list[dict[str, Any]]]:
    """The account's details, and its users as the bulk call lists them (for tags and ids).
    `aws_policies`: those the scan has read so far (none: read them all)."""
    documents = Documents()
    users: list[dict[str, Any]] = []
    groups: dict[str, GroupDetail] = {}
    roles: list[RoleDetail] = []
    policies: dict[str, ManagedPolicy] = {}
    for page in bulk_pages(iam, ENTITIES):
        users.extend(page.get("UserDetailList", []))
        for group in page.get("GroupDetailList", []):
            name = group["GroupName"]
            groups[name] = GroupDetail(
                name, group["Arn"], _attachments(group, "GroupPolicyList", documents)
            )
        roles.extend(_role(role, documents) for role in page.get("RoleDetailList", []))
        for policy in page.get("Policies", []):
            policies[policy["Arn"]] = _policy(policy, documents)
    people = tuple(_user(user, documents) for user in users)
    wanted = _aws_managed_in_use(people, groups.values(), roles)
    if wanted:
        policies.update((aws_policies or AwsManagedPolicies()).of(iam, wanted))
    return Details(people, groups, tuple(roles), policies), users


def _user(user: dict[str, Any], documents: Documents) -> UserDetail:
    return UserDetail(
        user["UserName"],
        user["Arn"],
        user.get("UserId", ""),
        _attachments(user, "UserPolicyList", documents),
        tuple(user.get("GroupList", ())),
        _boundary(user),
    )


def _role(role: dict[str, Any], documents: Documents) -> RoleDetail:
    return RoleDetail(
        role["RoleName"],
        role["Arn"],
        documents(role.get("AssumeRolePolicyDocument")),
        _attachments(role, "RolePolicyList", documents),
        _boundary(role),
        bool(role.get("InstanceProfileList")),
    )


def _attachments(entity: dict[str, Any], inline_key: str, documents: Documents) -> Attachments:
    inline = entity.get(inline_key)
    managed = entity.get("AttachedManagedPolicies")
    if not inline and not managed:
        return NO_ATTACHMENTS
    return Attachments(
        tuple(
            (policy["PolicyName"], documents(policy.get("PolicyDocument")))
            for policy in inline or ()
        ),
        tuple(policy["PolicyArn"] for policy in managed or ()),
    )


def _boundary(entity: dict[str, Any]) -> str | None:
    boundary = entity.get("PermissionsBoundary")
    return boundary.get("PermissionsBoundaryArn") if boundary else None


def _policy(
    policy: dict[str, Any], documents: Documents, other_versions: bool = True
) -> ManagedPolicy:
    default, others = None, []
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            default = documents(version.get("Document"))
        elif other_versions:
            others.append(documents(version.get("Document")))
    return ManagedPolicy(policy["Arn"], default, tuple(others))


def _aws_managed_in_use(
    users: tuple[UserDetail, ...], groups: Any, roles: list[RoleDetail]
) -> set[str]:
    arns: set[str] = set()
    for entity in (*users, *groups, *roles):
        arns.update(entity.policies.managed)
        arns.add(getattr(entity, "boundary", None) or "")
    return {arn for arn in arns if AWS_MANAGED_PREFIX in arn}


class Documents:
    """Policy documents, read from either form: as IAM sends them, URL-encoded JSON (a fast
    session's clients leave botocore's decoding off, see bot.aws.fast), or as botocore's
    json_decode_policies decoded them (AWS_FAST_PARSING=false). The same text is read once, into
    the same object, so that the domain reads a policy copied onto many users once too."""

    def __init__(self) -> None:
        self._read: dict[str, Any] = {}

    def __call__(self, raw: Any) -> Any:
        if not isinstance(raw, str):  # botocore decoded it (decode_quoted_jsondoc)
            return raw
        if raw not in self._read:
            self._read[raw] = document(raw)
        return self._read[raw]


def document(raw: str) -> Any:
    """A URL-encoded policy document; None when it cannot be read."""
    try:
        return json.loads(unquote(raw))
    except ValueError:
        log.warning("a policy document could not be read; its statements are not considered")
        return None
