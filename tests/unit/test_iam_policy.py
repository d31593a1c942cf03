"""iam-policy.json and the roles in deploy/ grant every AWS action the code calls, and nothing
else; the read-only variants grant no removal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.templates import BOT_ROLE, MEMBER_ROLE, granted_actions, load_template

ROOT = Path(__file__).resolve().parents[2]
# sts:GetCallerIdentity needs no permission (AWS documents it as always allowed).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
CLIENTS = {
    "iam": "iam",
    "sts": "sts",
    "organizations": "organizations",
    "securityhub": "securityhub",
}
# bot/aws/demo.py only ever talks to the embedded simulated account, never to AWS.
SIMULATION_ONLY = {"demo.py"}
# What changes an account. A read-only role grants none of it, including what the code may
# call one day (deactivating an access key).
REMOVALS = {"iam:DeleteLoginProfile", "iam:UpdateAccessKey"}
# Called only with KEY_DELETE_AFTER_DAYS set (off by default): granted by no policy here, and
# documented as what that setting needs (issue 23: deactivation, never deletion, by default).
OPT_IN = {"iam:DeleteAccessKey"}
# Called only with SECURITY_HUB=true (off by default).
SECURITY_HUB = {"securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"}


def camel(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))


def actions_called_by_the_code() -> set[str]:
    # boto3 is used only in bot/aws/ (an import-linter contract keeps it there).
    paths = [p for p in (ROOT / "bot" / "aws").glob("*.py") if p.name not in SIMULATION_ONLY]
    source = "\n".join(path.read_text() for path in paths)
    found = set()
    for client, service in CLIENTS.items():
        # get_paginator names a call, made page by page; can_paginate and meta make none
        for method in re.findall(
            rf"\b{client}\.(?!get_paginator|can_paginate|meta)(\w+)\(", source
        ):
            found.add(f"{service}:{camel(method)}")
        for method in re.findall(rf'\b{client}\.get_paginator\("(\w+)"\)', source):
            found.add(f"{service}:{camel(method)}")
        # bot.aws.details.iam_pages reads a listing page by page, named by its operation
        for method in re.findall(rf'\biam_pages\(\s*{client},\s*"(\w+)"', source):
            found.add(f"{service}:{camel(method)}")
    return found - NEEDS_NO_PERMISSION - OPT_IN


def test_what_only_an_opt_in_setting_calls_is_called_and_documented():
    paths = [p for p in (ROOT / "bot" / "aws").glob("*.py") if p.name not in SIMULATION_ONLY]
    source = "\n".join(path.read_text() for path in paths)
    assert "iam.delete_access_key(" in source
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "`iam:DeleteAccessKey`" in operations and "KEY_DELETE_AFTER_DAYS" in operations


def test_policy_covers_exactly_what_the_code_calls():
    policy = json.loads((ROOT / "iam-policy.json").read_text())
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    called = actions_called_by_the_code()
    assert "iam:DeleteLoginProfile" in called and "iam:GenerateCredentialReport" in called
    assert "iam:UpdateAccessKey" in called and not granted & OPT_IN
    assert called >= SECURITY_HUB
    assert granted == called, {"missing": called - granted, "unused": granted - called}
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])


def test_the_bot_s_role_grants_what_the_code_calls():
    """The bot scans the account it runs in with its own role, and reaches the others."""
    called = actions_called_by_the_code()
    granted = granted_actions(load_template(BOT_ROLE))
    assert granted == called, {"missing": called - granted, "unused": granted - called}


def test_the_member_role_grants_what_the_code_calls_in_another_account():
    """In a member account the bot only calls IAM: discovery and AssumeRole happen at home."""
    called = {action for action in actions_called_by_the_code() if action.startswith("iam:")}
    granted = granted_actions(load_template(MEMBER_ROLE))
    assert granted == called, {"missing": called - granted, "unused": granted - called}


def test_the_read_only_variants_scan_but_remove_nothing():
    for path in (MEMBER_ROLE, BOT_ROLE):
        template = load_template(path)
        assert template["Conditions"]["Removes"] == {
            "Fn::Equals": [{"Ref": "AllowRemoval"}, "true"]
        }
        everything = granted_actions(template)
        read_only = granted_actions(template, false=frozenset({"Removes"}))
        assert read_only == everything - REMOVALS, path.name
        assert "iam:GenerateCredentialReport" in read_only and "iam:GetUser" in read_only


def test_the_bot_s_role_grants_security_hub_only_when_asked():
    """SECURITY_HUB is off by default, and so is the role's grant: the parameter says it."""
    template = load_template(BOT_ROLE)
    assert template["Parameters"]["SecurityHub"]["Default"] == "false"
    assert template["Conditions"]["PublishesToSecurityHub"] == {
        "Fn::Equals": [{"Ref": "SecurityHub"}, "true"]
    }
    everything = granted_actions(template)
    without = granted_actions(template, false=frozenset({"PublishesToSecurityHub"}))
    assert without == everything - SECURITY_HUB and everything >= SECURITY_HUB
