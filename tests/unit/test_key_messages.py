"""Idle access keys on every Slack surface (issue 23): a key finding's line, what Disable says
it does, the outcome and the steps after it, Reactivate, the owner's DM, `list` and `show`, the
digest and the Home; built without Slack, within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import digest, home
from bot.domain.records import FindingView
from bot.domain.scan import AccountScan, AccountTarget
from bot.domain.workflow import KEY_ACTIONS_OFF, State
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import MAX_BLOCKS
from bot.slack.messages.channel import finding_blocks, findings_message, scan_summary
from bot.slack.messages.command import history_message, list_page
from bot.slack.messages.digest import digest_message
from bot.slack.messages.finding import KeyRules, finding_facts, status_line
from bot.slack.messages.home import MAX_HOME_BLOCKS, OwnerPart, home_view
from bot.slack.messages.modals import confirm_modal, keep_modal
from bot.slack.messages.owner import owner_dm, owner_reminder
from storage.models import AuditEvent, Finding
from tests.support.slack_rules import message_problem, view_problem
from tests.unit.test_home_view import ABOUT
from tests.unit.test_messages import KEYS, NOW, row

CREATED = datetime(2024, 1, 3, 8, 30, tzinfo=UTC)
USED = datetime(2026, 5, 20, 14, 0, tzinfo=UTC)
OFF = KeyRules(deactivate=False, reactivate_days=30, now=NOW)


def key_entry(key_id: str | None = None, used: datetime | None = USED, **more: Any) -> dict:
    """A key as the scan records it in a finding's facts."""
    return {
        "active": True,
        "last_used": used.isoformat() if used else None,
        "key_id": key_id,
        "created": CREATED.isoformat(),
        "last_used_service": "s3" if used else None,
        **more,
    }


def key_row(name: str = "legacy-etl", key_id: str | None = None, **changes: Any) -> Finding:
    """An idle_key finding: one key of a user without a console password."""
    values: dict[str, Any] = dict(
        category="idle_key",
        key_created=CREATED,
        key_id=key_id,
        newest_key_used=USED,
        password_last_used=None,
        days_idle=191,
        facts={"has_password": False, "keys": [key_entry()], "idle_keys": []},
    )
    values.update(changes)
    return row(name, **values)


def password_row(name: str = "ivan", **changes: Any) -> Finding:
    """A password finding carrying its user's two idle keys."""
    idle = [key_entry("AKIAIVANONE"), key_entry("AKIAIVANTWO", used=None)]
    return row(name, facts={"has_password": True, "keys": idle, "idle_keys": idle}, **changes)


def disabled(finding: Finding, days_ago: int = 2, keys: int = 1) -> Finding:
    """`finding` disabled `days_ago`, the bot having deactivated `keys` of its keys."""
    finding.state = State.DISABLED
    finding.decided_by = "U0OWNER"
    finding.closed_at = NOW - timedelta(days=days_ago)
    finding.deactivated_keys = [
        {"key_id": f"AKIADONE{n}", "created": CREATED.isoformat()} for n in range(keys)
    ]
    return finding


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def texts(blocks: list[Any]) -> str:
    return json.dumps([b if isinstance(b, dict) else b.to_dict() for b in blocks])


def test_a_key_finding_reads_as_a_key_of_its_user():
    assert finding_facts(key_row(owner_slack_id="U0OWNER"), UTC).splitlines() == [
        "`legacy-etl` in `111122223333` · idle access key, fully inactive",
        "Access key created 2024-01-03, last used 2026-05-20 (`s3`) · idle *191 days* · "
        "no console password · owner <@U0OWNER>",
        "privilege not known · MFA not known · keys: active, used 2026-05-20",
    ]
    never = key_row(
        key_id="AKIAEXAMPLE",
        newest_key_used=None,
        facts={"has_password": True, "keys": [key_entry(used=None)]},
        password_last_used=NOW - timedelta(days=3),
    )
    assert (
        finding_facts(never, UTC)
        .splitlines()[1]
        .startswith(
            "Access key `AKIAEXAMPLE` created 2024-01-03, never used · idle *191 days* · "
            "password last used 2026-11-24"
        )
    )


def test_a_password_finding_lists_the_idle_keys_decided_with_it():
    assert finding_facts(password_row(), UTC).splitlines()[3] == (
        "Idle access keys: access key `AKIAIVANONE` created 2024-01-03, last used 2026-05-20 "
        "(`s3`); access key `AKIAIVANTWO` created 2024-01-03, never used"
    )
    assert len(finding_facts(row(), UTC).splitlines()) == 3  # no idle keys, no such line


def confirm_of(finding: FindingView, keys: KeyRules = KEYS) -> tuple[dict[str, Any], str]:
    (disable,) = [
        b
        for b in buttons(findings_message([finding], UTC, False, keys=keys).blocks)
        if b["action_id"] == ActionId.DISABLE
    ]
    return disable, disable["confirm"]["text"]["text"]


def test_disable_on_a_key_finding_deactivates_it_reversibly():
    button, text = confirm_of(key_row(owner="ann@example.com"))
    assert button["text"]["text"] == "Deactivate"
    assert button["confirm"]["title"]["text"] == "Deactivate access key?"
    assert text == (
        "Ask ann@example.com to confirm deactivating access key created 2024-01-03 of "
        "legacy-etl (111122223333). Deactivation is reversible: Reactivate turns it back on "
        "for 30 days."
    )
    deleting = KeyRules(True, 30, NOW, delete_after_days=90)
    assert confirm_of(key_row(key_id="AKIAX"), deleting)[1].endswith(
        "access key AKIAX created 2024-01-03 of legacy-etl (111122223333). Deactivation is "
        "reversible: Reactivate turns it back on for 30 days; keys still inactive 90 days "
        "after are deleted."
    )


def test_disable_on_a_password_says_its_idle_keys_are_deactivated_too_unless_key_actions_off():
    button, text = confirm_of(password_row())
    assert button["text"]["text"] == "Disable"
    assert button["confirm"]["title"]["text"] == "Remove password, deactivate keys?"
    assert "removing the console password of ivan (111122223333) and deactivating its 2 idle " in (
        text
    )
    assert "Reactivate turns the idle ones back on for 30 days" in text
    button, text = confirm_of(password_row(), OFF)
    assert button["confirm"]["title"]["text"] == "Remove console password?"
    assert text.endswith(
        "removing the console password of ivan (111122223333). Access keys keep working."
    )


def test_no_disable_on_a_key_finding_while_key_actions_are_off():
    blocks = [b.to_dict() for b in finding_blocks(key_row(), UTC, False, OFF)]
    assert [b["action_id"] for b in buttons(blocks)] == [ActionId.KEEP]
    assert KEY_ACTIONS_OFF in texts(blocks)
    escalated = key_row(state=State.AWAITING_OWNER, escalated_at=NOW, requested_by="U0A")
    blocks = [b.to_dict() for b in finding_blocks(escalated, UTC, False, OFF)]
    assert [b["action_id"] for b in buttons(blocks)] == [ActionId.KEEP]
    # A password finding still offers Disable: it removes the password alone.
    assert ActionId.DISABLE in texts(finding_blocks(password_row(), UTC, False, OFF))


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        (disabled(key_row()), ":white_check_mark: Access key deactivated; confirmed by <@U0OWNER>"),
        (
            disabled(password_row(), keys=2),
            ":white_check_mark: Console password removed and 2 idle access keys deactivated; "
            "confirmed by <@U0OWNER>",
        ),
        (
            key_row(state=State.DISABLING, decided_by="U0OWNER"),
            ":gear: Confirmed by <@U0OWNER>; deactivating access key created 2024-01-03",
        ),
        (
            password_row(state=State.OWNER_CONFIRMED, decided_by="U0OWNER"),
            ":gear: Confirmed by <@U0OWNER>; removing the console password and deactivating its "
            "2 idle access keys",
        ),
        (
            key_row(state=State.AWAITING_OWNER, requested_by="U0A", owner_slack_id="U0OWNER"),
            ":hourglass: Deactivation requested by <@U0A>, waiting for <@U0OWNER>",
        ),
        (
            key_row(state=State.ABORTED, decision_note="re-check: key used"),
            ":no_entry_sign: Not deactivated: `re-check: key used`",
        ),
        (key_row(state=State.FAILED), ":warning: Deactivation failed"),
        (
            disabled(key_row(), keys=1),
            "· *Reactivate* until 2026-12-25",
        ),
    ],
)
def test_key_outcomes_and_steps_read_as_keys(finding, expected):
    assert expected in status_line(finding, UTC, dry_run=False, keys=KEYS)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (State.REACTIVATING, ":gear: Turning the 2 access keys back on"),
        (
            State.REACTIVATED,
            ":leftwards_arrow_with_hook: Reactivated the 2 access keys; the console password "
            "stays removed",
        ),
        (State.DELETING_KEYS, ":gear: Deleting the 2 access keys, inactive since 2026-11-25"),
        (State.KEYS_DELETED, ":wastebasket: Deleted the 2 access keys, inactive since 2026-11-25"),
    ],
)
def test_the_steps_after_a_deactivation_read_right(state, expected):
    finding = disabled(password_row(), keys=2)
    finding.state = state
    assert status_line(finding, UTC, dry_run=False, keys=KEYS) == expected
    one = disabled(key_row())
    one.state = state
    assert "the access key" in (status_line(one, UTC, dry_run=False, keys=KEYS) or "")


def test_every_state_but_open_says_where_a_key_finding_stands():
    for state in State:
        finding = disabled(key_row())
        finding.state = state
        line = status_line(finding, UTC, dry_run=False, keys=KEYS)
        assert (line is None) == (state == State.OPEN), state
        assert "password" not in (line or ""), (state, line)


def reactivate_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in buttons(blocks) if b["action_id"] == ActionId.REACTIVATE]


def test_reactivate_is_offered_while_the_deactivated_keys_may_be_turned_back_on():
    assert ActionId.REACTIVATE == "finding_reactivate"
    finding = disabled(key_row(key_id="AKIAONE"))
    (button,) = reactivate_buttons(findings_message([finding], UTC, False, keys=KEYS).blocks)
    assert button["value"] == finding.id and button["style"] == "primary"
    assert button["confirm"]["text"]["text"] == (
        "Turn access key AKIADONE0 created 2024-01-03 of legacy-etl (111122223333) back on? "
        "The bot first checks that it is still inactive."
    )
    (dm_button,) = reactivate_buttons(owner_dm(finding, UTC, False, KEYS).blocks)
    assert dm_button["value"] == finding.id
    not_offered = [
        disabled(key_row(), days_ago=31),  # the window has passed
        disabled(key_row(), keys=0),  # the bot deactivated nothing (a dry run)
        key_row(),  # open
    ]
    reactivated = disabled(key_row())
    reactivated.state = State.REACTIVATED
    for finding in [*not_offered, reactivated]:
        assert not reactivate_buttons(findings_message([finding], UTC, False, keys=KEYS).blocks)
        assert not reactivate_buttons(owner_dm(finding, UTC, False, KEYS).blocks)
    assert not reactivate_buttons(
        findings_message([disabled(key_row())], UTC, False, keys=OFF).blocks
    )


def test_a_password_findings_reactivate_says_the_password_stays_removed():
    finding = disabled(password_row(), keys=2)
    (button,) = reactivate_buttons(findings_message([finding], UTC, False, keys=KEYS).blocks)
    assert button["confirm"]["title"]["text"] == "Reactivate access keys?"
    assert button["confirm"]["text"]["text"].endswith(
        "they are still inactive; the console password stays removed."
    )


def test_the_owner_is_asked_about_the_key_and_told_it_can_be_reactivated():
    finding = key_row(
        key_id="AKIAONE", state=State.AWAITING_OWNER, requested_by="U0A", owner_slack_id="U0O"
    )
    message = owner_dm(finding, UTC, False, KEYS)
    assert message.blocks[0]["text"]["text"] == (
        "Hi! The access key `AKIAONE` created 2024-01-03 of `legacy-etl` (account "
        "`111122223333`) has been idle for *191 days*: last used 2026-05-20 (`s3`). <@U0A> asked "
        "to deactivate it. Deactivation is reversible: Reactivate turns it back on for 30 days."
    )
    assert [b["text"]["text"] for b in buttons(message.blocks)] == [
        "Confirm deactivation",
        "I still need it",
    ]
    assert message.text == (
        "Can the access key `AKIAONE` created 2024-01-03 of `legacy-etl` (`111122223333`) be "
        "deactivated?"
    )
    assert "be deactivated? It has not been used for 191 days" in owner_reminder(finding, UTC).text


def test_the_owner_of_a_password_with_idle_keys_is_asked_about_both():
    finding = password_row(state=State.AWAITING_OWNER, requested_by="U0A")
    intro = owner_dm(finding, UTC, False, KEYS).blocks[0]["text"]["text"]
    assert "<@U0A> asked to remove it and to deactivate its 2 idle access keys. " in intro
    assert "Reactivate turns the idle ones back on for 30 days" in intro
    intro = owner_dm(finding, UTC, False, OFF).blocks[0]["text"]["text"]
    assert "<@U0A> asked to remove it. Access keys keep working" in intro


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
    from bot.domain.rule import AccessKeyUse, Candidate, UserCredentials

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
    reactivatable = home.reactivatable(rows, NOW, 30, key_actions_on=True)
    assert reactivatable == [done]
    assert home.reactivatable(rows, NOW, 30, key_actions_on=False) == []
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


LONGEST = "a+b=c,d.e@f_g-h" * 4 + "xyzw"  # 64 characters


def test_ten_longest_key_findings_of_every_kind_fit_in_one_message():
    def extreme(number: int) -> Finding:
        name = LONGEST[:-2] + f"{number:02d}"
        if number % 2:
            return disabled(password_row(name, owner="o" * 256), keys=2)
        return key_row(name, key_id="AKIA" + "X" * 124, owner="o" * 256)

    for keys in (KEYS, OFF):
        message = findings_message([extreme(n) for n in range(10)], UTC, True, keys=keys)
        assert message_problem({"text": message.text, "blocks": message.blocks}) is None
        assert len(message.blocks) <= MAX_BLOCKS


def test_a_hostile_user_name_and_key_stay_literal_on_every_key_surface():
    name = "<!channel>*x*"
    finding = key_row(name, key_id="<@U0X>", state=State.AWAITING_OWNER, requested_by="U0A")
    shown = "`&lt;!channel&gt;*x*`"
    for message in (
        findings_message([finding], UTC, False, keys=KEYS),
        owner_dm(finding, UTC, False, KEYS),
        owner_dm(disabled(finding), UTC, False, KEYS),
        list_page([finding], "", 1, UTC),
    ):
        text = json.dumps(message.blocks, ensure_ascii=False)
        assert shown in text and "`&lt;@U0X&gt;`" in text
        assert "<!channel>" not in text and "<@U0X>" not in text
        assert message_problem({"text": message.text, "blocks": message.blocks}) is None
    confirm = reactivate_buttons(owner_dm(disabled(finding), UTC, False, KEYS).blocks)[0]
    assert "of &lt;!channel&gt;*x* (111122223333) back on?" in confirm["confirm"]["text"]["text"]
