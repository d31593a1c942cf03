"""Answers to `/iam-inactive`: help, a page of open findings, a user's history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    SectionBlock,
)

from bot.domain.records import EventView, FindingView
from bot.domain.workflow import Intent, State, describe, may
from bot.slack.ids import COMMAND, ActionId
from bot.slack.messages.blocks import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    Message,
    checked,
    context,
    header,
    listed,
    mrkdwn,
)
from bot.slack.messages.finding import deactivated_keys, finding_facts, key_name
from bot.slack.messages.text import escape, literal, mention, truncate

LIST_PAGE_SIZE = 15
LONGEST_NAME = 128  # IAM user names have at most 64 characters; what someone typed, more
# Slack reads `<...>` even inside a code span: the placeholders go as entities.
USER, REASON = escape("<iam-user>"), escape("<reason>")
HELP = "\n".join(
    [
        f"*{COMMAND}* finds AWS console passwords and access keys nobody uses, and removes the "
        "passwords and deactivates the keys with your say-so.",
        f"• `{COMMAND} scan [account]`: scan now, every account or one already scanned (approvers)",
        f"• `{COMMAND} list [dormant|keys_only|idle_key|account]`: open findings, a page at a time",
        f"• `{COMMAND} show {USER}`: a finding, its facts and its whole history",
        f"• `{COMMAND} digest`: post the digest to the channel now (approvers)",
        f"• `{COMMAND} unkeep {USER} {REASON}`: end a keep; the finding reopens (approvers)",
        f"• `{COMMAND} export [days]`: every finding of the last 90 (or `days`) days and its "
        "decisions, and every IAM user's verdict, as CSV files in your DM for auditors "
        "(approvers)",
        f"• `{COMMAND} help`: this help",
    ]
)


def help_message(note: str | None = None) -> Message:
    text = f"{truncate(note, 1000)}\n\n{HELP}" if note else HELP
    return checked(text, [SectionBlock(text=mrkdwn(text))])


def list_page(rows: Sequence[FindingView], filter_: str, page: int, zone: tzinfo) -> Message:
    """One page of open findings; a Next/Previous button carries the filter and page."""
    pages = max(1, -(-len(rows) // LIST_PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    title = f"{len(rows)} open findings"
    blocks: list[Block] = [header(title + (f" ({filter_})" if filter_ else ""))]
    for row in shown:
        line = finding_facts(row, zone)
        if row.state != State.OPEN:
            line += f"\n_{describe(row.state)}_"
        blocks.append(SectionBlock(text=mrkdwn(line)))
    if not shown:
        blocks.append(SectionBlock(text=mrkdwn("Nothing open. :tada:")))
    buttons = []
    for label, action_id, target in (
        ("Previous", ActionId.LIST_PREVIOUS, page - 1),
        ("Next", ActionId.LIST_NEXT, page + 1),
    ):
        if 1 <= target <= pages:
            value = json.dumps({"filter": filter_, "page": target})
            buttons.append(ButtonElement(text=label, action_id=action_id, value=value))
    if buttons:
        blocks.append(context(f"Page {page} of {pages}"))
        blocks.append(ActionsBlock(elements=buttons))
    return checked(title + (f" ({literal(filter_)})" if filter_ else ""), blocks)


def history_message(
    user_name: str, findings: Sequence[tuple[FindingView, Sequence[EventView]]], zone: tzinfo
) -> Message:
    if not findings:
        nothing = f"No findings for IAM user {literal(user_name, LONGEST_NAME)}."
        return checked(nothing, [SectionBlock(text=mrkdwn(nothing))])
    blocks: list[Block] = [header(f"History of {truncate(user_name, LONGEST_NAME)}")]
    for number, (row, events) in enumerate(findings):
        if len(blocks) > MAX_BLOCKS - 5:  # room for this finding's four and the note below
            blocks.append(context(f"…and {len(findings) - number} earlier findings of this user"))
            break
        state = describe(row.state)
        facts = f"{finding_facts(row, zone)}\nNow: *{state}*{_deactivated(row, zone)}"
        blocks.append(SectionBlock(text=mrkdwn(facts)))
        lines = [
            f"{event.at.astimezone(zone):%Y-%m-%d %H:%M} · {mention(event.actor)} · "
            f"{event.action}" + (f" ({literal(event.reason, 500)})" if event.reason else "")
            for event in events
        ]
        blocks.append(context(listed(lines, MAX_SECTION_TEXT, latest=True) or "no events"))
        if may(Intent.UNKEEP, row.state):
            end = ButtonElement(text="End keep", action_id=ActionId.UNKEEP, value=row.id)
            blocks.append(ActionsBlock(block_id=f"unkeep:{row.id}", elements=[end]))
        blocks.append(DividerBlock())
    return checked(f"History of {literal(user_name, LONGEST_NAME)}", blocks)


def _deactivated(row: FindingView, zone: tzinfo) -> str:
    """The keys the bot deactivated on this finding (what Reactivate would turn back on)."""
    keys = deactivated_keys(row)
    if not keys:
        return ""
    return " · deactivated by the bot: " + "; ".join(key_name(key, zone) for key in keys)
