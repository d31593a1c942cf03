"""The Slack bot end to end, the path to a removed password: signed requests through the
production adapter, moto, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Executor, Future
from datetime import timedelta

import pytest
from moto.core.exceptions import AccessDeniedError
from moto.iam.models import IAMBackend, iam_backends

from bot.aws.demo import DEMO_ACCOUNT_ID, DemoUser, seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId, CallbackId
from tests.integration.conftest import (
    IDLE_DORMANT,
    KEYS_ONLY,
    OWNED,
    RECENT_LOGIN,
    has_password,
    set_fields,
    start_bot,
)
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER

# --- scan and post -----------------------------------------------------------------------------


def test_scan_posts_a_summary_and_new_findings_with_buttons(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, RECENT_LOGIN, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    assert "Scanning all accounts" in harness.replies("scan")
    posts = standin.named("chat.postMessage")
    assert [post.params["channel"] for post in posts] == [CHANNEL, CHANNEL]
    assert "3 new" in posts[0].params["text"]
    findings_message = posts[1].text_of_blocks()
    for name in ("idle-dormant", "keys-only", "owned"):
        assert name in findings_message
    assert findings_message.count(ActionId.DISABLE) == 3
    assert "recent-login" not in findings_message
    assert harness.finding("owned").slack_ts == posts[1].answer["ts"]
    answer = standin.named("response/respond")[-1]
    assert "3 new findings" in answer.params["text"]

    standin.clear()
    harness.command("scan")
    (summary,) = standin.named("chat.postMessage")  # known findings are not posted again
    assert "0 new" in summary.params["text"]


def test_two_hundred_new_findings_take_at_most_22_messages(
    standin, database_file, aws_session, now
):
    crowd = tuple(DemoUser(f"idle-{i:03d}", 400, password_used_days_ago=200) for i in range(200))
    seed_users(aws_session, crowd, now)
    harness = start_bot(standin, database_file, aws_session)
    harness.command("scan")
    posts = standin.named("chat.postMessage")
    assert len(posts) <= 22
    assert all(len(post.blocks()) <= 50 for post in posts)


# --- the full path to a removed password -------------------------------------------------------


def test_disable_asks_the_owner_and_owner_confirmation_removes_the_password(
    bot, standin, iam_calls_to_delete
):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    finding = bot.finding("owned")
    assert (finding.state, finding.requested_by, finding.owner_slack_id) == (
        State.AWAITING_OWNER,
        APPROVER,
        OWNER,
    )
    (dm,) = [
        post for post in standin.named("chat.postMessage") if post.params["channel"] == "D0OWNER"
    ]
    assert ActionId.OWNER_CONFIRM in dm.text_of_blocks()
    (update,) = standin.named("chat.update")
    assert f"waiting for <@{OWNER}>" in update.text_of_blocks()

    standin.clear()
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    finding = bot.finding("owned")
    assert finding.state == State.DISABLED and finding.closed_at is not None
    assert not has_password("owned")
    assert iam_calls_to_delete == ["owned"]
    assert [action for action, _actor, _reason in bot.actions_of(finding)] == [
        "opened",
        "disable_requested",
        "awaiting_owner",
        "owner_confirmed",
        "disabling",
        "disabled",
    ]
    updated = " ".join(call.text_of_blocks() for call in standin.named("chat.update"))
    assert "Console password removed" in updated
    assert "Console password of `owned` removed" in standin.said_to(APPROVER)
    # The owner, who is not in the findings channel, hears it under the DM they answered.
    (in_dm,) = [c for c in standin.named("chat.postMessage") if c.params.get("thread_ts")]
    assert (in_dm.params["channel"], in_dm.params["thread_ts"]) == ("D0OWNER", finding.dm_ts)
    assert "Console password of `owned` removed" in in_dm.params["text"]
    assert not [c for c in standin.calls if c.answer.get("ok") is False]


def test_owner_declines_and_keeps_with_a_reason(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_DECLINE, finding.id, user=OWNER, channel="D0OWNER")
    (modal,) = standin.forms()
    assert CallbackId.KEEP in json.dumps(modal)
    response = bot.submit_keep(finding, OWNER, "break-glass account for on-call", "180", "slack-dm")
    assert response.status_code == 200
    kept = bot.finding("owned")
    assert kept.state == State.KEPT and kept.decision_note == "break-glass account for on-call"
    assert kept.kept_until - kept.last_seen >= timedelta(days=179)
    assert has_password("owned")
    standin.clear()
    bot.command("scan")
    assert "owned" not in " ".join(c.text_of_blocks() for c in standin.named("chat.postMessage"))


def test_keep_from_the_channel_needs_a_reason(bot, standin):
    finding = bot.finding("idle-dormant")
    bot.click(ActionId.KEEP, finding.id)
    assert len(standin.forms()) == 1
    response = bot.submit_keep(finding, APPROVER, "  ", "90", "slack-channel")
    assert response.get_json()["response_action"] == "errors"
    assert bot.finding("idle-dormant").state == State.OPEN
    bot.submit_keep(finding, APPROVER, "service account until Q3", "forever", "slack-channel")
    kept = bot.finding("idle-dormant")
    assert (kept.state, kept.kept_until) == (State.KEPT, None)


@pytest.mark.parametrize(
    ("user_name", "why"),
    [("idle-dormant", "owner of this IAM user is unknown"), ("left-company", "has left")],
    ids=["unknown-owner", "deactivated-owner"],
)
def test_unreachable_owner_makes_the_approvers_confirmation_final(bot, standin, user_name, why):
    finding = bot.finding(user_name)
    bot.click(ActionId.DISABLE, finding.id)
    (modal,) = standin.forms()
    assert why in json.dumps(modal)
    assert not [p for p in standin.named("chat.postMessage") if p.params["channel"].startswith("D")]
    bot.submit_last_form(APPROVER)
    done = bot.finding(user_name)
    assert done.state == State.DISABLED and not has_password(user_name)
    (reason,) = [r for action, _a, r in bot.actions_of(done) if action == "owner_confirmed"]
    assert reason.startswith("approver's confirmation is final: ") and why in reason


def test_dry_run_records_everything_but_removes_nothing(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    harness = start_bot(standin, database_file, aws_session, dry_run=True)
    harness.command("scan")
    assert "Dry run" in standin.named("chat.postMessage")[0].text_of_blocks()
    finding = harness.finding("owned")
    harness.click(ActionId.DISABLE, finding.id)
    harness.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    done = harness.finding("owned")
    assert done.state == State.DISABLED and has_password("owned")
    assert done.resolution == "dry run: DeleteLoginProfile was not called"
    assert "would be removed (dry run)" in standin.named("chat.update")[-1].text_of_blocks()


def test_recheck_aborts_when_the_user_signed_in_again(bot, standin, iam_calls_to_delete, now):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"].password_last_used = now
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    aborted = bot.finding("owned")
    assert aborted.state == State.ABORTED
    assert aborted.resolution == "aborted: password used in the last 90 days"
    assert has_password("owned") and iam_calls_to_delete == []
    for person in (APPROVER, OWNER):
        assert "the re-check found password used" in standin.said_to(person)


def test_removal_failure_is_recorded_and_told(bot, standin, monkeypatch):
    # A botocore hook cannot fake this one: moto would still carry out the deletion.
    def denied(self, user_name):
        raise AccessDeniedError(
            f"arn:aws:iam::{DEMO_ACCOUNT_ID}:user/bot", "iam:DeleteLoginProfile"
        )

    monkeypatch.setattr(IAMBackend, "delete_login_profile", denied)
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    failed = bot.finding("owned")
    assert failed.state == State.FAILED and "AccessDenied" in failed.decision_note
    assert has_password("owned")
    assert any("AccessDenied" in c.params["text"] for c in standin.named("chat.postEphemeral"))


# --- nothing acts twice ------------------------------------------------------------------------


def test_a_double_click_removes_the_password_once(bot, standin, iam_calls_to_delete):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.DISABLE, finding.id)  # second Disable: already awaiting the owner
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    assert iam_calls_to_delete == ["owned"]
    actions = [action for action, _a, _r in bot.actions_of(bot.finding("owned"))]
    assert actions.count("disabled") == 1 and actions.count("disable_requested") == 1
    assert any("already" in c.params["text"] for c in standin.named("chat.postEphemeral"))


def test_two_app_instances_racing_on_one_finding_remove_once(
    bot, standin, database_file, aws_session, iam_calls_to_delete
):
    other = start_bot(standin, database_file, aws_session)
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    barrier = threading.Barrier(2)

    def confirm(harness):
        barrier.wait()
        harness.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")

    threads = [threading.Thread(target=confirm, args=(h,)) for h in (bot, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert iam_calls_to_delete == ["owned"]
    actions = [action for action, _a, _r in bot.actions_of(bot.finding("owned"))]
    assert actions.count("disabled") == 1 and actions.count("owner_confirmed") == 1


def test_a_closed_final_confirmation_leaves_the_finding_actionable(bot, standin):
    finding = bot.finding("left-company")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.finding("left-company").state == State.DISABLE_REQUESTED
    assert bot.close_last_form(APPROVER).status_code == 200
    reopened = bot.finding("left-company")
    assert reopened.state == State.OPEN and has_password("left-company")
    assert bot.actions_of(reopened)[-1][:2] == ("withdrawn", APPROVER)
    update = standin.named("chat.update")[-1]
    assert ActionId.DISABLE in update.text_of_blocks()  # Disable and Keep again


def test_a_final_confirmation_slack_cannot_open_changes_nothing(bot, standin):
    standin.fail["views.open"] = "expired_trigger_id"
    finding = bot.finding("left-company")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.finding("left-company").state == State.OPEN
    assert [action for action, _actor, _why in bot.actions_of(finding)] == ["opened"]
    told = standin.said_to(APPROVER)
    assert "expired_trigger_id" in told and "press the button again" in told


def test_closing_a_decide_now_form_changes_nothing(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    set_fields(bot.repository, finding.id, escalated_at=finding.first_seen)
    bot.click(ActionId.DECIDE_NOW, finding.id)
    bot.close_last_form(APPROVER)
    assert bot.finding("owned").state == State.AWAITING_OWNER


def test_disable_records_the_request_its_form_is_for_before_any_queued_work(bot, standin):
    queued = []

    class Queue(Executor):  # the after-ack work waits, as under load
        def submit(self, fn, /, *args, **kwargs):
            queued.append(fn)
            return Future()

    bot.services.after_ack = Queue()
    bot.click(ActionId.DISABLE, bot.finding("left-company").id)
    assert standin.forms()[-1]["callback_id"] == CallbackId.CONFIRM
    assert bot.finding("left-company").state == State.DISABLE_REQUESTED  # nothing queued ran
    assert len(queued) == 1  # only the channel line's refresh waits
