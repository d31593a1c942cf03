"""iam-policy.json grants every AWS action the code calls, and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# sts:GetCallerIdentity needs no permission (AWS documents it as always allowed).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
CLIENTS = {"iam": "iam", "sts": "sts", "organizations": "organizations"}
# bot/aws/demo.py only ever talks to the embedded simulated account, never to AWS.
SIMULATION_ONLY = {"demo.py"}


def camel(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))


def actions_called_by_the_code() -> set[str]:
    # boto3 is used only in bot/aws/ (an import-linter contract keeps it there).
    paths = [p for p in (ROOT / "bot" / "aws").glob("*.py") if p.name not in SIMULATION_ONLY]
    source = "\n".join(path.read_text() for path in paths)
    found = set()
    for client, service in CLIENTS.items():
        for method in re.findall(rf"\b{client}\.(?!get_paginator|meta)(\w+)\(", source):
            found.add(f"{service}:{camel(method)}")
        for method in re.findall(rf'\b{client}\.get_paginator\("(\w+)"\)', source):
            found.add(f"{service}:{camel(method)}")
    return found


def test_policy_covers_exactly_what_the_code_calls():
    policy = json.loads((ROOT / "iam-policy.json").read_text())
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    called = actions_called_by_the_code() - NEEDS_NO_PERMISSION
    assert "iam:DeleteLoginProfile" in called and "iam:GenerateCredentialReport" in called
    assert granted == called, {"missing": called - granted, "unused": granted - called}
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
