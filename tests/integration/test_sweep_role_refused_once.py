"""The sweep's role refused (for good, or for a moment after a trust-policy edit): it asks AWS
nothing more behind its own checks (the consent's mode, the crashed removal's recovery), and
records what it can say: a dry run's consent is never carried out for real, and a removal a
crash may have carried out is recorded as not known, never as not removed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.application.jobs import sweep_job
from bot.aws.demo import seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import OWNED, assumed, body_of, iam_error, left_stuck, start_bot
from tests.integration.test_removal_race import _shifted
from tests.support.bot_harness import OWNER

ORG_ROLE = "OrganizationAccountAccessRole"


def _member_bot(standin, database_file, aws_session, now, **settings):
    org = aws_session.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="dev", Email="dev@example.com")
    member_id = member["CreateAccountStatus"]["AccountId"]
    role_arn = f"arn:aws:iam::{member_id}:role/{ORG_ROLE}"
    member_session = assumed(aws_session, role_arn)
    seed_users(member_session, (OWNED,), now, account_id=member_id)
    refusals = {"left": 0, "assumed": 0}

    def deny_the_member(request, **_kwargs):
        if member_id in body_of(request):
            refusals["assumed"] += 1
            if refusals["left"] > 0:
                refusals["left"] -= 1
                return iam_error("AccessDenied", 403)
        return None

    aws_session.events.register_first("before-send.sts.AssumeRole", deny_the_member)
    bot = start_bot(
        standin, database_file, aws_session, organization=True, org_role_name=ORG_ROLE, **settings
    )
    assert bot.command("scan").status_code == 200
    finding = bot.finding("owned")
    assert finding.account_id == member_id
    return bot, finding, member_session.client("iam"), refusals


def _has_password(iam, user_name):
    try:
        iam.get_login_profile(UserName=user_name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def test_a_dry_run_consent_is_never_carried_out_for_real_when_the_sweeps_role_is_refused(
    standin, database_file, aws_session, now, monkeypatch
):
    """Consent was given in a dry run; the process died at `owner_confirmed`; the bot restarts
    with DRY_RUN off. The sweep's AssumeRole is refused once (a second would be answered): it
    withdraws the consent ("this consent removes nothing"), and sends no DeleteLoginProfile."""
    bot, finding, member_iam, refusals = _member_bot(
        standin, database_file, aws_session, now, dry_run=True
    )
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.repository.finding(finding.id).requested_dry_run is True
    left_stuck(bot.repository, finding.id, state=State.OWNER_CONFIRMED)
    restarted = start_bot(
        standin,
        database_file,
        aws_session,
        organization=True,
        org_role_name=ORG_ROLE,
        dry_run=False,
    )
    later = _shifted(restarted, monkeypatch)
    later[0] = timedelta(seconds=restarted.services.settings.stuck_after_seconds * 2)
    refusals["left"] = 1  # the sweep's first AssumeRole only
    standin.clear()
    sweep_job(restarted.services)
    settled = restarted.repository.finding(finding.id)
    assert _has_password(member_iam, "owned"), (
        f"a consent given in a dry run removed the password for real: state {settled.state}, "
        f"note {settled.decision_note!r}; AssumeRole asked {refusals['assumed']} times; "
        f"the owner was told {standin.said_to(OWNER)!r}"
    )


@pytest.mark.parametrize("refusals", [1, 10**6], ids=["once", "for-good"])
def test_a_removal_a_crash_may_have_carried_out_is_recorded_not_known_when_the_role_is_refused(
    standin, database_file, aws_session, now, monkeypatch, refusals
):
    """The crashed removal sent DeleteLoginProfile (the finding is left in `disabling`); the
    sweep's role is refused, once or for good: it asks AWS nothing more behind its own checks
    (the recovery, the mode), and records that nobody can say whether the password was
    removed, never that it was not."""
    bot, finding, member_iam, refused = _member_bot(standin, database_file, aws_session, now)
    bot.click(ActionId.DISABLE, finding.id)
    left_stuck(bot.repository, finding.id, state=State.DISABLING)
    member_iam.delete_login_profile(UserName="owned")  # the crashed removal's request
    later = _shifted(bot, monkeypatch)
    later[0] = timedelta(seconds=bot.services.settings.stuck_after_seconds * 2)
    refused["left"] = refusals
    standin.clear()
    sweep_job(bot.services)
    settled = bot.repository.finding(finding.id)
    told = standin.said_to(OWNER)
    assert settled.state != State.ABORTED and "Not removed" not in told, (settled.state, told)
    assert "not known" in (settled.decision_note or ""), settled.decision_note
