"""The owner's DM: the question, its buttons, the outcome (with Reactivate), and the reminder."""

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
    mrkdwn,
    notice,
)
from bot.slack.messages.finding import (
    KeyRules,
    after_disable,
    finding_facts,
    finding_key,
    is_key_finding,
    its_idle_keys,
    key_use,
    named,
    reactivate_button,
    status_line,
)
from bot.slack.messages.text import literal, mention


def owner_dm(row: FindingView, zone: tzinfo, dry_run: bool, keys: KeyRules) -> Message:
    """The owner is asked (their two answers), then shown where it stands: the outcome, with
    Reactivate while the keys the bot deactivated may be turned back on."""
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(_question(row, zone, keys))),
        SectionBlock(text=mrkdwn(finding_facts(row, zone))),
    ]
    status = status_line(row, zone, keys)
    if may(Intent.OWNER_CONFIRM, row.state):
        blocks.append(owner_answers("owner", row))
    elif status:
        blocks.append(context(status))
    if keys.reactivatable(row):
        blocks.append(reactivate_button(row, zone))
    blocks += dry_run_note(dry_run)
    question = _can_it(row, zone)
    return checked(question[:1].upper() + question[1:], blocks)


def _question(row: FindingView, zone: tzinfo, keys: KeyRules) -> str:
    """Which credential, how long unused, who asked, and what the owner's yes does."""
    asked = f"{mention(row.requested_by)} asked"
    if is_key_finding(row):
        return (
            f"Hi! The {named(row, zone)} (account {literal(row.account_id)}) has been idle for "
            f"*{row.days_idle} days*: {key_use(finding_key(row), zone)}. {asked} to deactivate "
            f"it. {after_disable(row, keys)}"
        )
    riding = len(keys.keys_disabled(row))
    also = f" and to deactivate {its_idle_keys(riding)}" if riding else ""
    return (
        f"Hi! The AWS console password of IAM user {literal(row.user_name)} "
        f"(account {literal(row.account_id)}) has not been used for *{row.days_idle} days*. "
        f"{asked} to remove it{also}. {after_disable(row, keys)} An admin can set a new password "
        "any time."
    )


def _can_it(row: FindingView, zone: tzinfo) -> str:
    where = f"({literal(row.account_id)})"
    if is_key_finding(row):
        return f"can the {named(row, zone)} {where} be deactivated?"
    return f"can the console password of {literal(row.user_name)} {where} be removed?"


def owner_reminder(row: FindingView, zone: tzinfo) -> Message:
    text = (
        f":wave: Reminder: {_can_it(row, zone)} It has not been used for {row.days_idle} days. "
        "Please answer with the buttons above."
    )
    return notice(text)


def owner_answers(block_id: str, row: FindingView) -> ActionsBlock:
    """The owner's two answers, the same wherever they are asked (their DM, their Home tab)."""
    yes = "Confirm deactivation" if is_key_finding(row) else "Confirm removal"
    return button_pair(
        block_id, row, (yes, ActionId.OWNER_CONFIRM), ("I still need it", ActionId.OWNER_DECLINE)
    )
