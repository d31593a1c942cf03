"""Pieces every message is built from, and the limits Slack enforces (one finding's facts and
standing, as every surface shows them, are bot.slack.messages.finding's).

Built with slack_sdk's models, whose `to_dict()` checks Block Kit's field limits; `checked`
adds the per-message block limit, which nothing else checks. All builders are pure: plain data
in, validated dicts out. Every value from AWS or people goes in through bot.slack.messages.text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.records import FindingView
from bot.slack.ids import ActionId
from bot.slack.messages.text import literal, mention, plain, slack_length, truncate

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER = 150  # a header's plain_text, as Slack limits it
MAX_OWNER = 128  # of an owner tag's 256 characters, where a line shows it
MAX_CONFIRM_TEXT = 300  # a confirm dialog's text, as Slack limits it
DRY_RUN_NOTE = ":test_tube: Dry run: nothing is removed in AWS; decisions are still recorded."
Blocks = list[dict[str, Any]]


@dataclass(frozen=True)
class Message:
    text: str  # the notification and screen-reader fallback
    blocks: Blocks
    metadata: dict[str, Any] | None = None  # Slack message metadata, for apps (not shown)


class MessageTooLarge(ValueError):
    """More blocks than Slack accepts in one message."""


def checked(text: str, blocks: Sequence[Block], limit: int = MAX_BLOCKS) -> Message:
    if len(blocks) > limit:
        raise MessageTooLarge(f"{len(blocks)} blocks, Slack accepts {limit}")
    fallback = truncate(text, MAX_SECTION_TEXT)  # never cut inside an entity or a code span
    return Message(text=fallback, blocks=[block.to_dict() for block in blocks])


def mrkdwn(text: str) -> MarkdownTextObject:
    """mrkdwn the bot wrote around values, cut to what Slack takes. Verbatim: Slack's automatic
    parsing, which turns a bare URL, a #channel or an @name in the text into a link or a
    mention, stays off; the bot's own mentions (`<@U...>`) are parsed all the same."""
    return MarkdownTextObject(text=truncate(text, MAX_SECTION_TEXT), verbatim=True)


def day(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d") if moment else "never"


def owner_label(row: FindingView) -> str:
    if row.owner_slack_id:
        return mention(row.owner_slack_id)
    return literal(row.owner, MAX_OWNER) if row.owner else "unknown owner"


def header(text: str) -> HeaderBlock:
    """A header: plain_text, so what a person typed or AWS named in it is shown as written."""
    return HeaderBlock(text=PlainTextObject(text=plain(text, MAX_HEADER), emoji=False))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(text)])


def dry_run_note(dry_run: bool) -> list[Block]:
    """Every message says so in a dry run."""
    return [context(DRY_RUN_NOTE)] if dry_run else []


def button_pair(
    block_id: str,
    row: FindingView,
    danger: tuple[str, ActionId],
    other: tuple[str, ActionId],
    confirm: ConfirmObject | None = None,
) -> ActionsBlock:
    """Two buttons carrying only the finding's opaque id: a red one, and a plain one."""
    (danger_text, danger_action), (other_text, other_action) = danger, other
    return ActionsBlock(
        block_id=f"{block_id}:{row.id}",
        elements=[
            ButtonElement(
                text=danger_text,
                action_id=danger_action,
                value=row.id,
                style="danger",
                confirm=confirm,
            ),
            ButtonElement(text=other_text, action_id=other_action, value=row.id),
        ],
    )


def listed(
    lines: Sequence[str],
    limit: int,
    *,
    most: int | None = None,
    hint: str = "",
    latest: bool = False,
) -> str:
    """As many whole `lines` as fit in `limit` characters (and at most `most`), one per line,
    and how many were left out with the `hint` where to see them: the first lines then "…and 12
    more", or (`latest`) "…and 12 earlier" then the last lines."""
    whole = "\n".join(lines)
    if (most is None or len(lines) <= most) and slack_length(whole) <= limit:
        return whole
    room = limit - slack_length(f"…and {len(lines)} earlier{hint}") - 1
    ordered = list(reversed(lines)) if latest else list(lines)
    shown: list[str] = []
    for line in ordered[: len(lines) if most is None else most]:
        room -= slack_length(line) + 1
        if room < 0:
            break
        shown.append(line)
    left_out = len(lines) - len(shown)
    if latest:
        head = [f"…and {left_out} earlier{hint}"] if left_out else []
        return "\n".join(head + shown[::-1])
    return "\n".join(shown + ([f"…and {left_out} more{hint}"] if left_out else []))


def notice(text: str) -> Message:
    """A one-line answer: refusals, errors, confirmations."""
    return checked(text, [SectionBlock(text=mrkdwn(text))])
