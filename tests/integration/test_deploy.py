"""deploy/ as an Organization deploys it: the bot's role and the StackSet of member roles are
created by moto's CloudFormation, then the bot scans and removes through them, with its
external id. With moto's IAM authorization on, the read-only role scans and is refused the
removal, and the person is told which action the role lacks. cfn-lint passes on every template.

What moto cannot check (who the member role trusts and on which condition, automatic
deployment) is read from the templates in tests/unit/test_deploy_templates.py."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint_file
from moto.core import set_initial_no_auth_action_count
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from bot.aws.accounts import ROLE_SESSION_NAME
from bot.aws.demo import DEMO_ACCOUNT_ID, DEMO_REGION, seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from storage.db import make_engine, migrate
from tests.integration.conftest import OWNED, assumed, scans, start_bot
from tests.support.bot_harness import CHANNEL, OWNER
from tests.support.templates import BOT_ROLE, MEMBER_ROLE, STACKSET, TEMPLATES, load_template

EXTERNAL_ID = "iam-inactive-4f1d9c"
DM = "D0OWNER"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_cfn_lint_passes(template):
    problems = lint_file(template, config=ManualArgs(regions=[DEMO_REGION]))
    assert [str(problem) for problem in problems] == []


def resolved(node, values):
    """A template's fragment with each `Ref` replaced by its value."""
    if isinstance(node, dict):
        if list(node) == ["Ref"]:
            return values[node["Ref"]]
        return {key: resolved(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value, values) for value in node]
    return node


def deploy_stackset(cloudformation, values) -> None:
    """deploy/stackset.yaml's StackSet, its parameters `values` or their defaults, made through
    the API calls its properties name (moto's CloudFormation creates no AWS::CloudFormation::
    StackSet resource): boto3 checks that they are the API's, and moto deploys the member role
    to every account of the units."""
    template = load_template(STACKSET)
    defaults = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    (resource,) = template["Resources"].values()
    properties = resolved(resource["Properties"], defaults | values)
    (instances,) = properties.pop("StackInstancesGroup")
    preferences = properties.pop("OperationPreferences")
    del properties["TemplateURL"]  # moto reads no S3 URL: the template itself
    cloudformation.create_stack_set(**properties, TemplateBody=MEMBER_ROLE.read_text())
    cloudformation.create_stack_instances(
        StackSetName=properties["StackSetName"],
        CallAs=properties["CallAs"],
        OperationPreferences=preferences,
        **instances,
    )


def deploy(aws_session, allow_removal: str) -> tuple[str, str]:
    """An Organization with one member account, the bot's role in the management account, and
    the member role everywhere, as docs/operations.md deploys them: the member account's id
    and the bot's role."""
    organizations = aws_session.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    created = organizations.create_account(AccountName="prod", Email="prod@example.com")
    member = created["CreateAccountStatus"]["AccountId"]
    (root,) = organizations.list_roots()["Roots"]
    cloudformation = aws_session.client("cloudformation")
    cloudformation.create_stack(
        StackName="iam-inactive-bot",
        TemplateBody=BOT_ROLE.read_text(),
        Parameters=[{"ParameterKey": "AllowRemoval", "ParameterValue": allow_removal}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    (stack,) = cloudformation.describe_stacks(StackName="iam-inactive-bot")["Stacks"]
    bot_role = {out["OutputKey"]: out["OutputValue"] for out in stack["Outputs"]}["RoleArn"]
    values = {
        "MemberRoleTemplateURL": "https://bucket.s3.amazonaws.com/member-role.yaml",
        "OrganizationalUnitIds": [root["Id"]],
        "BotAccountId": DEMO_ACCOUNT_ID,
        "ExternalId": EXTERNAL_ID,
        "AllowRemoval": allow_removal,
        "AWS::Region": DEMO_REGION,
    }
    deploy_stackset(cloudformation, values)
    return member, bot_role


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def seeded(aws_session, member: str, now) -> None:
    """An idle password in the member account, created as its administrator would."""
    admin = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    seed_users(assumed(aws_session, admin), (OWNED,), now, account_id=member)


def bot_as(session, standin, database: str):
    """The bot with the credentials of `session` across the Organization: AWS_ORGANIZATION=true
    and AWS_EXTERNAL_ID, AWS_ORG_ROLE_NAME left at its default."""
    return start_bot(standin, database, session, organization=True, external_id=EXTERNAL_ID)


def remove_owned(bot) -> None:
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)


def scanned_every_account(bot, member: str) -> None:
    (scan, *_) = scans(bot.repository)
    assert scan.status == "ok", [(account.account_id, account.error) for account in scan.accounts]
    assert {account.account_id for account in scan.accounts} == {DEMO_ACCOUNT_ID, member}
    assert bot.finding("owned").account_id == member


def test_the_bot_scans_and_removes_through_the_roles_the_templates_create(
    aws_session, standin, database, now
):
    member, bot_role = deploy(aws_session, allow_removal="true")
    seeded(aws_session, member, now)
    role = iam_backends[member]["global"].get_role("iam-inactive")
    (trust,) = json.loads(role.assume_role_policy_document)["Statement"]
    assert trust["Principal"] == {"AWS": bot_role}  # the StackSet passed its parameters on
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}

    bot = bot_as(assumed(aws_session, bot_role, as_the_bot=True), standin, database)
    assert bot.command("scan").status_code == 200
    scanned_every_account(bot, member)
    remove_owned(bot)

    assert bot.finding("owned").state == State.DISABLED
    assert not iam_backends[member]["global"].users["owned"].password
    assumed_by_the_bot = {
        (session.role_arn, session.external_id)
        for session in sts_backends[member]["global"].assumed_roles
        if session.session_name == ROLE_SESSION_NAME
    }
    assert assumed_by_the_bot == {(role.arn, EXTERNAL_ID)}


def test_the_read_only_role_scans_and_its_removal_is_refused_naming_the_action(
    aws_session, standin, database, now
):
    member, bot_role = deploy(aws_session, allow_removal="false")
    seeded(aws_session, member, now)
    as_the_bot = assumed(aws_session, bot_role, as_the_bot=True)

    # From here on moto allows each call only if the caller's policies do: the bot's role at
    # home, the member role in the member account.
    @set_initial_no_auth_action_count(0)
    def as_aws_would_allow():
        bot = bot_as(as_the_bot, standin, database)
        assert bot.command("scan").status_code == 200
        scanned_every_account(bot, member)
        remove_owned(bot)
        return bot

    bot = as_aws_would_allow()
    assert bot.finding("owned").state == State.FAILED
    assert iam_backends[member]["global"].users["owned"].password
    refusal = "is not authorized to perform: iam:DeleteLoginProfile"
    told = {
        (call.method, call.params["channel"])
        for call in standin.calls
        if refusal in call.params.get("text", "")
    }
    assert told == {("chat.postEphemeral", CHANNEL), ("chat.postMessage", DM)}  # both people
