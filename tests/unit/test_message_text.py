"""Text from AWS and people stays text wherever it meets Slack: every builder, every text object
and every notification fallback, with hostile values (issues 20 and 21)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ConfirmObject, PlainTextObject

from bot.application.removal import RemovedUnrecorded
from bot.domain.digest import DigestFacts, KeyWeek
from bot.domain.home import LastScan, OpenCount
from bot.domain.records import Surface
from bot.domain.scan import AccountScan, AccountTarget
from bot.domain.workflow import State
from bot.slack.messages.blocks import Message, notice
from bot.slack.messages.channel import (
    ThreadProgress,
    escalation,
    findings_message,
    scan_summary,
    unposted_summary,
)
from bot.slack.messages.command import HELP, help_message, history_message, list_page
from bot.slack.messages.digest import digest_message
from bot.slack.messages.home import About, ApproverPart, OwnerPart, home_view
from bot.slack.messages.modals import confirm_modal, keep_modal, placeholder_modal, unkeep_modal
from bot.slack.messages.owner import owner_dm, owner_reminder
from bot.slack.messages.text import clean, literal, mention, plain, slack_length
from storage.models import AuditEvent
from tests.support.slack_rules import message_problem, view_problem
from tests.unit.test_key_messages import OFF
from tests.unit.test_messages import KEYS, NOW, row

# Each can format, mention, link, become an emoji or reverse the line when it goes in raw.
PIECES = [
    "<!channel>@x.io",
    "@channel",
    "<!here>",
    "<@U0X>",
    "<https://x.io|y>",
    "*bold*",
    "_it_",
    "~s~",
    "`TICK`",
    ":fire:",
    "&amp;",
    "\u202eEVIL",
    "\u200fRLM",
    "\U0001d4d0\U0001f525",
    "line\nbreak\r\u2028",
    "nul\x00\x1b",
]
HOSTILE = " ".join(PIECES)
LONG = HOSTILE + " " + "y" * 1000
# What must never show outside a code span in mrkdwn, nor raw anywhere.
MARKUP = ("*bold*", "_it_", "~s~", ":fire:", "@channel", "TICK", "&amp;amp;", "EVIL", "RLM")
OWN_MARKUP = re.compile(r"<@U[A-Z0-9]+>|<#C[A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>")
NOT_TEXT = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LINE_BREAKS = re.compile(r"[\n\r\u2028\u2029]")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
CODE_SPAN = re.compile(r"`[^`\n]*`")
SHORTCODE = re.compile(r":[a-z0-9_+-]+:")


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from text_objects(item)
    elif isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)


def assert_inert_mrkdwn(text: str) -> None:
    """Escaped, and whatever came from AWS or people is inside a code span: nothing formats,
    mentions, links or reorders the line."""
    assert not NOT_TEXT.search(text), repr(text)
    own_removed = OWN_MARKUP.sub("", text)
    assert "<" not in own_removed and ">" not in own_removed, text
    assert not BARE_AMPERSAND.search(text), text
    for line in text.split("\n"):
        assert line.count("`") % 2 == 0, line  # every code span closed on its line
        outside = CODE_SPAN.sub("", line)
        for markup in MARKUP:
            assert markup not in outside, (markup, line)


def assert_inert_plain(text_object: dict[str, Any]) -> None:
    text = text_object["text"]
    assert not NOT_TEXT.search(text) and not LINE_BREAKS.search(text), repr(text)
    assert "<" not in text and ">" not in text and not BARE_AMPERSAND.search(text), text
    if SHORTCODE.search(text):
        assert text_object.get("emoji") is False, text  # `:fire:` is no emoji here


def assert_safe_message(message: Message) -> None:
    assert message_problem({"text": message.text, "blocks": message.blocks}) is None
    assert_inert_mrkdwn(message.text)
    assert_safe_blocks(message.blocks)


def assert_safe_view(view: dict[str, Any]) -> None:
    assert view_problem(view) is None
    assert_safe_blocks(view["blocks"])


def assert_safe_blocks(blocks: list[dict[str, Any]]) -> None:
    for text_object in text_objects(blocks):
        if text_object["type"] == "mrkdwn":
            assert text_object.get("verbatim") is True  # no automatic parsing of @names, URLs
            assert_inert_mrkdwn(text_object["text"])
        else:
            assert_inert_plain(text_object)


def hostile_row(value: str, number: int = 0, **changes: Any) -> Any:
    values: dict[str, Any] = dict(
        owner=value,
        privileged=True,
        privilege=value,
        user_arn=f"arn:aws:iam::111122223333:user/{value}/x",
        decision_note=value,
        resolution=value,
        requested_by=value,
        decided_by=value,
        kept_until=NOW + timedelta(days=3),
        asked_at=NOW - timedelta(days=3),
        state_changed_at=NOW,
    )
    values.update(changes)
    return row(f"{value}{number}", **values)


def hostile_key(value: str) -> dict[str, Any]:
    """An access key as a finding's facts record it, with `value` where AWS names things."""
    at = (NOW - timedelta(days=400)).isoformat()
    return {
        "active": True,
        "last_used": at,
        "key_id": value,
        "created": at,
        "last_used_service": value,
    }


def hostile_key_row(value: str, number: int, **changes: Any) -> Any:
    """An idle_key finding, its key named and last used with `value`, its keys deactivated."""
    values: dict[str, Any] = dict(
        category="idle_key",
        key_created=NOW - timedelta(days=400),
        key_id=value,
        facts={"has_password": False, "keys": [hostile_key(value)], "idle_keys": []},
        deactivated_keys=[{"key_id": value, "created": None}] * 2,
        closed_at=NOW - timedelta(days=1),
    )
    values.update(changes)
    return hostile_row(value, number, **values)


def key_rows(value: str) -> list[Any]:
    """Key findings, and a password carrying idle keys, in every state a key reads apart in."""
    states = [State.OPEN, State.AWAITING_OWNER, State.DISABLED, State.REACTIVATED, State.FAILED]
    rows = [hostile_key_row(value, 10 + n, state=state) for n, state in enumerate(states)]
    idle = [hostile_key(value)] * 2
    facts = {"has_password": True, "keys": idle, "idle_keys": idle}
    carrying = [
        hostile_key_row(
            value, 20 + n, state=state, key_created=None, category="dormant", facts=facts
        )
        for n, state in enumerate([State.AWAITING_OWNER, State.DISABLED])
    ]
    return rows + carrying


def every_message(value: str) -> list[Message]:
    """Every message builder, with `value` wherever AWS or people put text."""
    states = [State.OPEN, State.AWAITING_OWNER, State.KEPT, State.FAILED, State.RESOLVED]
    rows = [hostile_row(value, n, state=state) for n, state in enumerate(states)]
    keys = key_rows(value)
    escalated = hostile_row(value, state=State.AWAITING_OWNER, escalated_at=NOW)
    failed = AccountScan(AccountTarget("111122223333", name=value), error=value)
    done = AccountScan(AccountTarget(value, name=value), users_seen=3)
    event = AuditEvent(at=NOW, actor=value, action="keep", reason=value)
    facts = DigestFacts(
        week_actions={"disabled": 1},
        open_total=1,
        open_by_age={"90+ days": 1},
        open_by_account={value: 1},
        top_risks=rows,
        waiting_on_owners=[(rows[1], 4)],
        keeps_expiring=[rows[2]],
        failed_scans=[(NOW, value, value)],
        trend=[],
        week_keys=KeyWeek(1, 1, 1, 1),
    )
    return [
        findings_message(rows, UTC, dry_run=False, keys=KEYS),
        findings_message([escalated], UTC, dry_run=True, keys=KEYS),
        scan_summary(failed, [], dry_run=False),
        scan_summary(done, rows, dry_run=False, thread=ThreadProgress(20, 5)),
        unposted_summary(value, dry_run=False),
        escalation(rows[1], 4, UTC),
        owner_dm(rows[1], UTC, dry_run=False, keys=KEYS),
        owner_dm(rows[2], UTC, dry_run=False, keys=KEYS),
        owner_reminder(rows[1], UTC),
        help_message(f"I don't know {literal(value)}."),
        list_page(rows, value, 1, UTC),
        history_message(value, [(r, [event] * 3) for r in rows], UTC),
        history_message(value, [], UTC),
        digest_message(facts, UTC, dry_run=False),
        notice(f"Kept the console password of {literal(value)}: {literal(value)}"),
        findings_message(keys, UTC, dry_run=False, keys=KEYS),
        findings_message(keys, UTC, dry_run=True, keys=OFF),
        escalation(keys[1], 4, UTC),
        owner_reminder(keys[1], UTC),
        list_page(keys, value, 1, UTC),
        history_message(value, [(r, [event]) for r in keys], UTC),
        digest_message(
            replace(facts, top_risks=keys, waiting_on_owners=[(keys[1], 4)]), UTC, False
        ),
        *(owner_dm(key, UTC, dry_run=False, keys=KEYS) for key in keys),
    ]


def every_view(value: str) -> list[dict[str, Any]]:
    finding = hostile_row(value, state=State.AWAITING_OWNER)
    keys = key_rows(value)
    about = About("C0FINDINGS", 90, 45, ["U0APPROVER", value], "S0GROUP", value, 180)
    scans = {value: LastScan(NOW, "failed", value, value), "1": LastScan(NOW, "ok", value)}
    return [
        keep_modal(finding, Surface.CHANNEL, 180, UTC),
        unkeep_modal(hostile_row(value, state=State.KEPT), UTC),
        confirm_modal(finding, f"The owner {literal(value)} is not a Slack user", UTC, True, KEYS),
        placeholder_modal(f"Slack said {literal(value)}"),
        home_view(
            about=about,
            owner=OwnerPart([finding], [hostile_row(value, state=State.KEPT)]),
            approver=ApproverPart({value: OpenCount(1, 1, 0)}, scans, [finding], [finding]),
            now=NOW,
            zone=UTC,
            dry_run=True,
            keys=KEYS,
        ),
        home_view(
            about=about, owner=None, approver=None, now=NOW, zone=UTC, dry_run=False, keys=KEYS
        ),
        home_view(
            about=about,
            owner=OwnerPart(keys[:2], keys[-1:], [keys[2], keys[-1]]),
            approver=ApproverPart({}, {}, keys[:2], keys[-1:]),
            now=NOW,
            zone=UTC,
            dry_run=False,
            keys=KEYS,
        ),
        confirm_modal(keys[1], "The owner did not answer", UTC, False, KEYS),
        keep_modal(keys[0], Surface.DM, 180, UTC),
        unkeep_modal(keys[0], UTC),
    ]


@pytest.mark.parametrize("value", [*PIECES, HOSTILE, LONG, "&" * 1000, "\U0001d4d0" * 1000])
def test_every_builder_shows_hostile_text_as_text_and_slack_takes_it(value):
    for message in every_message(value):
        assert_safe_message(message)
    for view in every_view(value):
        assert_safe_view(view)


@settings(max_examples=40)
@given(st.text(st.characters(exclude_categories=()), max_size=400))
def test_any_text_at_all_stays_text_in_every_builder(value):
    for message in every_message(value):
        assert_safe_message(message)
    for view in every_view(value):
        assert_safe_view(view)


@given(st.text(st.characters(exclude_categories=())), st.integers(3, 300))
def test_a_literal_is_one_code_span_showing_the_value_as_written(value, limit):
    shown = literal(value)
    assert_inert_mrkdwn(shown)
    expected = clean(value).replace("`", "\u02cb")
    if expected.strip():
        assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
        assert html.unescape(shown[1:-1]) == expected  # nothing else is changed or lost
    else:
        assert shown == "(none)"
    cut = literal(value, limit)
    assert slack_length(html.unescape(cut[1:-1])) <= limit or cut == "(none)"
    cut.encode()  # a lone surrogate could not be sent


@given(st.text(st.characters(exclude_categories=())), st.integers(1, 300))
def test_plain_text_is_escaped_clean_and_within_its_limit(value, limit):
    text = plain(value, limit)
    assert slack_length(text) <= max(limit, len("(none)"))
    assert_inert_plain({"text": text, "emoji": False})
    text.encode()


def test_bidi_controls_and_line_breaks_never_reach_slack():
    assert literal("ab\u202ecd\u2066e\u200ff\u061c") == "`abcdef`"
    assert literal("one\ntwo\r\nthree\u2028") == "`one two  three `"
    assert literal("\u202e\u200f") == "(none)"
    assert literal("\ud800x") == "`\ufffdx`"


def test_the_disable_buttons_confirm_dialog_shows_the_owner_tag_as_written():
    """Issue 20: this owner tag in the confirm dialog made Slack refuse the message."""
    finding = row("svc", owner="<!channel>@x.io")
    message = findings_message([finding], UTC, dry_run=False, keys=KEYS)
    (confirm,) = [
        e["confirm"] for b in message.blocks for e in b.get("elements", []) if "confirm" in e
    ]
    assert confirm["text"] == {
        "type": "plain_text",
        "text": "Ask &lt;!channel&gt;@x.io to confirm removing the console password of svc "
        "(111122223333). Access keys keep working.",
        "emoji": False,
    }
    assert message_problem({"text": message.text, "blocks": message.blocks}) is None


def test_the_standin_refuses_what_slack_refuses_in_text_objects():
    def dialog(text: str) -> list[dict[str, Any]]:
        confirm = ConfirmObject(title="Sure?", text=PlainTextObject(text=text))
        button = ButtonElement(text="Go", action_id="go", value="1", confirm=confirm)
        return [ActionsBlock(elements=[button]).to_dict()]

    refused = message_problem({"text": "x", "blocks": dialog("Ask <!channel>@x.io")})
    assert refused and "plain_text" in refused
    assert message_problem({"text": "x", "blocks": dialog("Ask <@U0ABC>")})
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}
    assert message_problem({"text": "x", "blocks": [context]})
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}
    assert message_problem({"text": "x", "blocks": [fields]})
    # What Slack takes: a lone <, > or & in plain_text, 3,000 characters of mrkdwn.
    assert message_problem({"text": "x", "blocks": dialog("a < b & c > d")}) is None
    context["elements"][0]["text"] = "x" * 3000
    assert message_problem({"text": "x", "blocks": [context]}) is None


def test_help_shows_its_placeholders():
    """Issue 21: Slack parses `<...>` even in a code span, so `<iam-user>` vanished."""
    assert "<" not in HELP and ">" not in HELP
    assert "`/iam-inactive show &lt;iam-user&gt;`" in HELP
    assert "`/iam-inactive unkeep &lt;iam-user&gt; &lt;reason&gt;`" in HELP
    assert_safe_message(help_message())


def test_names_owner_tags_and_errors_never_format_in_outcome_lines():
    """Issue 21: `_break_glass_admin_` in italics, `*service control policy*` in bold, an
    emoji in an owner tag, a bare `@channel`."""
    finding = row(
        "_break_glass_admin_",
        owner="_x_:fire:@corp.io",
        state=State.FAILED,
        decision_note="DeleteLoginProfile failed: AccessDenied: by a *service control policy*",
    )
    line = json.dumps(findings_message([finding], UTC, dry_run=False, keys=KEYS).blocks)
    assert "`_break_glass_admin_`" in line and "`_x_:fire:@corp.io`" in line
    assert "`DeleteLoginProfile failed: AccessDenied: by a *service control policy*`" in line
    message = findings_message([row("@channel")], UTC, dry_run=False, keys=KEYS)
    assert message.text == "Idle console passwords: `@channel`"
    assert_safe_message(message)


def test_mentions_are_of_user_ids_only():
    assert mention("U0APPROVER") == "<@U0APPROVER>"
    assert mention("scheduler") == "the scheduler"
    assert mention("U0X>|<!channel") == "`U0X&gt;|&lt;!channel`"
    assert mention("U0X\n") == "`U0X `"


def test_a_removal_the_database_missed_names_the_user_as_text():
    line = str(RemovedUnrecorded("<!here>_x_", 300))
    assert line.startswith("The console password of `&lt;!here&gt;_x_` was removed in AWS")
    assert_inert_mrkdwn(line)
