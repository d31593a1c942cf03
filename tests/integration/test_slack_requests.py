"""The Slack bot end to end, every other request: bad input, strangers, the slash command,
Slack failing. Signed requests through the production adapter, moto, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.application.access import GONE, NOT_MINE
from bot.application.jobs import follow_up_job
from bot.aws.demo import DemoUser, seed_users
from bot.domain.settings import Settings
from bot.domain.workflow import State
from bot.slack.client import Approvers, ApproversUnknown, make_client
from bot.slack.ids import ActionId, CallbackId
from tests.integration.conftest import (
    OWNED,
    has_password,
    set_fields,
    start_bot,
)
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER, STRANGER, BotHarness


@pytest.fixture
def database_url(tmp_path):
    """These tests are about requests, not storage (the storage and workflow tests run on
    PostgreSQL too): a SQLite file is enough, and keeps the suite fast."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


# --- bad input changes nothing -----------------------------------------------------------------


def test_forged_signature_is_rejected_and_changes_nothing(bot, standin):
    finding = bot.finding("owned")
    response = bot.click(ActionId.DISABLE, finding.id, secret="not-the-secret")
    assert response.status_code == 401
    assert bot.finding("owned").state == State.OPEN
    assert standin.calls == []


def test_stale_timestamp_is_rejected(bot, standin):
    response = bot.command("scan", age=6 * 60)
    assert response.status_code == 401
    assert standin.calls == []


@pytest.mark.parametrize(
    ("value", "answer"),
    [("../../etc", NOT_MINE), ("0" * 32, GONE), ("", NOT_MINE), ("0" * 32 + "\n", NOT_MINE)],
    ids=["tampered", "unknown", "empty", "id-and-a-newline"],
)
def test_tampered_or_unknown_button_value_is_refused(bot, standin, value, answer):
    """A value that is no finding id of the bot's (a trailing newline included: `$` would take
    it) is not looked up: it is not one of mine, not a finding that no longer exists."""
    bot.click(ActionId.DISABLE, value)
    (told,) = standin.named("chat.postEphemeral")
    assert told.params["text"] == answer
    assert {row.state for row in bot.repository.open_findings()} == {State.OPEN}


@pytest.mark.parametrize("surface", ["button", "command"])
def test_in_production_mode_a_refusal_is_acknowledged_and_told(bot, standin, surface):
    """Acknowledge first, work after (process_before_response=False): the refusal must not
    replace the acknowledgement Slack already has."""
    production = BotHarness.start(
        bot.services.settings,
        bot.repository,
        bot.services.aws_session,
        standin,
        process_before_response=False,
    )
    if surface == "button":
        response = production.click(ActionId.DISABLE, bot.finding("owned").id, user=STRANGER)
        assert response.status_code == 200
        told = standin.wait_for("chat.postEphemeral")
        assert "Only approvers" in told.params["text"] and told.params["user"] == STRANGER
    else:
        response = production.command("scan", user=STRANGER)
        assert response.status_code == 200
        assert "Only approvers" in standin.wait_for("response/respond").params["text"]
    assert bot.finding("owned").state == State.OPEN


def test_someone_not_an_approver_is_refused_and_it_is_logged(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id, user=STRANGER)
    (told,) = standin.named("chat.postEphemeral")
    assert "Only approvers" in told.params["text"] and told.params["user"] == STRANGER
    assert bot.finding("owned").state == State.OPEN
    assert bot.actions_of(finding)[-1] == ("refused", STRANGER, "not an approver")


def test_only_the_owner_may_answer_the_dm(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=APPROVER, channel="D0OWNER")
    assert bot.finding("owned").state == State.AWAITING_OWNER
    assert bot.actions_of(finding)[-1] == ("refused", APPROVER, "not the owner")


def test_approver_group_members_may_act(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    standin.groups["S0SECURITY"] = ["U0GROUPIE"]
    harness = start_bot(
        standin,
        database_file,
        aws_session,
        slack_approvers=frozenset(),
        slack_approver_group="S0SECURITY",
    )
    harness.command("scan", user="U0GROUPIE")
    finding = harness.finding("owned")
    harness.click(ActionId.DISABLE, finding.id, user="U0GROUPIE")
    assert harness.finding("owned").state == State.AWAITING_OWNER
    assert len(standin.named("usergroups.users.list")) == 1  # cached between checks


def test_approver_group_changes_take_effect_within_a_minute_and_fail_closed(standin):
    seconds = [0.0]
    settings = Settings(slack_bot_token="xoxb-test", slack_api_url=standin.url)
    approvers = Approvers(
        replace(settings, slack_approver_group="S0SECURITY"),
        make_client(settings),
        clock=lambda: seconds[0],
    )
    standin.groups["S0SECURITY"] = ["U0GROUPIE"]
    assert approvers.allows("U0GROUPIE")
    standin.groups["S0SECURITY"] = []  # removed from the group
    seconds[0] = 59
    assert approvers.allows("U0GROUPIE")  # within the minute
    seconds[0] = 61
    assert not approvers.allows("U0GROUPIE")
    standin.groups["S0SECURITY"] = ["U0GROUPIE"]
    standin.fail["usergroups.users.list"] = "ratelimited"
    seconds[0] = 200
    with pytest.raises(ApproversUnknown):
        approvers.allows("U0GROUPIE")


def test_an_unreadable_approver_group_refuses_and_says_why(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (OWNED,), now)
    harness = start_bot(standin, database_file, aws_session, slack_approver_group="S0SECURITY")
    harness.command("scan")  # U0APPROVER is listed by id: no group needed
    standin.fail["usergroups.users.list"] = "fatal_error"
    harness.click(ActionId.DISABLE, harness.finding("owned").id, user="U0GROUPIE")
    told = standin.wait_for("chat.postEphemeral")
    assert "could not read the approver group" in told.params["text"]
    assert harness.finding("owned").state == State.OPEN


def test_without_approvers_every_action_is_refused(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    harness = start_bot(standin, database_file, aws_session, slack_approvers=frozenset())
    assert "Only approvers" in harness.reply("scan")["text"]


# --- the slash command -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "frobnicate", "show"])
def test_help_for_no_unknown_or_incomplete_arguments(bot, text):
    answer = bot.replies(text)
    assert "/iam-inactive scan" in answer


def test_list_is_paged_and_filtered(bot):
    everything = bot.reply("list")
    assert "4 open findings" in everything["text"]
    keys_only = bot.reply("list keys_only")
    assert "1 open findings (`keys_only`)" in keys_only["text"]
    assert "must" not in bot.reply("list 123456789012")["text"]
    assert "takes dormant" in bot.reply("list nonsense")["text"]


def test_approvers_list_whatever_the_channel_lookup_does_and_others_hear_it_failed(bot, standin):
    """An approver's right never depends on who is in the channel; anyone else is refused with
    the reason when Slack cannot say (fail closed)."""
    standin.fail["conversations.members"] = "internal_error"
    assert "4 open findings" in bot.reply("list")["text"]
    answer = bot.reply("list", user="U0GROUPIE")["text"]  # in the channel, not an approver
    assert "could not read the findings channel" in answer and "open findings" not in answer
    del standin.fail["conversations.members"]
    assert "4 open findings" in bot.reply("list", user="U0GROUPIE")["text"]


def test_show_gives_the_finding_and_its_history(bot):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    answer = bot.replies("show owned")
    assert "History of owned" in answer and "disable_requested" in answer
    assert "No findings for IAM user" in bot.replies("show nobody")


def test_show_finds_an_iam_user_whatever_the_case_typed(bot):
    """IAM user names are unique without regard to case (AWS refuses `OWNED` beside `owned`), so
    `OWNED` can only mean `owned`."""
    assert "History of `owned`" in bot.reply("show OWNED")["text"]


def test_digest_posts_to_the_channel_with_a_chart_for_approvers_only(bot, standin):
    assert "Only approvers" in bot.replies("digest", user=STRANGER)
    assert f"Posted the digest to <#{CHANNEL}>" in bot.replies("digest")
    (digest,) = standin.named("chat.postMessage")
    assert digest.params["channel"] == CHANNEL and "Weekly digest" in digest.text_of_blocks()
    assert "Open findings, last 8 weeks" in digest.text_of_blocks()
    (upload,) = standin.named("upload/F0CHART")
    assert upload.params["png"] is True
    (complete,) = standin.named("files.completeUploadExternal")
    assert complete.params["thread_ts"] == digest.answer["ts"]


def test_digest_without_file_permission_keeps_the_text_trend(bot, standin):
    standin.fail["files.getUploadURLExternal"] = "missing_scope"
    bot.command("digest")
    (digest,) = standin.named("chat.postMessage")
    assert "Open findings, last 8 weeks" in digest.text_of_blocks()
    assert standin.named("files.completeUploadExternal") == []


def test_health_check_says_whether_a_scanner_runs(bot):
    response = bot.web.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "scanners": 1}
    bot.repository.release_lease(bot.scanner.name, bot.scanner.holder)
    response = bot.web.get("/healthz")
    assert response.status_code == 200  # the web process itself is fine
    assert response.get_json() == {"status": "degraded", "database": "ok", "scanners": 0}


def test_a_failing_slack_post_loses_no_decision(bot, standin):
    standin.fail["chat.postMessage"] = "channel_not_found"
    standin.fail["chat.update"] = "message_not_found"
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.finding("owned").state == State.AWAITING_OWNER
    (told,) = standin.named("chat.postEphemeral")
    assert "Recorded, but I could not DM" in told.params["text"]

    # The reminder sends the DM that never arrived.
    del standin.fail["chat.postMessage"]
    finding = bot.finding("owned")
    asked_at = finding.asked_at - timedelta(days=3)
    set_fields(bot.repository, finding.id, asked_at=asked_at)
    follow_up_job(bot.services)
    dms = [c for c in standin.named("chat.postMessage") if c.params["channel"] == "D0OWNER"]
    assert [dm.answer["ok"] for dm in dms] == [False, True]
    dm = dms[-1]
    assert ActionId.OWNER_CONFIRM in dm.text_of_blocks()


def test_list_pages_with_next_and_previous(standin, database_file, aws_session, now):
    crowd = tuple(DemoUser(f"idle-{i:02d}", 400, password_used_days_ago=200) for i in range(20))
    seed_users(aws_session, crowd, now)
    harness = start_bot(standin, database_file, aws_session)
    harness.command("scan")
    first = harness.reply("list dormant", user=STRANGER)
    assert "Page 1 of 2" in str(first["blocks"]) and ActionId.LIST_NEXT in str(first["blocks"])
    standin.clear()
    harness.click(ActionId.LIST_NEXT, '{"filter": "dormant", "page": 2}', user=STRANGER)
    (page,) = standin.named("response/respond")
    assert "Page 2 of 2" in page.text_of_blocks() and "idle-19" in page.text_of_blocks()
    assert page.params["replace_original"] is True


def test_a_rescan_updates_the_lines_of_findings_that_closed(bot, standin, aws_session):
    aws_session.client("iam").delete_login_profile(UserName="owned")
    bot.command("scan")
    assert bot.finding("owned").state == State.RESOLVED
    assert bot.services.announcer.edits.wait(10)  # redrawn in the background
    (update,) = standin.named("chat.update")
    assert "Resolved: `console password removed`" in update.text_of_blocks()


def test_a_tampered_keep_form_changes_nothing(bot, standin):
    finding = bot.finding("owned")
    response = bot.submit(CallbackId.KEEP, {}, {"finding_id": finding.id}, APPROVER)
    assert response.get_json()["response_action"] == "errors"
    forged = bot.submit_keep(finding, APPROVER, "a fine reason", "9999", "slack-channel")
    assert forged.get_json()["response_action"] == "errors"
    stranger = bot.submit_keep(finding, STRANGER, "a fine reason", "90", "slack-channel")
    assert stranger.status_code == 200 and "Only approvers" in standin.said_to(STRANGER)
    assert bot.finding("owned").state == State.OPEN


def test_a_failed_account_scan_is_said_in_the_channel_and_to_the_caller(bot, standin, aws_session):
    from tests.integration.conftest import fail_first

    aws_session.events.register_first(
        "before-send.iam.GenerateCredentialReport",
        fail_first("GenerateCredentialReport", "AccessDenied", 1, status=403),
    )
    bot.command("scan")
    (summary,) = standin.named("chat.postMessage")
    assert "failed: `GenerateCredentialReport failed: AccessDenied" in summary.params["text"]
    answer = standin.named("response/respond")[-1]
    assert "1 account(s) failed" in answer.params["text"]
    assert {row.state for row in bot.repository.open_findings()} == {State.OPEN}  # kept as were


def test_a_live_recheck_that_aws_refuses_fails_safely(bot, standin, aws_session):
    from tests.integration.conftest import fail_first

    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    aws_session.events.register_first(
        "before-send.iam.GetUser", fail_first("GetUser", "AccessDenied", 1, status=403)
    )
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    failed = bot.finding("owned")
    assert failed.state == State.FAILED and has_password("owned")
    assert failed.decision_note.startswith("live re-check failed: GetUser failed: AccessDenied")
    told = [c.params["text"] for c in standin.named("chat.postEphemeral")]
    assert any("live re-check failed" in text for text in told)


def test_rate_limited_posts_are_retried_after_the_wait_slack_asks(bot, standin):
    standin.rate_limited["chat.postMessage"] = 1
    bot.command("digest")
    assert len(standin.named("429/chat.postMessage")) == 1
    (digest,) = standin.named("chat.postMessage")
    assert digest.answer["ok"] is True


def test_the_riskiest_findings_come_first_in_the_channel_and_in_list(
    standin, database_file, aws_session, now
):
    users = (
        DemoUser("aa-reader", 900, password_used_days_ago=800, mfa=True),
        DemoUser("mm-no-mfa", 300, password_used_days_ago=200),
        DemoUser("zz-admin", 200, password_used_days_ago=100, groups=("admins",)),
    )
    seed_users(aws_session, users, now)
    harness = start_bot(standin, database_file, aws_session)
    harness.command("scan")
    (posted,) = [c for c in standin.named("chat.postMessage") if "zz-admin" in c.text_of_blocks()]
    sections = [
        b["text"]["text"] for b in posted.blocks() if b.get("block_id", "").startswith("finding:")
    ]
    assert len(finding_order(posted)) == 3
    assert [line.split("`")[1] for line in sections] == ["zz-admin", "mm-no-mfa", "aa-reader"]
    assert (
        ":rotating_light: *Privileged*: `AdministratorAccess through group admins`" in sections[0]
    )
    listed = [
        b["text"]["text"].split("`")[1]
        for b in harness.reply("list", user=STRANGER)["blocks"]
        if b["type"] == "section"
    ]
    assert listed == ["zz-admin", "mm-no-mfa", "aa-reader"]
    # a click redraws the message in the same order, so no line moves under the next click
    standin.clear()
    harness.click(ActionId.DISABLE, harness.finding("aa-reader").id)
    redrawn = [c for c in standin.named("chat.update") if c.params.get("ts") == posted.answer["ts"]]
    assert redrawn and all(finding_order(call) == finding_order(posted) for call in redrawn)


def finding_order(call) -> list[str]:
    return [b["block_id"] for b in call.blocks() if b.get("block_id", "").startswith("finding:")]
