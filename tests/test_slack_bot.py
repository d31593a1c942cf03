"""The Slack bot end to end: signed requests through the production adapter, moto, SQLite."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from moto.core.exceptions import AccessDeniedError
from moto.iam.models import IAMBackend, iam_backends

from bot.application.jobs import follow_up_job
from bot.aws.demo import DEMO_ACCOUNT_ID, DemoUser, seed_users
from bot.domain.records import FindingChanges
from bot.domain.workflow import State
from bot.slack.ids import ActionId, CallbackId
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.bot_harness import APPROVER, CHANNEL, OWNER, STRANGER, BotHarness, bot_settings
from tests.conftest import IDLE_DORMANT, KEYS_ONLY, OWNED, RECENT_LOGIN

LEFT = DemoUser("left-company", 500, password_used_days_ago=300, tags={"owner": "gone@example.com"})


@pytest.fixture
def database_file(database_url):
    """Every workflow test runs on a SQLite file and, when it answers, on PostgreSQL."""
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    return database_url


@pytest.fixture
def iam_calls_to_delete(aws_session):
    calls = []
    aws_session.events.register(
        "provide-client-params.iam.DeleteLoginProfile",
        lambda params, **_: calls.append(params["UserName"]),
    )
    return calls


_ENGINES = []


@pytest.fixture(autouse=True)
def _dispose_engines():
    """Close each test's connections (PostgreSQL has a connection limit)."""
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def start_bot(standin, database_url, session, **changes):
    settings = bot_settings(standin, database_url, **changes)
    engine = make_engine(database_url)
    _ENGINES.append(engine)
    return BotHarness.start(settings, Repository(engine), session, standin)


@pytest.fixture
def bot(standin, database_file, aws_session, now):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, RECENT_LOGIN, OWNED, LEFT), now)
    harness = start_bot(standin, database_file, aws_session)
    assert harness.command("scan").status_code == 200
    standin.clear()
    return harness


def has_password(user_name):
    return bool(iam_backends[DEMO_ACCOUNT_ID]["global"].users[user_name].password)


# --- scan and post -----------------------------------------------------------------------------


def test_scan_posts_a_summary_and_new_findings_with_buttons(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, RECENT_LOGIN, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    response = harness.command("scan")
    assert response.status_code == 200
    assert "Scanning all accounts" in response.get_data(as_text=True)
    posts = standin.named("chat.postMessage")
    assert [post.params["channel"] for post in posts] == [CHANNEL, CHANNEL]
    assert "3 new" in posts[0].params["text"]
    findings_message = posts[1].text_of_blocks()
    for name in ("idle-dormant", "keys-only", "owned"):
        assert name in findings_message
    assert findings_message.count(ActionId.DISABLE) == 3
    assert "recent-login" not in findings_message
    assert harness.finding("owned").slack_ts == "2.0001"
    (answer,) = standin.named("response/respond")
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
    told = {call.params["user"] for call in standin.named("chat.postEphemeral")}
    assert told == {APPROVER, OWNER}


def test_owner_declines_and_keeps_with_a_reason(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_DECLINE, finding.id, user=OWNER, channel="D0OWNER")
    (modal,) = standin.named("views.open")
    assert CallbackId.KEEP in modal.view_text()
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
    assert len(standin.named("views.open")) == 1
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
    (modal,) = standin.named("views.open")
    assert why in modal.view_text()
    assert not [p for p in standin.named("chat.postMessage") if p.params["channel"].startswith("D")]
    metadata = {"finding_id": finding.id, "why": why}
    bot.submit(CallbackId.CONFIRM, {}, metadata, APPROVER)
    done = bot.finding(user_name)
    assert done.state == State.DISABLED and not has_password(user_name)
    reasons = [reason for action, _a, reason in bot.actions_of(done) if action == "owner_confirmed"]
    assert reasons == [f"approver's confirmation is final: {why}"]


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
    told = {c.params["user"] for c in standin.named("chat.postEphemeral")}
    assert told == {APPROVER, OWNER}


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


@pytest.mark.parametrize("value", ["../../etc", "0" * 32, ""], ids=["tampered", "unknown", "empty"])
def test_tampered_or_unknown_button_value_is_refused(bot, standin, value):
    bot.click(ActionId.DISABLE, value)
    (told,) = standin.named("chat.postEphemeral")
    assert "nothing was done" in told.params["text"]
    assert {row.state for row in bot.repository.open_findings()} == {State.OPEN}


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


def test_without_approvers_every_action_is_refused(standin, database_file, aws_session, now):
    seed_users(aws_session, (OWNED,), now)
    harness = start_bot(standin, database_file, aws_session, slack_approvers=frozenset())
    response = harness.command("scan")
    assert "Only approvers" in response.get_data(as_text=True)


# --- the slash command -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "frobnicate", "show"])
def test_help_for_no_unknown_or_incomplete_arguments(bot, text):
    answer = bot.command(text).get_data(as_text=True)
    assert "/iam-inactive scan" in answer


def test_list_is_paged_and_filtered(bot):
    everything = bot.command("list").get_json()
    assert "4 open findings" in everything["text"]
    keys_only = bot.command("list keys_only").get_json()
    assert "1 open findings (keys_only)" in keys_only["text"]
    assert "must" not in bot.command("list 123456789012").get_json()["text"]
    assert "takes dormant" in bot.command("list nonsense").get_json()["text"]


def test_show_gives_the_finding_and_its_history(bot):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    answer = bot.command("show owned").get_data(as_text=True)
    assert "History of owned" in answer and "disable_requested" in answer
    assert "No findings for IAM user" in bot.command("show nobody").get_data(as_text=True)


def test_digest_posts_to_the_channel_with_a_chart_for_approvers_only(bot, standin):
    assert "Only approvers" in bot.command("digest", user=STRANGER).get_data(as_text=True)
    bot.command("digest")
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


def test_health_check(bot):
    response = bot.web.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


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
    bot.repository.note([finding.id], FindingChanges(asked_at=asked_at))
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
    first = harness.command("list dormant", user=STRANGER).get_json()
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
    (update,) = standin.named("chat.update")
    assert "Resolved: console password removed" in update.text_of_blocks()


def test_a_tampered_keep_form_changes_nothing(bot):
    finding = bot.finding("owned")
    response = bot.submit(CallbackId.KEEP, {}, {"finding_id": finding.id}, APPROVER)
    assert response.get_json()["response_action"] == "errors"
    forged = bot.submit_keep(finding, APPROVER, "a fine reason", "9999", "slack-channel")
    assert forged.get_json()["response_action"] == "errors"
    stranger = bot.submit_keep(finding, STRANGER, "a fine reason", "90", "slack-channel")
    assert "Only approvers" in str(stranger.get_json()["errors"])
    assert bot.finding("owned").state == State.OPEN


def test_a_failed_account_scan_is_said_in_the_channel_and_to_the_caller(bot, standin, aws_session):
    from tests.conftest import fail_first

    aws_session.events.register_first(
        "before-send.iam.GenerateCredentialReport",
        fail_first("GenerateCredentialReport", "AccessDenied", 1, status=403),
    )
    bot.command("scan")
    (summary,) = standin.named("chat.postMessage")
    assert "failed: GenerateCredentialReport failed: AccessDenied" in summary.params["text"]
    (answer,) = standin.named("response/respond")
    assert "1 account(s) failed" in answer.params["text"]
    assert {row.state for row in bot.repository.open_findings()} == {State.OPEN}  # kept as were


def test_a_live_recheck_that_aws_refuses_fails_safely(bot, standin, aws_session):
    from tests.conftest import fail_first

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
