"""A removal whose answer AWS sent but the bot never got (a dropped connection, a timeout after
AWS acted) is settled by what AWS says now, not recorded as failed while the password is gone.
Through the production HTTP path, moto, SQLite and PostgreSQL."""

from __future__ import annotations

from botocore.exceptions import ConnectionClosedError
from moto.iam.models import iam_backends

from bot.application.decisions import ANSWER_LOST
from bot.aws.demo import DEMO_ACCOUNT_ID
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import has_password
from tests.support.bot_harness import OWNER

DM = "D0OWNER"


def lose_the_answer(**_kwargs: object) -> None:
    """AWS acted; its answer never arrives."""
    raise ConnectionClosedError(endpoint_url="https://iam.amazonaws.com/")


def test_a_removal_whose_answer_is_lost_is_recorded_as_removed_when_the_password_is_gone(
    bot, standin, aws_session
):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.events.register("after-call.iam.DeleteLoginProfile", lose_the_answer)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert not has_password("owned")
    removed = bot.finding("owned")
    assert removed.state == State.DISABLED and removed.decision_note == ANSWER_LOST
    assert "removed" in standin.said_to(OWNER) and "failed" not in standin.said_to(OWNER)
    history = [(event.action, event.reason) for event in bot.repository.history(finding.id)]
    assert history[-1] == ("disabled", ANSWER_LOST)


def test_a_removal_whose_first_answer_is_lost_and_retry_hears_no_such_entity_is_removed(
    bot, standin, aws_session
):
    """The realistic shape: AWS acts, the connection drops, botocore tries again and AWS
    answers NoSuchEntity. Not "already gone": the re-check saw it just before."""
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    tries = []

    def act_then_drop(**_kwargs: object) -> None:
        tries.append(1)
        if len(tries) == 1:
            iam_backends[DEMO_ACCOUNT_ID]["global"].delete_login_profile("owned")
            raise ConnectionClosedError(endpoint_url="https://iam.amazonaws.com/")

    aws_session.events.register_first("before-send.iam.DeleteLoginProfile", act_then_drop)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert len(tries) == 2 and not has_password("owned")
    removed = bot.finding("owned")
    assert removed.state == State.DISABLED and removed.decision_note == ANSWER_LOST
    (event,) = [e for e in bot.repository.history(finding.id) if e.action == "disabled"]
    assert event.details["aws_request_id"] is None  # the id of the try that removed it is lost


def test_a_removal_that_failed_at_aws_stays_failed(bot, standin, aws_session):
    """The lost answer is told apart from a refusal by asking: the password is still there."""
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)

    def refuse_before_aws_acts(**_kwargs: object) -> None:
        raise ConnectionClosedError(endpoint_url="https://iam.amazonaws.com/")

    aws_session.events.register_first("before-send.iam.DeleteLoginProfile", refuse_before_aws_acts)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned")
    failed = bot.finding("owned")
    assert failed.state == State.FAILED and "Connection was closed" in failed.decision_note
    assert "Connection was closed" in standin.said_to(OWNER)  # the owner hears it failed
