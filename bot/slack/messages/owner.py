"""The owner's DM: the question, its buttons, and the reminder."""

from __future__ import annotations

from datetime import tzinfo

from slack_sdk.models.blocks import ActionsBlock, Block, SectionBlock

from bot.domain.records import FindingView
from bot.domain.workflow import Intent, may
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import (
    Message,
    button_pair,
    checked,
    context,
    dry_run_note,
    finding_facts,
    mrkdwn,
    notice,
    status_line,
)
from bot.slack.messages.text import literal, mention


def owner_dm(row: FindingView, zone: tzinfo, dry_run: bool) -> Message:
    intro = (
        f"Hi! The AWS console password of IAM user {literal(row.user_name)} "
        f"(account {literal(row.account_id)}) "
        f"has not been used for *{row.days_idle} days*. {mention(row.requested_by)} asked to "
        "remove it. Access keys keep working, and an admin can set a new password any time."
    )
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(intro)),
        SectionBlock(text=mrkdwn(finding_facts(row, zone))),
    ]
    status = status_line(row, zone, dry_run)
    if may(Intent.OWNER_CONFIRM, row.state):
        blocks.append(owner_answers("owner", row))
    elif status:
        blocks.append(context(status))
    blocks += dry_run_note(dry_run)
    return checked(f"Can the console password of {literal(row.user_name)} be removed?", blocks)


def owner_reminder(row: FindingView) -> Message:
    text = (
        f":wave: Reminder: can the console password of {literal(row.user_name)} "
        f"({literal(row.account_id)}) "
        f"be removed? It has not been used for {row.days_idle} days. Please answer with the "
        "buttons above."
    )
    return notice(text)


def owner_answers(block_id: str, row: FindingView) -> ActionsBlock:
    """The owner's two answers, the same wherever they are asked (their DM, their Home tab)."""
    return button_pair(
        block_id,
        row,
        ("Confirm removal", ActionId.OWNER_CONFIRM),
        ("I still need it", ActionId.OWNER_DECLINE),
    )
