"""What moto cannot check in deploy/, read from the templates themselves: who may assume the
member role and with which external id (moto checks no cross-account trust), how the StackSet
deploys (moto neither creates AWS::CloudFormation::StackSet resources nor auto-deploys), and the
names the bot's settings and the templates share. tests/integration/test_deploy.py creates the
stacks in moto and scans and removes through them."""

from __future__ import annotations

from bot.domain.settings import DEFAULT_ORG_ROLE_NAME, ROLE_NAME_PATTERN
from tests.support.templates import (
    BOT_ROLE,
    MEMBER_ROLE,
    STACKSET,
    load_template,
    resources_of,
)


def member_trust() -> list[dict]:
    role = load_template(MEMBER_ROLE)["Resources"]["Role"]
    return role["Properties"]["AssumeRolePolicyDocument"]["Statement"]


def test_only_the_bot_may_assume_the_member_role_and_only_with_the_external_id():
    (statement,) = member_trust()
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert statement["Principal"] == {
        "AWS": {
            "Fn::If": [
                "TrustBotRole",
                {"Fn::Sub": "arn:${AWS::Partition}:iam::${BotAccountId}:role/${BotRoleName}"},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::${BotAccountId}:root"},
            ]
        }
    }
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


def test_the_external_id_is_required_and_never_shown():
    for path in (MEMBER_ROLE, STACKSET):
        external_id = load_template(path)["Parameters"]["ExternalId"]
        assert external_id["NoEcho"] is True and "Default" not in external_id, path.name
        assert external_id["MinLength"] >= 2  # AWS's own minimum for an external id


def test_the_bot_assumes_only_the_member_role_by_name():
    template = load_template(BOT_ROLE)
    statements = [
        statement
        for policy in resources_of(template, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (assume,) = [s for s in statements if "sts:AssumeRole" in s["Action"]]
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}


def test_the_role_name_is_the_bot_s_default_everywhere():
    """AWS_ORG_ROLE_NAME's default is the name the templates give the member role."""
    defaults = {
        load_template(MEMBER_ROLE)["Parameters"]["RoleName"]["Default"],
        load_template(BOT_ROLE)["Parameters"]["MemberRoleName"]["Default"],
        load_template(STACKSET)["Parameters"]["RoleName"]["Default"],
    }
    assert defaults == {DEFAULT_ORG_ROLE_NAME}
    assert ROLE_NAME_PATTERN.fullmatch(DEFAULT_ORG_ROLE_NAME)
    # the bot builds the member role's ARN from its name alone
    assert load_template(MEMBER_ROLE)["Resources"]["Role"]["Properties"]["Path"] == "/"


def test_the_stackset_reaches_every_account_of_its_units_now_and_later():
    template = load_template(STACKSET)
    (stackset,) = resources_of(template, "AWS::CloudFormation::StackSet").values()
    properties = stackset["Properties"]
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert properties["Capabilities"] == ["CAPABILITY_NAMED_IAM"]  # the role has a name
    (group,) = properties["StackInstancesGroup"]
    assert group["Regions"] == [{"Ref": "AWS::Region"}]  # IAM is global: one region
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}}


def test_the_stackset_passes_every_member_role_parameter_on_with_its_default():
    member = load_template(MEMBER_ROLE)["Parameters"]
    template = load_template(STACKSET)
    (stackset,) = resources_of(template, "AWS::CloudFormation::StackSet").values()
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in stackset["Properties"]["Parameters"]}
    assert passed == {name: {"Ref": name} for name in member}
    for name, parameter in member.items():
        assert template["Parameters"][name].get("Default") == parameter.get("Default"), name
