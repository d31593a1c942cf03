"""The findings channel: scan summaries, findings with their buttons, escalations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ConfirmObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.records import FindingView
from bot.domain.rule import KEYS_ONLY
from bot.domain.scan import AccountScan
from bot.domain.workflow import Intent, Standing, may
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import (
    MAX_OWNER,
    Message,
    MessageTooLarge,
    button_pair,
    checked,
    context,
    dry_run_note,
    finding_facts,
    mrkdwn,
    notice,
    owner_label,
    status_line,
)
from bot.slack.messages.text import literal, plain, truncate
from bot.slack.posted import findings_metadata

FINDINGS_PER_MESSAGE = 10
MAX_CONFIRM_TEXT = 300  # a confirm dialog's text, as Slack limits it


@dataclass(frozen=True)
class ThreadProgress:
    """An account's findings being posted in the thread of its summary."""

    total: int
    posted: int = 0
    failed: int = 0
    refused: int = 0  # by Slack, each said in the thread
    done: bool = False

    def line(self) -> str:
        if not self.done:
            return (
                f":hourglass_flowing_sand: Posting {self.total} findings in this thread: "
                f"{self.posted} so far."
            )
        if self.failed or self.refused:
            return (
                f":warning: {self.posted} of {self.total} findings are in this thread"
                + (f"; {self.failed} will be posted at the next sweep" if self.failed else "")
                + (f"; Slack refused {self.refused}, said below" if self.refused else "")
                + "."
            )
        return f":speech_balloon: All {self.total} findings are in this thread, with their buttons."


def finding_blocks(row: FindingView, zone: tzinfo, dry_run: bool) -> list[Block]:
    """One finding's line: its facts, then buttons while it is open, else where it stands."""
    blocks: list[Block] = [
        SectionBlock(block_id=f"finding:{row.id}", text=mrkdwn(finding_facts(row, zone)))
    ]
    status = status_line(row, zone, dry_run)
    if status:
        blocks.append(context(status))
    if may(Intent.REQUEST_DISABLE, row.state):
        blocks.append(_decision_buttons(row))
    elif may(Intent.DECIDE_NOW, row.state, Standing.of(row)):
        blocks.append(_decide_now_buttons(row))
    return blocks


def _decision_buttons(row: FindingView) -> ActionsBlock:
    confirm = ConfirmObject(
        title="Remove console password?",
        text=PlainTextObject(  # no emoji: the owner tag and the name are shown as written
            text=plain(
                f"Ask {truncate(row.owner or 'the owner', MAX_OWNER)} to confirm removing the "
                f"console password of {row.user_name} ({row.account_id}). Access keys keep "
                "working.",
                MAX_CONFIRM_TEXT,
            ),
            emoji=False,
        ),
        confirm="Disable",
        deny="Cancel",
        style="danger",
    )
    return button_pair(
        "decide", row, ("Disable", ActionId.DISABLE), ("Keep", ActionId.KEEP), confirm
    )


def _decide_now_buttons(row: FindingView) -> ActionsBlock:
    """After escalation the approvers may decide without the owner."""
    return button_pair(
        "escalated", row, ("Decide now", ActionId.DECIDE_NOW), ("Keep", ActionId.KEEP)
    )


def scan_summary(
    account: AccountScan,
    new: Sequence[FindingView],
    dry_run: bool,
    thread: ThreadProgress | None = None,
) -> Message:
    target = account.target
    label = literal(target.account_id) + (f" ({literal(target.name)})" if target.name else "")
    if not account.ok:
        error = literal(account.error or "unknown error", 2000)
        text = f":warning: Scan of {label} failed: {error}"
    else:
        keys_only = sum(1 for row in new if row.category == KEYS_ONLY)
        text = (
            f":mag: Scan of {label}: {account.users_seen} users, {len(account.candidates)} idle "
            f"console passwords, *{len(new)} new*"
            + (f" ({len(new) - keys_only} dormant, {keys_only} keys only)" if new else "")
        )
    return _summary(text, dry_run, thread)


def unposted_summary(
    account_id: str, dry_run: bool, thread: ThreadProgress | None = None
) -> Message:
    """The head of an account's findings whose messages did not make it when they were found."""
    text = f":inbox_tray: Findings in {literal(account_id)} that could not be posted earlier"
    return _summary(text, dry_run, thread)


def _summary(text: str, dry_run: bool, thread: ThreadProgress | None) -> Message:
    blocks: list[Block] = [SectionBlock(text=mrkdwn(text))]
    if thread:
        blocks.append(context(thread.line()))
    blocks += dry_run_note(dry_run)
    return checked(text, blocks)


def findings_message(
    rows: Sequence[FindingView], zone: tzinfo, dry_run: bool, scan_id: int | None = None
) -> Message:
    """Up to FINDINGS_PER_MESSAGE findings, each with its own line and buttons, and their ids
    in the message's metadata (`scan_id`: the scan posting them)."""
    if len(rows) > FINDINGS_PER_MESSAGE:
        raise MessageTooLarge(f"{len(rows)} findings, at most {FINDINGS_PER_MESSAGE} a message")
    blocks: list[Block] = []
    for row in rows:
        blocks.extend(finding_blocks(row, zone, dry_run))
    blocks += dry_run_note(dry_run)
    names = ", ".join(literal(row.user_name) for row in rows)
    message = checked(f"Idle console passwords: {names}", blocks)
    return replace(message, metadata=findings_metadata([row.id for row in rows], scan_id))


def batches(
    rows: Sequence[FindingView], size: int = FINDINGS_PER_MESSAGE
) -> list[list[FindingView]]:
    return [list(rows[start : start + size]) for start in range(0, len(rows), size)]


def escalation(row: FindingView, waited_days: int) -> Message:
    text = (
        f":rotating_light: {owner_label(row)} has not answered for {waited_days} days about "
        f"{literal(row.user_name)} ({literal(row.account_id)}). Approvers can now decide alone "
        "with *Decide now* on its line."
    )
    return notice(text)


def refused_finding(row: FindingView, error: str) -> Message:
    """A finding Slack would not take, even alone: it is not posted again."""
    return notice(
        f":warning: Slack refused the message for {literal(row.user_name)} "
        f"({literal(row.account_id)}): {literal(error)}. It is not posted again; see it with "
        f"/iam-inactive show {literal(row.user_name)}"
    )
