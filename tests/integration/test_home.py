"""The app's Home tab end to end: signed events and clicks through the production adapter, moto,
SQLite (and PostgreSQL when it answers). The builder alone: tests/unit/test_home_view.py."""

from __future__ import annotations

import json
from datetime import timedelta

from moto.iam.models import iam_backends
from sqlalchemy import select

from bot.application.access import NOT_APPROVER, NOT_MINE, NOT_OWNER
from bot.aws.demo import DEMO_ACCOUNT_ID
from bot.domain.home import OpenCount
from bot.domain.scan import AccountScan, AccountTarget, ScanResult
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from bot.slack.messages.home import MAX_HOME_BLOCKS
from storage import models
from tests.integration.conftest import has_password, scans, session_of, set_fields, start_bot
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER, STRANGER, idle_scan
from tests.support.slack_rules import view_problem


def text_of(view: dict) -> str:
    return json.dumps(view, ensure_ascii=False)


def button_values(view: dict, action_id: str) -> list[str]:
    return [
        element.get("value")
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    ]


def surfaces_of(bot, finding, action: str) -> list[str]:
    return [event.surface for event in bot.repository.history(finding.id) if event.action == action]


def refusals_by(bot, user: str) -> list[tuple[str, str | None]]:
    with session_of(bot.repository) as session:
        query = select(models.AuditEvent).where(
            models.AuditEvent.actor == user, models.AuditEvent.action == "refused"
        )
        return [(event.surface, event.reason) for event in session.scalars(query)]


def waiting_on_owner(bot, user_name: str = "owned"):
    """The approver pressed Disable on `user_name`: its owner is asked."""
    bot.click(ActionId.DISABLE, bot.finding(user_name).id)
    finding = bot.finding(user_name)
    assert finding.state == State.AWAITING_OWNER
    return finding


def kept_by_approver(bot, user_name: str, reason: str, period: str = "30"):
    finding = bot.finding(user_name)
    bot.click(ActionId.KEEP, finding.id)
    assert bot.submit_keep(finding, APPROVER, reason, period, "slack-channel").status_code == 200
    finding = bot.finding(user_name)
    assert finding.state == State.KEPT
    return finding


# --- what each person sees ---------------------------------------------------------------------


def test_an_owner_sees_what_waits_on_them_with_its_buttons_and_their_keeps(bot, standin):
    owned = waiting_on_owner(bot)
    # An IAM user whose owner tag holds the owner's email in another case is theirs too.
    set_fields(bot.repository, bot.finding("keys-only").id, owner="Owner@Example.com")
    kept = kept_by_approver(bot, "keys-only", "on-call <!channel> break-glass", "90")

    assert bot.open_home(OWNER).status_code == 200
    home = bot.home_of(OWNER)
    text = text_of(home)
    assert home["type"] == "home"
    assert "Waiting on you" in text and "Asked 0 days ago by <@U0APPROVER>" in text
    assert button_values(home, ActionId.OWNER_CONFIRM) == [owned.id]
    assert button_values(home, ActionId.OWNER_DECLINE) == [owned.id]
    assert "Your keeps (1)" in text and "`keys-only`" in text
    assert f"kept until {kept.kept_until:%Y-%m-%d} by <@U0APPROVER>" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text  # a reason is data
    assert "For approvers" not in text and "About iam-inactive" not in text
    assert not button_values(home, ActionId.HOME_SCAN)
    for name in ("idle-dormant", "left-company"):  # other people's IAM users
        assert name not in text


def test_an_approver_sees_open_findings_waits_expiring_keeps_and_last_scans(bot, standin, now):
    owned = waiting_on_owner(bot)
    set_fields(bot.repository, owned.id, asked_at=now - timedelta(days=4, hours=1))
    ending = kept_by_approver(bot, "idle-dormant", "migration until Friday")
    set_fields(bot.repository, ending.id, kept_until=now + timedelta(days=5))
    kept_by_approver(bot, "keys-only", "kept for a long time", "180")
    set_fields(bot.repository, bot.finding("left-company").id, first_seen=now - timedelta(days=40))

    bot.open_home(APPROVER)
    home = bot.home_of(APPROVER)
    text = text_of(home)
    assert f"`{DEMO_ACCOUNT_ID}`: *4 open* (3 new this week, 1 open 30+ days)" in text
    assert "last scan" in text and ", ok" in text
    assert "*Waiting on owners (1)*\\n`owned`" in text and "waiting 4 days" in text
    assert "*Keeps ending in the next 14 days (1)*\\n`idle-dormant`" in text
    assert f"until {now + timedelta(days=5):%Y-%m-%d}" in text
    assert "keys-only" not in text.split("Keeps ending")[1]  # it ends in 180 days
    assert button_values(home, ActionId.HOME_SCAN) and button_values(home, ActionId.HOME_DIGEST)
    assert "Waiting on you" not in text and "About iam-inactive" not in text
    assert not button_values(home, ActionId.OWNER_CONFIRM)


def test_anyone_else_learns_what_the_bot_does_and_how_to_ask_for_an_exemption(bot, standin):
    bot.open_home(STRANGER)
    home = bot.home_of(STRANGER)
    text = text_of(home)
    assert "About iam-inactive" in text and f"<#{CHANNEL}>" in text
    assert "*Approvers*: <@U0APPROVER>" in text
    assert "`iam-inactive:exempt`" in text and "ask an approver to keep it" in text
    assert not [block for block in home["blocks"] if block["type"] == "actions"]

    standin.clear()
    bot.open_home(STRANGER, tab="messages")  # the Messages tab is not drawn by the bot
    assert not standin.named("views.publish")


def test_someone_who_owns_and_approves_sees_both_parts(bot, standin, database_file, aws_session):
    waiting_on_owner(bot)
    both = start_bot(
        standin, database_file, aws_session, slack_approvers=frozenset({APPROVER, OWNER})
    )
    both.open_home(OWNER)
    home = both.home_of(OWNER)
    text = text_of(home)
    assert text.index("Waiting on you") < text.index("For approvers")
    assert button_values(home, ActionId.OWNER_CONFIRM) and button_values(home, ActionId.HOME_SCAN)


# --- the owner answers on the Home tab ---------------------------------------------------------


def test_confirm_removal_on_home_removes_after_the_recheck_and_republishes(
    bot, standin, iam_calls_to_delete
):
    owned = waiting_on_owner(bot)
    set_fields(bot.repository, bot.finding("keys-only").id, owner=OWNER)  # theirs, not asked
    standin.clear()
    assert bot.home_click(ActionId.OWNER_CONFIRM, owned.id, OWNER).status_code == 200
    finding = bot.finding("owned")
    assert finding.state == State.DISABLED and not has_password("owned")
    assert iam_calls_to_delete == ["owned"]
    assert [action for action, _actor, _reason in bot.actions_of(finding)][-3:] == [
        "owner_confirmed",
        "disabling",
        "disabled",
    ]
    assert surfaces_of(bot, finding, "owner_confirmed") == ["slack-home"]
    assert "Console password of `owned` removed" in standin.said_to(OWNER)
    text = text_of(bot.home_of(OWNER))
    assert "Nothing waits on your answer now." in text and "`owned`" not in text
    assert not button_values(bot.home_of(OWNER), ActionId.OWNER_CONFIRM)
    assert not [call for call in standin.calls if call.answer.get("ok") is False]


def test_confirm_on_home_removes_nothing_when_the_recheck_finds_the_user_active(
    bot, standin, iam_calls_to_delete, now
):
    owned = waiting_on_owner(bot)
    user = iam_backends[DEMO_ACCOUNT_ID]["global"].users["owned"]
    user.password_last_used = now - timedelta(days=1)  # signed in since the scan
    bot.home_click(ActionId.OWNER_CONFIRM, owned.id, OWNER)
    assert bot.finding("owned").state == State.ABORTED
    assert has_password("owned") and iam_calls_to_delete == []


def test_i_still_need_it_on_home_keeps_within_the_owners_limits(bot, standin):
    owned = waiting_on_owner(bot)
    bot.home_click(ActionId.OWNER_DECLINE, owned.id, OWNER)
    (form,) = standin.forms()
    assert json.loads(form["private_metadata"])["surface"] == "slack-home"
    assert "forever" not in json.dumps(form)  # "until revoked" is the approvers'

    refused = bot.submit_keep(owned, OWNER, "break-glass account", "forever", "slack-home")
    assert refused.get_json()["response_action"] == "errors"
    assert bot.finding("owned").state == State.AWAITING_OWNER

    bot.submit_keep(owned, OWNER, "break-glass account", "180", "slack-home")
    finding = bot.finding("owned")
    assert finding.state == State.KEPT and finding.decided_by == OWNER
    assert surfaces_of(bot, finding, "kept") == ["slack-home"]
    text = text_of(bot.home_of(OWNER))
    assert "Your keeps (1)" in text and "`break-glass account`" in text


def test_a_tampered_or_foreign_finding_in_a_home_button_is_refused_and_changes_nothing(
    bot, standin
):
    owned = waiting_on_owner(bot)
    other = bot.finding("idle-dormant")
    before = {row.id: (row.state, row.version) for row in bot.repository.open_findings()}

    bot.home_click(ActionId.OWNER_CONFIRM, "0123' OR 1=1 --", OWNER)
    bot.home_click(ActionId.OWNER_CONFIRM, other.id, OWNER)  # not theirs
    bot.home_click(ActionId.OWNER_CONFIRM, owned.id, STRANGER)  # not the owner

    assert NOT_MINE in standin.said_to(OWNER) and NOT_OWNER in standin.said_to(OWNER)
    assert NOT_OWNER in standin.said_to(STRANGER)
    after = {row.id: (row.state, row.version) for row in bot.repository.open_findings()}
    assert after == before and has_password("owned")
    assert [surface for surface, _ in refusals_by(bot, STRANGER)] == ["slack-home"]


# --- the approvers' buttons on the Home tab ----------------------------------------------------


def test_scan_now_and_post_digest_on_home_do_what_the_commands_do_and_say_so(bot, standin):
    scanned = len(scans(bot.repository))
    standin.clear()
    assert bot.home_click(ActionId.HOME_SCAN, "all", APPROVER).status_code == 200
    latest = scans(bot.repository)
    assert len(latest) == scanned + 1 and latest[0].trigger == f"slack:{APPROVER}"
    queued, started, done = [json.dumps(call.params) for call in standin.named("views.publish")]
    assert "The scan of all accounts is queued" in queued
    assert "Scanning all accounts" in started
    assert "Scan done: 0 new findings" in done
    assert "Scan done: 0 new findings" in text_of(bot.home_of(APPROVER))

    standin.clear()
    bot.home_click(ActionId.HOME_DIGEST, "now", APPROVER)
    (digest,) = standin.posted(CHANNEL)
    assert "Weekly digest" in digest.text_of_blocks()
    assert f"Posted the digest to <#{CHANNEL}>." in text_of(bot.home_of(APPROVER))


def test_a_digest_slack_does_not_take_is_said_on_home(bot, standin):
    standin.fail["chat.postMessage"] = "channel_not_found"
    bot.home_click(ActionId.HOME_DIGEST, "now", APPROVER)
    text = text_of(bot.home_of(APPROVER))
    assert f"Slack did not take the digest in <#{CHANNEL}>" in text


def test_a_non_approvers_forged_scan_now_or_post_digest_is_refused_and_nothing_happens(
    bot, standin
):
    scanned = len(scans(bot.repository))
    standin.clear()
    bot.home_click(ActionId.HOME_SCAN, "all", STRANGER)
    bot.home_click(ActionId.HOME_DIGEST, "now", OWNER)
    assert len(scans(bot.repository)) == scanned
    assert not standin.posted(CHANNEL) and not standin.named("views.publish")
    assert NOT_APPROVER in standin.said_to(STRANGER) and NOT_APPROVER in standin.said_to(OWNER)
    assert refusals_by(bot, STRANGER) == [("slack-home", "not an approver")]


def test_each_accounts_last_scan_and_open_findings_by_age_are_read_from_the_records(
    repository, now
):
    day_before = now - timedelta(days=1)
    repository.record_scan(
        idle_scan({"111122223333": 2, "444455556666": 1}, day_before), "t", dry_run=False
    )
    failed = AccountScan(AccountTarget("444455556666", name="prod"), error="AccessDenied")
    repository.record_scan(ScanResult(now, now, "report", [failed]), "t", dry_run=False)
    last = repository.last_scans()
    assert (last["111122223333"].status, last["111122223333"].at) == ("ok", day_before)
    assert (last["444455556666"].status, last["444455556666"].error) == ("failed", "AccessDenied")
    assert last["444455556666"].account_name == "prod"
    (older,) = repository.open_findings(account_id="444455556666")
    set_fields(repository, older.id, first_seen=now - timedelta(days=30))
    assert repository.open_by_account(now) == {
        "111122223333": OpenCount(total=2, new=2, old=0),
        "444455556666": OpenCount(total=1, new=0, old=1),
    }


# --- limits and failures -----------------------------------------------------------------------


def test_a_home_over_slacks_100_blocks_shows_the_most_idle_first_and_how_many_more(
    bot, standin, now
):
    record = bot.repository.record_scan(idle_scan({"444455556666": 70}, now), "test", dry_run=False)
    for number, finding in enumerate(record.to_announce):
        set_fields(
            bot.repository,
            finding.id,
            state=State.AWAITING_OWNER,
            owner_slack_id=OWNER,
            requested_by=APPROVER,
            asked_at=now,
            days_idle=100 + number,
        )
    bot.open_home(OWNER)
    home = bot.home_of(OWNER)
    assert len(home["blocks"]) <= MAX_HOME_BLOCKS
    shown = button_values(home, ActionId.OWNER_CONFIRM)
    assert 40 <= len(shown) < 70
    assert f"…and {70 - len(shown)} more (each is also in your DM with the bot)" in text_of(home)
    days = [bot.repository.finding(finding_id).days_idle for finding_id in shown]
    assert days == sorted(days, reverse=True) and days[0] == 169


def test_slack_refuses_a_home_view_over_100_blocks():
    divider = {"type": "divider"}
    assert view_problem({"type": "home", "blocks": [divider] * 100}) is None
    assert "100 blocks" in view_problem({"type": "home", "blocks": [divider] * 101})


def test_a_failing_views_publish_changes_no_decision(bot, standin, iam_calls_to_delete):
    owned = waiting_on_owner(bot)
    standin.clear()
    standin.fail["views.publish"] = "internal_error"
    assert bot.open_home(OWNER).status_code == 200
    assert bot.home_click(ActionId.OWNER_CONFIRM, owned.id, OWNER).status_code == 200
    assert bot.finding("owned").state == State.DISABLED and iam_calls_to_delete == ["owned"]
    assert "Console password of `owned` removed" in standin.said_to(OWNER)
    assert len(standin.named("views.publish")) == 2  # tried, refused, logged


def test_an_owner_slack_cannot_look_up_is_told_some_may_be_missing(bot, standin):
    owned = waiting_on_owner(bot)
    standin.fail["users.info"] = "ratelimited"
    bot.open_home(OWNER)
    text = text_of(bot.home_of(OWNER))
    assert "could not read your Slack profile (Slack answered ratelimited)" in text
    assert button_values(bot.home_of(OWNER), ActionId.OWNER_CONFIRM) == [owned.id]


def test_a_malformed_event_is_refused_before_bolt_reads_it(bot, standin):
    body = json.dumps({"type": "event_callback", "event": "app_home_opened"})
    assert bot.post(body, content_type="application/json").status_code == 400
    assert not standin.named("views.publish")


def test_home_stops_warning_of_a_failed_account_discovery_once_accounts_are_scanned(
    bot, standin, now
):
    """An Organization listing that fails is recorded in place of the accounts; once accounts
    are found and scanned again, the approvers' Home no longer warns of it."""
    yesterday = now - timedelta(days=1)
    discovery = AccountScan(AccountTarget("unknown"), error="AccessDeniedException: ListAccounts")
    bot.repository.record_scan(
        ScanResult(yesterday, yesterday, "report", [discovery]), "schedule", dry_run=False
    )
    assert bot.command("scan").status_code == 200  # discovery and the scan work again
    with session_of(bot.repository) as session:
        latest = session.scalars(select(models.Scan).order_by(models.Scan.id.desc())).first()
        assert latest.status == "ok"

    bot.open_home(APPROVER)
    text = text_of(bot.home_of(APPROVER))
    assert f"`{DEMO_ACCOUNT_ID}`" in text and ", ok" in text
    assert ":warning:" not in text, text
