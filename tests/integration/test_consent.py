"""A password is removed only with valid, current consent (issue 8), through the production HTTP
path: signed requests into Bolt's Flask adapter, moto, the Slack stand-in, SQLite and PostgreSQL.

Each test is an attack that removed a password before: an exemption or a new owner after the
request, a re-created user, a transient Slack error, a consent from a dry run, keeps without
oversight, and old data reopening what was decided.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from moto.iam.models import IAMBackend, iam_backends

from bot.application.jobs import follow_up_job
from bot.aws.demo import DEMO_ACCOUNT_ID, seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId, CallbackId
from tests.integration.conftest import OWNED, has_password, set_fields, start_bot
from tests.support.bot_harness import APPROVER, OWNER, STRANGER

DM = "D0OWNER"
EXEMPT_TAG = {"Key": "iam-inactive:exempt", "Value": "break-glass"}


def request_and_confirm(bot) -> None:
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)


# --- the re-check decides with everything a scan would ------------------------------------------


def test_an_exemption_tagged_after_the_request_stops_the_removal(bot, aws_session):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").tag_user(UserName="owned", Tags=[EXEMPT_TAG])
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    finding = bot.finding("owned")
    assert finding.state == State.ABORTED and has_password("owned")
    assert finding.resolution == "aborted: exempt: tag iam-inactive:exempt"


def test_a_user_ignored_after_the_request_is_not_touched(bot, standin, database_file, aws_session):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    restarted = start_bot(standin, database_file, aws_session, ignore_users=frozenset({"owned"}))
    restarted.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned")
    assert restarted.finding("owned").resolution == "aborted: exempt: in IGNORE_USERS"


def test_auto_disable_leaves_a_break_glass_user_alone(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    bot = start_bot(standin, database_file, aws_session, auto_disable_days=10)
    bot.command("scan")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    set_fields(bot.repository, finding.id, asked_at=now - timedelta(days=10))
    aws_session.client("iam").tag_user(UserName="owned", Tags=[EXEMPT_TAG])
    follow_up_job(bot.services)
    assert has_password("owned") and bot.finding("owned").state == State.ABORTED


# --- same identity -------------------------------------------------------------------------------


def recreate_owned(aws_session, now) -> None:
    """Delete the IAM user `owned` and create another one under the same name."""
    iam = aws_session.client("iam")
    iam.delete_login_profile(UserName="owned")
    iam.untag_user(UserName="owned", TagKeys=["owner", "team"])
    iam.delete_user(UserName="owned")
    seed_users(aws_session, (OWNED,), now)
    iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"].id = "AIDANEWOWNEDUSER0001"


def test_a_user_recreated_under_the_same_name_is_not_touched(bot, aws_session, now):
    finding = bot.finding("owned")
    assert finding.user_id and finding.user_id.startswith("AIDA")
    bot.click(ActionId.DISABLE, finding.id)
    recreate_owned(aws_session, now)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned")
    assert bot.finding("owned").resolution == "aborted: a different user now has this name"


def test_a_rescan_tells_the_recreated_user_from_the_old_finding(bot, aws_session, now):
    old = bot.finding("owned")
    recreate_owned(aws_session, now)
    bot.command("scan")
    (new,) = [row for row in bot.repository.findings_for_user("owned") if row.id != old.id]
    assert new.user_id == "AIDANEWOWNEDUSER0001" and new.state == State.OPEN
    closed = bot.repository.finding(old.id)
    assert (closed.state, closed.resolution) == (
        State.RESOLVED,
        "a different user now has this name",
    )


# --- the owner's consent is only skipped on a definite answer -------------------------------------


@pytest.mark.parametrize("failure", ["http-500", "ratelimited", "fatal_error"])
def test_a_transient_slack_error_changes_nothing_and_asks_to_try_again(bot, standin, failure):
    if failure == "http-500":
        standin.server_errors["users.lookupByEmail"] = 1
    else:
        standin.fail["users.lookupByEmail"] = failure
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.finding("owned").state == State.OPEN
    assert standin.forms() == []  # nothing final is offered
    assert "try again" in standin.said_to(APPROVER)
    assert [a for a, _actor, _r in bot.actions_of(finding)] == ["opened"]


def test_an_owner_who_left_makes_the_approvers_word_final(bot, standin):
    # As Slack does, the stand-in's users.lookupByEmail does not find the deactivated owner:
    # only the workspace's list of deactivated accounts tells "has left" from "no account".
    bot.click(ActionId.DISABLE, bot.finding("left-company").id)
    (modal,) = standin.forms()
    assert "has left" in json.dumps(modal)
    assert "<@U0GONE>" in json.dumps(modal)


def test_deactivated_accounts_are_read_once_for_many_lookups(bot, standin):
    for _ in range(3):
        bot.click(ActionId.DISABLE, bot.finding("left-company").id)
    assert len(standin.named("users.list")) == 1


def test_an_unreadable_list_of_deactivated_accounts_leaves_the_approvers_word_final(bot, standin):
    standin.fail["users.list"] = "ratelimited"
    bot.click(ActionId.DISABLE, bot.finding("left-company").id)
    (modal,) = standin.forms()
    assert "has no Slack account" in json.dumps(modal)  # all Slack could say; the same outcome


# --- consent is for what was asked ---------------------------------------------------------------


def test_a_dry_run_consent_never_removes_for_real(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    dry = start_bot(standin, database_file, aws_session, dry_run=True)
    dry.command("scan")
    finding = dry.finding("owned")
    dry.click(ActionId.DISABLE, finding.id)
    live = start_bot(standin, database_file, aws_session)  # restarted with DRY_RUN off
    standin.clear()
    live.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned")
    finding = live.finding("owned")
    assert finding.state == State.OPEN and "dry run" in finding.decision_note
    assert "request was made in a dry run" in standin.said_to(OWNER)


def test_the_previous_owners_consent_does_not_count(bot, standin, aws_session):
    standin.add_user("U0NEWOWNER", "new@example.com")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").tag_user(
        UserName="owned", Tags=[{"Key": "owner", "Value": "new@example.com"}]
    )
    standin.clear()
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned")
    finding = bot.finding("owned")
    assert (finding.state, finding.owner_slack_id) == (State.AWAITING_OWNER, "U0NEWOWNER")
    assert "owner is now `new@example.com`" in standin.said_to(OWNER)
    assert [c.params["users"] for c in standin.named("conversations.open")] == ["U0NEWOWNER"]
    dm = [c for c in standin.named("chat.postMessage") if c.params["channel"] == "D0NEWOWNER"]
    assert dm, "the new owner is asked"
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)  # still not theirs
    assert has_password("owned")
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user="U0NEWOWNER", channel="D0NEWOWNER")
    assert not has_password("owned") and bot.finding("owned").state == State.DISABLED


# --- keeps have oversight ------------------------------------------------------------------------


def test_an_owner_keeps_for_at_most_the_limit_and_never_until_revoked(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_DECLINE, finding.id, user=OWNER, channel=DM)
    (modal,) = standin.forms()
    offered = [o["value"] for o in modal["blocks"][2]["element"]["options"]]
    assert offered == ["30", "90", "180"]
    for period in ("forever", "181"):
        refused = bot.submit_keep(finding, OWNER, "break-glass for on-call", period, "slack-dm")
        assert "approver" in str(refused.get_json()["errors"])
    assert bot.finding("owned").state == State.AWAITING_OWNER
    bot.submit_keep(finding, OWNER, "break-glass for on-call", "180", "slack-dm")
    assert bot.finding("owned").state == State.KEPT


def test_approvers_end_a_keep_by_command_and_it_reopens(bot, standin):
    finding = bot.finding("owned")
    bot.submit_keep(finding, APPROVER, "service account until Q3", "forever", "slack-channel")
    assert bot.finding("owned").kept_until is None  # until revoked: approvers may
    refused = bot.reply("unkeep owned not mine to end", user=STRANGER)
    assert "Only approvers" in refused["text"] and bot.finding("owned").state == State.KEPT
    standin.clear()
    answer = bot.reply("unkeep owned moved to SSO &amp; &lt;okta&gt;")  # as Slack sends "&", "<"
    assert "Ended the keep of `owned`" in answer["text"]
    reopened = bot.finding("owned")
    assert (reopened.state, reopened.kept_until) == (State.OPEN, None)
    (update,) = standin.named("chat.update")
    assert ActionId.DISABLE in update.text_of_blocks()  # its line offers Disable again
    assert ("unkept", APPROVER, "moved to SSO & <okta>") in bot.actions_of(reopened)


def test_unkeep_finds_an_iam_user_whatever_the_case_typed(bot):
    """IAM user names are unique without regard to case: `Owned` can only mean `owned`."""
    finding = bot.finding("owned")
    bot.submit_keep(finding, APPROVER, "service account until Q3", "90", "slack-channel")
    assert "Ended the keep of `owned`" in bot.reply("unkeep Owned no longer needed")["text"]
    assert bot.finding("owned").state == State.OPEN


def test_approvers_end_a_keep_from_show(bot, standin):
    finding = bot.finding("owned")
    bot.submit_keep(finding, APPROVER, "service account until Q3", "90", "slack-channel")
    shown = bot.replies("show owned")
    assert ActionId.UNKEEP in shown
    standin.clear()
    bot.click(ActionId.UNKEEP, finding.id)
    (modal,) = standin.forms()
    assert modal["callback_id"] == CallbackId.UNKEEP
    values = {"unkeep_reason": {"unkeep_reason_input": {"value": "no longer needed"}}}
    bot.submit(CallbackId.UNKEEP, values, {"finding_id": finding.id}, APPROVER)
    assert bot.finding("owned").state == State.OPEN
    assert ("unkept", APPROVER, "no longer needed") in bot.actions_of(finding)


# --- decided findings are not reopened by old data ----------------------------------------------


def test_a_stale_report_does_not_reopen_a_removed_finding(bot, standin, aws_session, monkeypatch):
    iam = aws_session.client("iam")
    iam.generate_credential_report()
    stale = iam.get_credential_report()["Content"].decode()  # still lists the password
    request_and_confirm(bot)
    assert not has_password("owned")
    monkeypatch.setattr(IAMBackend, "get_credential_report", lambda self: stale)
    standin.clear()
    bot.command("scan")
    assert "0 new" in standin.named("chat.postMessage")[0].params["text"]
    assert len(bot.repository.findings_for_user("owned")) == 1


def test_a_dry_run_removal_is_not_reposted_until_dry_run_ends(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (OWNED,), now)
    dry = start_bot(standin, database_file, aws_session, dry_run=True)
    dry.command("scan")
    request_and_confirm(dry)
    assert dry.finding("owned").state == State.DISABLED and has_password("owned")
    standin.clear()
    dry.command("scan")
    assert "0 new" in standin.named("chat.postMessage")[0].params["text"]
    live = start_bot(standin, database_file, aws_session)
    standin.clear()
    live.command("scan")
    posted = standin.named("chat.postMessage")
    assert "1 new" in posted[0].params["text"]
    assert "decided in a dry run on" in posted[1].text_of_blocks()
    standin.clear()
    live.command("scan")  # once
    assert "0 new" in standin.named("chat.postMessage")[0].params["text"]


# --- found by attacking the above ---------------------------------------------------------------


def test_an_old_decide_now_form_does_not_skip_a_new_owner(bot, standin, aws_session):
    standin.add_user("U0NEWOWNER", "new@example.com")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    set_fields(bot.repository, finding.id, asked_at=finding.first_seen - timedelta(days=8))
    follow_up_job(bot.services)  # escalated: Decide now appears
    bot.click(ActionId.DECIDE_NOW, finding.id)  # the approver opens the form, and waits
    assert standin.forms()[-1]["callback_id"] == CallbackId.CONFIRM
    aws_session.client("iam").tag_user(
        UserName="owned", Tags=[{"Key": "owner", "Value": "new@example.com"}]
    )
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)  # the new owner is asked
    refused = bot.submit_last_form(APPROVER)  # the Decide now form, opened before all that
    assert refused.status_code == 200
    assert has_password("owned")
    assert bot.finding("owned").owner_slack_id == "U0NEWOWNER"


def test_an_owner_cannot_keep_again_after_an_approver_ended_the_keep(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.submit_keep(finding, OWNER, "break-glass for on-call", "90", "slack-dm")
    bot.command("unkeep owned the service moved to SSO")
    standin.clear()
    again = bot.submit_keep(finding, OWNER, "still mine", "90", "slack-dm")
    assert again.status_code == 200 and "not being asked" in standin.said_to(OWNER)
    assert bot.finding("owned").state == State.OPEN


@pytest.mark.parametrize("key", ["IAM-Inactive:Exempt", "iam-inactive:EXEMPT"])
def test_the_exemption_tag_key_is_matched_whatever_its_case(bot, aws_session, key):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").tag_user(UserName="owned", Tags=[{"Key": key, "Value": "yes"}])
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned") and bot.finding("owned").state == State.ABORTED


def test_the_owner_tag_key_is_matched_whatever_its_case(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    iam = aws_session.client("iam")
    iam.untag_user(UserName="owned", TagKeys=["owner"])
    iam.tag_user(UserName="owned", Tags=[{"Key": "Owner", "Value": "owner@example.com"}])
    bot = start_bot(standin, database_file, aws_session)
    bot.command("scan")
    bot.click(ActionId.DISABLE, bot.finding("owned").id)
    assert bot.finding("owned").owner_slack_id == OWNER and standin.forms() == []


def test_a_request_from_before_modes_were_recorded_is_not_confirmed_for_real(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    set_fields(bot.repository, finding.id, requested_dry_run=None)  # as migrated from 0003
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=DM)
    assert has_password("owned") and bot.finding("owned").state == State.OPEN


@pytest.mark.parametrize(
    "metadata",
    [
        {"finding_id": 7, "step": "2026-11-28T10:00:00+00:00"},
        {"finding_id": ["x"], "step": "2026-11-28T10:00:00+00:00"},
        {"step": 1},
        {"step": "yesterday"},
    ],
    ids=["int-id", "list-id", "step-not-text", "step-not-a-time"],
)
def test_a_forged_final_confirmation_is_refused_plainly(bot, metadata):
    finding = bot.finding("left-company")
    bot.click(ActionId.DISABLE, finding.id)
    response = bot.submit(CallbackId.CONFIRM, {}, {"why": "x", **metadata}, APPROVER)
    assert response.status_code == 200
    assert has_password("left-company")
