"""A removal left to the sweep in an account whose role can no longer be assumed (the role
deleted, its trust or ExternalId changed, the account closed) is recorded `failed` and told, as
the live removal's would be, not swept again and again in silence."""

from __future__ import annotations

from datetime import timedelta

from bot.application.jobs import sweep_job
from bot.aws.demo import seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import OWNED, assumed, body_of, iam_error, left_stuck, start_bot
from tests.integration.test_removal_race import _shifted
from tests.support.bot_harness import OWNER

ORG_ROLE = "OrganizationAccountAccessRole"


def test_a_removal_whose_role_cannot_be_assumed_is_not_left_to_the_sweep_for_ever(
    standin, database_file, aws_session, now, monkeypatch
):
    org = aws_session.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="dev", Email="dev@example.com")
    member_id = member["CreateAccountStatus"]["AccountId"]
    role_arn = f"arn:aws:iam::{member_id}:role/{ORG_ROLE}"
    seed_users(assumed(aws_session, role_arn), (OWNED,), now, account_id=member_id)
    refused = [False]

    def deny_the_member(request, **_kwargs):
        if refused[0] and member_id in body_of(request):
            return iam_error("AccessDenied", 403)
        return None

    aws_session.events.register_first("before-send.sts.AssumeRole", deny_the_member)
    bot = start_bot(standin, database_file, aws_session, organization=True, org_role_name=ORG_ROLE)
    assert bot.command("scan").status_code == 200
    finding = bot.finding("owned")
    assert finding.account_id == member_id
    bot.click(ActionId.DISABLE, finding.id)
    # The owner confirmed; the process died before the removal went further.
    left_stuck(bot.repository, finding.id, state=State.OWNER_CONFIRMED)
    refused[0] = True  # the member account's role can no longer be assumed
    later = _shifted(bot, monkeypatch)
    stuck = timedelta(seconds=bot.services.settings.stuck_after_seconds)
    standin.clear()
    for sweep in range(1, 4):  # an hour of sweeps
        later[0] = stuck * 2 * sweep
        sweep_job(bot.services)
    settled = bot.repository.finding(finding.id)
    told = standin.said_to(OWNER)
    assert settled.state not in (State.OWNER_CONFIRMED, State.DISABLING), (
        f"still {settled.state} after three sweeps, nothing recorded "
        f"({[e.action for e in bot.repository.history(finding.id)]}), owner told {told!r}"
    )
