"""cloudsplaining's verdicts on the crafted account (issue 22), for bench.privilege. Runs in
cloudsplaining's own virtualenv (.venv-cloudsplaining). cloudsplaining judges policies, not
principals: a user is privileged here when any policy it holds (its own, inline or attached,
or its groups') has a PrivilegeEscalation finding. Its default exclusions are dropped (they
leave AdministratorAccess out "otherwise this will take a long time").

    .venv-cloudsplaining/bin/python -m bench.privilege_cloudsplaining DETAILS.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from cloudsplaining.scan.authorization_details import AuthorizationDetails
from cloudsplaining.shared.exclusions import Exclusions


def escalations(policy: dict[str, Any]) -> list[Any]:
    return policy.get("PrivilegeEscalation", {}).get("findings", [])


def main() -> None:
    details = json.loads(Path(sys.argv[1]).read_text())
    started = time.perf_counter()
    results = AuthorizationDetails(details, exclusions=Exclusions({})).results
    policies = {
        **results["inline_policies"],
        **results["aws_managed_policies"],
        **results["customer_managed_policies"],
    }
    verdicts = {}
    for user in results["users"].values():
        held = [user, *user.get("groups", {}).values()]
        found = [
            f"{policies[policy]['PolicyName']}: {escalations(policies[policy])}"
            for holder in held
            for kind in ("inline_policies", "customer_managed_policies", "aws_managed_policies")
            for policy in holder.get(kind, {})
            if escalations(policies[policy])
        ]
        verdicts[user["name"]] = [bool(found), "; ".join(found) or None]
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "verdicts": verdicts}, default=str))


if __name__ == "__main__":
    main()
