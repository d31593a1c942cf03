"""Idle access keys on every Slack surface (issue 23): a key finding's line, what Disable says
it does, the outcome and the steps after it, Reactivate, the owner's DM, `list` and `show`, the
digest and the Home; built without Slack, within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.records import FindingView
from bot.domain.workflow import KEY_ACTIONS_OFF, State
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import MAX_BLOCKS
from bot.slack.messages.channel import finding_blocks, findings_message
from bot.slack.messages.command import list_page
from bot.slack.messages.finding import KeyRules, finding_facts, status_line
from bot.slack.messages.owner import owner_dm, owner_reminder
from storage.models import Finding
from tests.support.slack_rules import message_problem
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
        "privilege not known · *no MFA on keys* · keys: active, used 2026-05-20",
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
        "reversible: Reactivate turns it back on for 30 days; keys still inactive 90 days after "
        "it are deleted."
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
    blocks = [b.to_dict() for b in finding_blocks(key_row(), UTC, OFF)]
    assert [b["action_id"] for b in buttons(blocks)] == [ActionId.KEEP]
    assert KEY_ACTIONS_OFF in texts(blocks)
    escalated = key_row(state=State.AWAITING_OWNER, escalated_at=NOW, requested_by="U0A")
    blocks = [b.to_dict() for b in finding_blocks(escalated, UTC, OFF)]
    assert [b["action_id"] for b in buttons(blocks)] == [ActionId.KEEP]
    # A password finding still offers Disable: it removes the password alone.
    assert ActionId.DISABLE in texts(finding_blocks(password_row(), UTC, OFF))


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
    assert expected in status_line(finding, UTC, keys=KEYS)


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
    assert status_line(finding, UTC, keys=KEYS) == expected
    one = disabled(key_row())
    one.state = state
    assert "the access key" in (status_line(one, UTC, keys=KEYS) or "")


def test_every_state_but_open_says_where_a_key_finding_stands():
    for state in State:
        finding = disabled(key_row())
        finding.state = state
        line = status_line(finding, UTC, keys=KEYS)
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
    # KEY_ACTIONS=off stops the bot taking keys away, never an undo.
    assert reactivate_buttons(findings_message([disabled(key_row())], UTC, False, keys=OFF).blocks)


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


def test_an_outcome_is_told_in_the_mode_it_was_asked_in_whatever_dry_run_is_now():
    """DRY_RUN switched since the removal: a message redrawn later (another finding of the
    same message moved) still tells what was done, not what the setting says now."""
    in_dry_run = disabled(password_row(requested_dry_run=True), keys=0)
    line = status_line(in_dry_run, UTC, keys=KEYS) or ""
    assert ":white_check_mark: Console password would be removed (dry run)" in line
    for_real = disabled(key_row(requested_dry_run=False))
    assert ":white_check_mark: Access key deactivated;" in (
        status_line(for_real, UTC, keys=KEYS) or ""
    )


def test_a_key_finding_left_no_key_of_its_own_does_not_say_its_key_is_deactivated():
    """`keys_left`: the key was turned back on in IAM, or a later finding deactivated it again
    and holds it now; this finding holds none (storage: deactivated_keys empty)."""
    left = disabled(key_row(requested_dry_run=False), keys=0)
    line = status_line(left, UTC, keys=KEYS) or ""
    assert "deactivated;" not in line and "no longer this finding's" in line
