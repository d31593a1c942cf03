"""Block Kit messages and modals as pure functions: plain data in, validated dicts out.

Built with slack_sdk's models, whose `to_dict()` checks Block Kit's field limits; `checked`
adds the per-message block limit, which nothing else checks.
"""

from __future__ import annotations

import json
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
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.digest import DigestFacts, trend_text
from bot.ids import COMMAND, ActionId, BlockId, CallbackId, InputId
from bot.rule import KEYS_ONLY
from bot.scanner import AccountScan
from bot.workflow import State
from storage.models import AuditEvent, Finding

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
FINDINGS_PER_MESSAGE = 10
LIST_PAGE_SIZE = 15
KEEP_PERIODS = {"30": "30 days", "90": "90 days", "180": "180 days", "forever": "Until revoked"}
DRY_RUN_NOTE = ":test_tube: Dry run: nothing is removed in AWS; decisions are still recorded."

Blocks = list[dict[str, Any]]


@dataclass(frozen=True)
class Message:
    text: str  # the notification and screen-reader fallback
    blocks: Blocks


class MessageTooLarge(ValueError):
    """More blocks than Slack accepts in one message."""


def checked(text: str, blocks: Sequence[Block], limit: int = MAX_BLOCKS) -> Message:
    if len(blocks) > limit:
        raise MessageTooLarge(f"{len(blocks)} blocks, Slack accepts {limit}")
    return Message(text=text[:MAX_SECTION_TEXT], blocks=[block.to_dict() for block in blocks])


# --- small pieces ------------------------------------------------------------------------------


def _day(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d") if moment else "never"


def _mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "someone"


def _owner(row: Finding) -> str:
    if row.owner_slack_id:
        return _mention(row.owner_slack_id)
    return row.owner or "unknown owner"


def _category(row: Finding) -> str:
    label = "keys only" if row.category == KEYS_ONLY else "dormant"
    return label + (", fully inactive" if row.fully_inactive else "")


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _dry_run_note(dry_run: bool) -> list[Block]:
    """Every message says so in a dry run."""
    return [_context(DRY_RUN_NOTE)] if dry_run else []


def _choice(
    block_id: str,
    row: Finding,
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


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding_facts(row: Finding, zone: tzinfo) -> str:
    return (
        f"*{row.user_name}* in `{row.account_id}` · {_category(row)}\n"
        f"Idle *{row.days_idle} days* · last password use {_day(row.password_last_used, zone)}"
        f" · newest key use {_day(row.newest_key_used, zone)} · owner {_owner(row)}"
    )


def status_line(row: Finding, zone: tzinfo, dry_run: bool) -> str | None:
    """Where the decision on this finding stands, for its line in the channel and the DM."""
    note = f": {_truncate(row.decision_note, 500)}" if row.decision_note else ""
    match row.state:
        case State.OPEN:
            return None
        case State.DISABLE_REQUESTED:
            return f":hourglass: Disable requested by {_mention(row.requested_by)}{note}"
        case State.AWAITING_OWNER:
            return (
                f":hourglass: Disable requested by {_mention(row.requested_by)}, "
                f"waiting for {_owner(row)}"
            )
        case State.OWNER_CONFIRMED | State.DISABLING:
            return f":gear: Confirmed by {_mention(row.decided_by)}; removing the console password"
        case State.DISABLED:
            done = "would be removed (dry run)" if dry_run else "removed"
            return (
                f":white_check_mark: Console password {done}; "
                f"confirmed by {_mention(row.decided_by)}"
            )
        case State.KEPT:
            until = f"until {_day(row.kept_until, zone)}" if row.kept_until else "until revoked"
            return f":shield: Kept {until} by {_mention(row.decided_by)}{note}"
        case State.ABORTED:
            return f":no_entry_sign: Not removed{note}"
        case State.FAILED:
            return f":warning: Removal failed{note}"
        case State.RESOLVED:
            return f":heavy_check_mark: Resolved: {row.resolution}"
    return None


def _decision_buttons(row: Finding) -> ActionsBlock:
    confirm = ConfirmObject(
        title="Remove console password?",
        text=_truncate(
            f"Ask {_owner(row)} to confirm removing the console password of {row.user_name} "
            f"({row.account_id}). Access keys keep working.",
            300,
        ),
        confirm="Disable",
        deny="Cancel",
        style="danger",
    )
    return _choice("decide", row, ("Disable", ActionId.DISABLE), ("Keep", ActionId.KEEP), confirm)


def finding_blocks(row: Finding, zone: tzinfo, dry_run: bool) -> list[Block]:
    """One finding's line: its facts, then buttons while it is open, else where it stands."""
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"finding:{row.id}", text=MarkdownTextObject(text=finding_facts(row, zone))
        )
    ]
    status = status_line(row, zone, dry_run)
    if status:
        blocks.append(_context(status))
    if row.state in (State.OPEN, State.FAILED):
        blocks.append(_decision_buttons(row))
    elif row.state == State.AWAITING_OWNER and row.escalated_at is not None:
        blocks.append(_decide_now_buttons(row))
    return blocks


def _decide_now_buttons(row: Finding) -> ActionsBlock:
    """After escalation the approvers may decide without the owner."""
    return _choice("escalated", row, ("Decide now", ActionId.DECIDE_NOW), ("Keep", ActionId.KEEP))


# --- channel messages --------------------------------------------------------------------------


def scan_summary(account: AccountScan, new: Sequence[Finding], dry_run: bool) -> Message:
    target = account.target
    label = f"`{target.account_id}`" + (f" ({target.name})" if target.name else "")
    if not account.ok:
        text = f":warning: Scan of {label} failed: {account.error}"
    else:
        keys_only = sum(1 for row in new if row.category == KEYS_ONLY)
        text = (
            f":mag: Scan of {label}: {account.users_seen} users, {len(account.findings)} idle "
            f"console passwords, *{len(new)} new*"
            + (f" ({len(new) - keys_only} dormant, {keys_only} keys only)" if new else "")
        )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=_truncate(text, 3000)))]
    blocks += _dry_run_note(dry_run)
    return checked(text, blocks)


def findings_message(rows: Sequence[Finding], zone: tzinfo, dry_run: bool) -> Message:
    """Up to FINDINGS_PER_MESSAGE findings, each with its own line and buttons."""
    if len(rows) > FINDINGS_PER_MESSAGE:
        raise MessageTooLarge(f"{len(rows)} findings, at most {FINDINGS_PER_MESSAGE} a message")
    blocks: list[Block] = []
    for row in rows:
        blocks.extend(finding_blocks(row, zone, dry_run))
    blocks += _dry_run_note(dry_run)
    names = ", ".join(row.user_name for row in rows)
    return checked(f"Idle console passwords: {names}", blocks)


def batches(rows: Sequence[Finding], size: int = FINDINGS_PER_MESSAGE) -> list[list[Finding]]:
    return [list(rows[start : start + size]) for start in range(0, len(rows), size)]


# --- the owner's DM ----------------------------------------------------------------------------


def owner_dm(row: Finding, zone: tzinfo, dry_run: bool) -> Message:
    intro = (
        f"Hi! The AWS console password of IAM user *{row.user_name}* (account `{row.account_id}`) "
        f"has not been used for *{row.days_idle} days*. {_mention(row.requested_by)} asked to "
        "remove it. Access keys keep working, and an admin can set a new password any time."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text=finding_facts(row, zone))),
    ]
    status = status_line(row, zone, dry_run)
    if row.state == State.AWAITING_OWNER:
        blocks.append(
            _choice(
                "owner",
                row,
                ("Confirm removal", ActionId.OWNER_CONFIRM),
                ("I still need it", ActionId.OWNER_DECLINE),
            )
        )
    elif status:
        blocks.append(_context(status))
    blocks += _dry_run_note(dry_run)
    return checked(f"Can the console password of {row.user_name} be removed?", blocks)


def owner_reminder(row: Finding, zone: tzinfo) -> Message:
    text = (
        f":wave: Reminder: can the console password of *{row.user_name}* (`{row.account_id}`) "
        f"be removed? It has not been used for {row.days_idle} days. Please answer with the "
        "buttons above."
    )
    return notice(text)


def escalation(row: Finding, waited_days: int) -> Message:
    text = (
        f":rotating_light: {_owner(row)} has not answered for {waited_days} days about "
        f"*{row.user_name}* (`{row.account_id}`). Approvers can now decide alone with "
        "*Decide now* on its line."
    )
    return notice(text)


# --- modals ------------------------------------------------------------------------------------


def keep_modal(row: Finding, surface: str) -> dict[str, Any]:
    periods = [Option(value=value, label=label) for value, label in KEEP_PERIODS.items()]
    view = View(
        type="modal",
        callback_id=CallbackId.KEEP,
        private_metadata=json.dumps({"finding_id": row.id, "surface": surface}),
        title="Keep console password",
        submit="Keep",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Keep the console password of *{row.user_name}* (`{row.account_id}`)?"
                    " It will not be proposed again until the period ends."
                )
            ),
            InputBlock(
                block_id=BlockId.KEEP_REASON,
                label="Why is it still needed?",
                element=PlainTextInputElement(
                    action_id=InputId.KEEP_REASON, multiline=True, min_length=3, max_length=500
                ),
            ),
            InputBlock(
                block_id=BlockId.KEEP_PERIOD,
                label="For how long?",
                element=StaticSelectElement(
                    action_id=InputId.KEEP_PERIOD, options=periods, initial_option=periods[1]
                ),
            ),
        ],
    )
    return view.to_dict()


def confirm_modal(row: Finding, why_final: str, zone: tzinfo, dry_run: bool) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=finding_facts(row, zone))),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"{why_final}, so *your confirmation is final*. The user is re-checked in "
                "AWS right before the password is removed; access keys keep working."
            )
        ),
    ]
    blocks += _dry_run_note(dry_run)
    view = View(
        type="modal",
        callback_id=CallbackId.CONFIRM,
        private_metadata=json.dumps({"finding_id": row.id, "why": why_final[:500]}),
        title="Remove console password",
        submit="Remove",
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()


# --- slash command answers ---------------------------------------------------------------------

HELP = "\n".join(
    [
        f"*{COMMAND}* finds AWS console passwords nobody uses and removes them with your say-so.",
        f"• `{COMMAND} scan [account]`: scan now (approvers)",
        f"• `{COMMAND} list [dormant|keys_only|account]`: open findings, a page at a time",
        f"• `{COMMAND} show <iam-user>`: a finding, its facts and its whole history",
        f"• `{COMMAND} digest`: post the digest to the channel now (approvers)",
        f"• `{COMMAND} help`: this help",
    ]
)


def help_message(note: str | None = None) -> Message:
    text = f"{note}\n\n{HELP}" if note else HELP
    return checked(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def list_page(rows: Sequence[Finding], filter_: str, page: int, zone: tzinfo) -> Message:
    """One page of open findings; a Next/Previous button carries the filter and page."""
    pages = max(1, -(-len(rows) // LIST_PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    title = f"{len(rows)} open findings" + (f" ({filter_})" if filter_ else "")
    blocks: list[Block] = [HeaderBlock(text=_truncate(title, 150))]
    for row in shown:
        line = finding_facts(row, zone)
        if row.state != State.OPEN:
            line += f"\n_{row.state.replace('_', ' ')}_"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line)))
    if not shown:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nothing open. :tada:")))
    buttons = []
    for label, action_id, target in (
        ("Previous", ActionId.LIST_PREVIOUS, page - 1),
        ("Next", ActionId.LIST_NEXT, page + 1),
    ):
        if 1 <= target <= pages:
            value = json.dumps({"filter": filter_, "page": target})
            buttons.append(ButtonElement(text=label, action_id=action_id, value=value))
    if buttons:
        blocks.append(_context(f"Page {page} of {pages}"))
        blocks.append(ActionsBlock(elements=buttons))
    return checked(title, blocks)


def history_message(
    user_name: str, findings: Sequence[tuple[Finding, Sequence[AuditEvent]]], zone: tzinfo
) -> Message:
    if not findings:
        return checked(
            f"No findings for IAM user {user_name}.",
            [
                SectionBlock(
                    text=MarkdownTextObject(text=f"No findings for IAM user *{user_name}*.")
                )
            ],
        )
    blocks: list[Block] = [HeaderBlock(text=_truncate(f"History of {user_name}", 150))]
    for row, events in findings:
        state = row.state.replace("_", " ")
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"{finding_facts(row, zone)}\nNow: *{state}*")
            )
        )
        lines = [
            f"{event.at.astimezone(zone):%Y-%m-%d %H:%M} · {_actor(event.actor)} · "
            f"{event.action}" + (f" ({event.reason})" if event.reason else "")
            for event in events
        ]
        text = _truncate("\n".join(lines) or "no events", MAX_SECTION_TEXT)
        blocks.append(_context(text))
        blocks.append(DividerBlock())
        if len(blocks) > MAX_BLOCKS - 3:
            break
    return checked(f"History of {user_name}", blocks)


def digest_message(facts: DigestFacts, zone: tzinfo, dry_run: bool) -> Message:
    week = facts.week_actions
    week_line = " · ".join(f"{action} {count}" for action, count in week.items())
    blocks: list[Block] = [
        HeaderBlock(text="Weekly digest: idle AWS console passwords"),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Open now*\n{facts.open_total}"),
                MarkdownTextObject(text=f"*This week*\n{week_line}"),
                MarkdownTextObject(text="*Idle for*\n" + _counts(facts.open_by_age)),
                MarkdownTextObject(
                    text="*By account*\n"
                    + _truncate(
                        _counts({f"`{k}`": v for k, v in facts.open_by_account.items()}), 1900
                    )
                ),
            ]
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Open findings, last 8 weeks*\n{trend_text(facts.trend)}"
            )
        ),
    ]
    sections = [
        (
            "*Waiting for owners*",
            [
                f"• *{row.user_name}* (`{row.account_id}`): {_owner(row)}, {days} days"
                for row, days in facts.waiting_on_owners
            ],
        ),
        (
            "*Keeps expiring within 14 days*",
            [
                f"• *{row.user_name}* (`{row.account_id}`) on {_day(row.kept_until, zone)}"
                for row in facts.keeps_expiring
            ],
        ),
        (
            "*Scan failures this week*",
            [
                f"• {_day(when, zone)} `{account}`: {_truncate(error or 'failed', 200)}"
                for when, account, error in facts.failed_scans
            ],
        ),
    ]
    for title, lines in sections:
        if lines:
            text = _truncate("\n".join([title, *lines[:25]]), MAX_SECTION_TEXT)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    blocks += _dry_run_note(dry_run)
    summary = (
        f"Weekly digest: {facts.open_total} open, {week.get('disabled', 0)} disabled this week"
    )
    return checked(summary, blocks)


def _counts(counts: dict[str, int]) -> str:
    return "\n".join(f"{label}: {count}" for label, count in counts.items()) or "none"


def _actor(actor: str) -> str:
    return _mention(actor) if actor[:1] in ("U", "W") else actor


def notice(text: str) -> Message:
    """A one-line answer: refusals, errors, confirmations."""
    return checked(text, [SectionBlock(text=MarkdownTextObject(text=_truncate(text, 3000)))])
