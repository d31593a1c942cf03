"""Idle access keys on the rest of Slack (issue 23): `list` and `show`, the approver's forms, the
scan summary, the digest and the Home; built without Slack, within Slack's limits. The findings
channel and the owner's DM: test_key_messages.py."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from bot.domain import digest, home
from bot.domain.rule import AccessKeyUse, Candidate, UserCredentials
from bot.domain.scan import AccountScan, AccountTarget
from bot.domain.workflow import State
from bot.slack.messages.channel import scan_summary
from bot.slack.messages.command import history_message, list_page
from bot.slack.messages.digest import digest_message
from bot.slack.messages.home import MAX_HOME_BLOCKS, OwnerPart, home_view
from bot.slack.messages.modals import confirm_modal, keep_modal
from storage.models import AuditEvent
from tests.support.slack_rules import view_problem
from tests.unit.test_home_view import ABOUT
from tests.unit.test_key_messages import (
    CREATED,
    OFF,
    disabled,
    key_row,
    password_row,
    reactivate_buttons,
)
from tests.unit.test_messages import KEYS, NOW, row


def test_list_and_show_print_the_key_facts():
    page = json.dumps(list_page([key_row(key_id="AKIAONE"), password_row()], "", 1, UTC).blocks)
    assert "idle access key, fully inactive" in page
    assert "Access key `AKIAONE` created 2024-01-03, last used 2026-05-20 (`s3`)" in page
    assert "Idle access keys: access key `AKIAIVANONE`" in page
    finding = disabled(key_row(key_id="AKIAONE"))
    event = AuditEvent(at=NOW, actor="U0OWNER", action="disabled", reason="access key deactivated")
    shown = json.dumps(
        history_message("legacy-etl", [(finding, [event])], UTC).blocks, ensure_ascii=False
    )
    assert (
        "Now: *disabled* · deactivated by the bot: access key `AKIADONE0` created 2024-01-03"
        in (shown)
    )


def test_the_approvers_final_confirmation_and_keep_name_the_key():
    finding = key_row(key_id="AKIAONE", state=State.AWAITING_OWNER, escalated_at=NOW)
    view = confirm_modal(finding, "The owner did not answer", UTC, False, KEYS)
    assert (
        view["title"]["text"] == "Deactivate access key" and view["submit"]["text"] == "Deactivate"
    )
    assert "right before deactivating access key `AKIAONE` created 2024-01-03" in json.dumps(view)
    assert view_problem(view) is None
    keep = keep_modal(finding, "slack-channel", 180, UTC)
    assert keep["title"]["text"] == "Keep access key"
    assert "Keep the access key `AKIAONE` created 2024-01-03 of `legacy-etl`" in json.dumps(keep)


def test_the_scan_summary_counts_idle_keys():
    user = UserCredentials(
        "111122223333", "u", "arn:aws:iam::111122223333:user/u", NOW, True, None, None
    )
    key = AccessKeyUse(True, None, created=CREATED)
    account = AccountScan(
        AccountTarget("111122223333"),
        users_seen=9,
        candidates=[
            Candidate(user, "dormant", True, 100, idle_keys=(key, key)),
            Candidate(user, "idle_key", False, 100, key=key),
        ],
    )
    text = scan_summary(account, [key_row(), row()], dry_run=False).blocks[0]["text"]["text"]
    assert text.endswith(
        "9 users, 1 idle console passwords, 3 idle access keys, *2 new* (1 dormant, "
        "1 idle access key)"
    )


def test_the_digest_counts_the_weeks_idle_keys():
    week_ago = NOW - timedelta(days=8)
    findings = [
        key_row("new-key", first_seen=NOW - timedelta(days=1)),
        password_row("new-password", first_seen=NOW - timedelta(days=2)),  # 2 idle keys
        key_row("old-key", first_seen=week_ago),
        disabled(key_row("deactivated", first_seen=week_ago), days_ago=3),
        disabled(password_row("removed", first_seen=week_ago), days_ago=1, keys=2),
        disabled(password_row("long-ago", first_seen=week_ago), days_ago=20, keys=2),
    ]
    findings[-1].state, findings[-1].state_changed_at = State.REACTIVATED, NOW
    facts = digest.summarize(NOW, findings, {}, [])
    assert facts.week_keys == digest.KeyWeek(found=3, deactivated=3, reactivated=2)
    fields = digest_message(facts, UTC, dry_run=False).blocks[1]["fields"]
    assert {
        "type": "mrkdwn",
        "text": "*Idle access keys this week*\nfound 3 · deactivated 3 · reactivated 2",
        "verbatim": True,
    } in fields


def test_the_digest_names_an_administrators_idle_key_among_the_top_risks():
    admin = key_row("admin", key_id="AKIAADMIN", privileged=True, privilege="AdministratorAccess")
    facts = digest.summarize(NOW, [admin], {}, [])
    text = json.dumps(digest_message(facts, UTC, dry_run=False).blocks)
    assert "access key `AKIAADMIN` created 2024-01-03 of `admin` (`111122223333`)" in text


def test_the_owners_home_offers_reactivate_for_their_reactivatable_findings():
    done = disabled(key_row(key_id="AKIAONE"))
    waiting = key_row("waiting", state=State.AWAITING_OWNER, owner_slack_id="U0O")
    rows = [done, waiting, disabled(key_row("late"), days_ago=40), key_row("open")]
    reactivatable = home.reactivatable(rows, NOW, 30)
    assert reactivatable == [done]  # whatever KEY_ACTIONS says: an undo is never stopped
    view = home_view(
        about=ABOUT,
        owner=OwnerPart([waiting], [], reactivatable),
        approver=None,
        now=NOW,
        zone=UTC,
        dry_run=False,
        keys=KEYS,
    )
    assert view_problem(view) is None
    (button,) = reactivate_buttons(view["blocks"])
    assert button["value"] == done.id
    text = json.dumps(view, ensure_ascii=False)
    assert "Access keys you can turn back on" in text
    assert (
        "1 access key deactivated 2026-11-25, confirmed by <@U0OWNER> · *Reactivate* until "
        "2026-12-25" in text
    )
    assert "Confirm deactivation" in text


def test_the_home_stays_within_slacks_limits_with_many_keys_to_reactivate():
    waiting = [key_row(f"w{n}", state=State.AWAITING_OWNER) for n in range(60)]
    done = [disabled(password_row(f"d{n}" + "x" * 60), keys=2) for n in range(60)]
    view = home_view(
        about=ABOUT,
        owner=OwnerPart(waiting, [], done),
        approver=None,
        now=NOW,
        zone=UTC,
        dry_run=True,
        keys=KEYS,
    )
    assert view_problem(view) is None and len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert "…and 60 more" in json.dumps(view, ensure_ascii=False)  # waiting ones come first


def test_the_about_text_says_what_is_done_to_keys():
    about = json.dumps(
        home_view(
            about=ABOUT, owner=None, approver=None, now=NOW, zone=UTC, dry_run=False, keys=KEYS
        )
    )
    assert "access keys unused for 45 days" in about
    assert "turned back on with *Reactivate* for 30 days" in about
    off = json.dumps(
        home_view(
            about=ABOUT, owner=None, approver=None, now=NOW, zone=UTC, dry_run=False, keys=OFF
        )
    )
    assert "never deactivated (KEY_ACTIONS=off)" in off
