"""The CloudFormation templates in deploy/, read as CloudFormation reads them: YAML whose short
function forms (`!Ref`, `!Sub`, `!If`, ...) become their long forms (`{"Fn::Sub": ...}`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATES = sorted(DEPLOY.glob("*.yaml"))
MEMBER_ROLE = DEPLOY / "member-role.yaml"
BOT_ROLE = DEPLOY / "bot-role.yaml"
STACKSET = DEPLOY / "stackset.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    pass


def _long_form(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if tag == "Ref" else f"Fn::{tag}": value}


_CloudFormationLoader.add_multi_constructor("!", _long_form)


def load_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def granted_actions(template: dict[str, Any], *, false: frozenset[str] = frozenset()) -> set[str]:
    """Every action the template's policies allow, the resources whose Condition is in `false`
    left out (as CloudFormation leaves them out)."""
    for role in resources_of(template, "AWS::IAM::Role").values():
        # every grant is a managed policy of its own, so that a condition can leave it out
        assert not {"Policies", "ManagedPolicyArns"} & set(role["Properties"])
    actions = set()
    for policy in resources_of(template, "AWS::IAM::ManagedPolicy").values():
        if policy.get("Condition") in false:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            granted = statement["Action"]
            actions.update([granted] if isinstance(granted, str) else granted)
    return actions
