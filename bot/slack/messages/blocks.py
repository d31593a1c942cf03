"""Pieces every message is built from, and the limits Slack enforces.

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
from bot.domain.risk import MFA_WORDS, user_path
from bot.domain.rule import KEYS_ONLY
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from bot.slack.messages.text import literal, mention, plain, slack_length, truncate

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER = 150  # a header's plain_text, as Slack limits it
MAX_OWNER = 128  # of an owner tag's 256 characters, where a line shows it
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


def category_label(row: FindingView) -> str:
    label = "keys only" if row.category == KEYS_ONLY else "dormant"
    return label + (", fully inactive" if row.fully_inactive else "")


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


def finding_facts(row: FindingView, zone: tzinfo) -> str:
    return (
        f"{literal(row.user_name)} in {literal(row.account_id)} · {category_label(row)}\n"
        f"Idle *{row.days_idle} days* · last password use {day(row.password_last_used, zone)}"
        f" · newest key use {day(row.newest_key_used, zone)} · owner {owner_label(row)}\n"
        f"{risk_line(row, zone)}"
    )


def risk_line(row: FindingView, zone: tzinfo) -> str:
    """What makes this finding matter: privilege (marked), MFA, the access keys, the path."""
    parts = []
    if row.privileged:
        why = literal(row.privilege, 300)
        parts.append(f"{PRIVILEGED_MARK}*Privileged*: {why}")
    elif row.privileged is None:
        parts.append("privilege not known")
    elif row.privilege:  # why an Allow of everything does not count (a Deny, a boundary)
        parts.append(f"not privileged: {literal(row.privilege, 300)}")
    parts.append(MFA_LABELS[row.mfa_active])
    parts.append(keys_label((row.facts or {}).get("keys", []), zone))
    path = user_path(row.user_arn)
    if path != "/":
        parts.append(f"path {literal(path, 200)}")
    return " · ".join(parts)


PRIVILEGED_MARK = ":rotating_light: "
MFA_LABELS = {**MFA_WORDS, False: f"*{MFA_WORDS[False]}*"}  # no MFA stands out


def keys_label(keys: Sequence[dict[str, Any]], zone: tzinfo) -> str:
    """The access keys as the scan saw them (the `keys` of a finding's recorded facts)."""
    if not keys:
        return "no access keys"
    return "keys: " + "; ".join(_key_label(key, zone) for key in keys)


def _key_label(key: dict[str, Any], zone: tzinfo) -> str:
    status = "active" if key.get("active") else "inactive"
    used = key.get("last_used")
    return (
        f"{status}, used {day(datetime.fromisoformat(used), zone)}"
        if used
        else f"{status}, never used"
    )


def kept_until(row: FindingView, zone: tzinfo) -> str:
    return f"until {day(row.kept_until, zone)}" if row.kept_until else "until revoked"


def status_line(row: FindingView, zone: tzinfo, dry_run: bool) -> str | None:
    """Where the decision on this finding stands, for its line in the channel and the DM."""
    note = f": {literal(row.decision_note, 500)}" if row.decision_note else ""
    match row.state:
        case State.OPEN:  # a note says why it is open again (a keep ended, a withdrawn request)
            return f":information_source: {note.removeprefix(': ')}" if note else None
        case State.DISABLE_REQUESTED:
            return f":hourglass: Disable requested by {mention(row.requested_by)}{note}"
        case State.AWAITING_OWNER:
            return (
                f":hourglass: Disable requested by {mention(row.requested_by)}, "
                f"waiting for {owner_label(row)}"
            )
        case State.OWNER_CONFIRMED | State.DISABLING:
            return f":gear: Confirmed by {mention(row.decided_by)}; removing the console password"
        case State.DISABLED:
            done = "would be removed (dry run)" if dry_run else "removed"
            return (
                f":white_check_mark: Console password {done}; "
                f"confirmed by {mention(row.decided_by)}"
            )
        case State.KEPT:
            return f":shield: Kept {kept_until(row, zone)} by {mention(row.decided_by)}{note}"
        case State.ABORTED:
            return f":no_entry_sign: Not removed{note}"
        case State.FAILED:
            return f":warning: Removal failed{note}"
        case State.RESOLVED:
            return f":heavy_check_mark: Resolved: {literal(row.resolution, 500)}"
    return None


def notice(text: str) -> Message:
    """A one-line answer: refusals, errors, confirmations."""
    return checked(text, [SectionBlock(text=mrkdwn(text))])
