"""The crafted privilege account (privilege_account) in moto: what moto's API cannot set, set on
its backend, and what moto's bulk answer leaves out, filled in. Used by the integration test,
bench.privilege and bench.privilege_pmapper (which runs in PMapper's own virtualenv)."""

from __future__ import annotations

import json
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends

from tests.support.privilege_account import ACCOUNT, AWS_MANAGED, seed


def seed_moto(iam: Any) -> None:
    """The account, through `iam` (a client of moto, in this process or its server)."""
    load_aws_managed_policies()
    seed(iam, set_user_boundary)


def load_aws_managed_policies() -> None:
    """AWS's own documents of the policies the account uses, as moto copies them (moto loads
    none unless asked, and all 1,500 of them when asked, which takes seconds)."""
    backend = iam_backends[ACCOUNT]["global"]
    data = json.loads(aws_managed_policies_data)
    for name in AWS_MANAGED:
        policy = AWSManagedPolicy.from_data(name, ACCOUNT, backend.region_name, data[name])
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy


def set_user_boundary(name: str, arn: str) -> None:
    """moto has no PutUserPermissionsBoundary: set it on moto's user, as its roles hold it."""
    user = iam_backends[ACCOUNT]["global"].users[name]
    user.permissions_boundary = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def name_policies(parsed: dict[str, Any], **_: Any) -> None:
    """moto leaves PolicyName and PolicyId out of the bulk answer's policies, where AWS sends
    them (the bot reads neither; PMapper and cloudsplaining need them). Usable as a botocore
    after-call handler."""
    for policy in parsed.get("Policies", []):
        policy.setdefault("PolicyName", policy["Arn"].rsplit("/", 1)[-1])
        policy.setdefault("PolicyId", policy["PolicyName"])
