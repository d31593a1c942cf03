"""The findings channel: scan summaries, findings with their buttons, escalations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.records import FindingView
from bot.domain.rule import CATEGORIES
from bot.domain.scan import AccountScan
from bot.domain.workflow import Intent, Standing, may
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import (
    MAX_CONFIRM_TEXT,
    MAX_OWNER,
    Message,
    MessageTooLarge,
    button_pair,
    checked,
    context,
    dry_run_note,
    mrkdwn,
    notice,
    owner_label,
)
from bot.slack.messages.finding import (
    CATEGORY_LABELS,
    KeyRules,
    after_disable,
    counted,
    disable_words,
    finding_facts,
    is_key_finding,
    named,
    raw,
    reactivate_button,
    status_line,
)
from bot.slack.messages.text import literal, plain, truncate
from bot.slack.posted import findings_metadata

FINDINGS_PER_MESSAGE = 10


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


def finding_blocks(row: FindingView, zone: tzinfo, keys: KeyRules) -> list[Block]:
    """One finding's line: its facts, then buttons while it is open, else where it stands (and
    Reactivate while its deactivated keys may be turned back on)."""
    blocks: list[Block] = [
        SectionBlock(block_id=f"finding:{row.id}", text=mrkdwn(finding_facts(row, zone)))
    ]
    refused = keys.disable_refused(row)
    awaiting = may(Intent.REQUEST_DISABLE, row.state)
    said = [status_line(row, zone, keys), refused if awaiting else None]
    if any(said):
        blocks.append(context("\n".join(line for line in said if line)))
    if awaiting:
        blocks.append(_decision_buttons(row, keys, zone, refused is None))
    elif may(Intent.DECIDE_NOW, row.state, Standing.of(row)):
        blocks.append(_decide_now_buttons(row, refused is None))
    if keys.reactivatable(row):
        blocks.append(reactivate_button(row, zone))
    return blocks


def _decision_buttons(
    row: FindingView, keys: KeyRules, zone: tzinfo, disable_offered: bool
) -> ActionsBlock:
    """Disable (confirmed first, saying what it does) and Keep; Keep alone where Disable would
    do nothing (`KeyRules.disable_refused`)."""
    if not disable_offered:
        return _keep_alone("decide", row)
    key = is_key_finding(row)
    title = "Deactivate access key?" if key else "Remove console password?"
    if keys.keys_disabled(row) and not key:
        title = "Remove password, deactivate keys?"
    owner = truncate(row.owner or "the owner", MAX_OWNER)
    text = (
        f"Ask {owner} to confirm {disable_words(row, keys, zone, raw)}. {after_disable(row, keys)}"
    )
    label = "Deactivate" if key else "Disable"
    confirm = ConfirmObject(
        title=title,
        # no emoji: the owner tag and the name are shown as written
        text=PlainTextObject(text=plain(text, MAX_CONFIRM_TEXT), emoji=False),
        confirm=label,
        deny="Cancel",
        style="danger",
    )
    return button_pair("decide", row, (label, ActionId.DISABLE), ("Keep", ActionId.KEEP), confirm)


def _decide_now_buttons(row: FindingView, disable_offered: bool) -> ActionsBlock:
    """After escalation the approvers may decide without the owner."""
    if not disable_offered:
        return _keep_alone("escalated", row)
    return button_pair(
        "escalated", row, ("Decide now", ActionId.DECIDE_NOW), ("Keep", ActionId.KEEP)
    )


def _keep_alone(block_id: str, row: FindingView) -> ActionsBlock:
    keep = ButtonElement(text="Keep", action_id=ActionId.KEEP, value=row.id)
    return ActionsBlock(block_id=f"{block_id}:{row.id}", elements=[keep])


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
        passwords = [found for found in account.candidates if found.key is None]
        keys = len(account.candidates) - len(passwords)
        keys += sum(len(found.idle_keys) for found in passwords)
        kinds = Counter(row.category for row in new)
        new_kinds = ", ".join(
            f"{kinds[kind]} {CATEGORY_LABELS.get(kind, kind)}" for kind in CATEGORIES if kinds[kind]
        )
        text = (
            f":mag: Scan of {label}: {account.users_seen} users, {len(passwords)} idle console "
            f"passwords, {counted(keys, 'idle access key')}, *{len(new)} new*"
            + (f" ({new_kinds})" if new else "")
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
    rows: Sequence[FindingView],
    zone: tzinfo,
    dry_run: bool,
    scan_id: int | None = None,
    *,
    keys: KeyRules,
) -> Message:
    """Up to FINDINGS_PER_MESSAGE findings, each with its own line and buttons, and their ids
    in the message's metadata (`scan_id`: the scan posting them)."""
    if len(rows) > FINDINGS_PER_MESSAGE:
        raise MessageTooLarge(f"{len(rows)} findings, at most {FINDINGS_PER_MESSAGE} a message")
    blocks: list[Block] = []
    for row in rows:
        blocks.extend(finding_blocks(row, zone, keys))
    blocks += dry_run_note(dry_run)
    names = ", ".join(literal(row.user_name) for row in rows)
    message = checked(f"{_kinds(rows)}: {names}", blocks)
    return replace(message, metadata=findings_metadata([row.id for row in rows], scan_id))


def _kinds(rows: Sequence[FindingView]) -> str:
    """What a message of findings is about, for its notification."""
    keys = sum(1 for row in rows if is_key_finding(row))
    if keys == 0:
        return "Idle console passwords"
    return "Idle access keys" if keys == len(rows) else "Idle console passwords and access keys"


def batches(
    rows: Sequence[FindingView], size: int = FINDINGS_PER_MESSAGE
) -> list[list[FindingView]]:
    return [list(rows[start : start + size]) for start in range(0, len(rows), size)]


def escalation(row: FindingView, waited_days: int, zone: tzinfo) -> Message:
    """The owner's silence, or, when their DM never arrived (`dm_ts`), that they were never
    reached, handed to the approvers."""
    silent = (
        "has not answered"
        if row.dm_ts
        else "could not be reached by DM (Slack would not let me), so has not been asked,"
    )
    text = (
        f":rotating_light: {owner_label(row)} {silent} for {waited_days} days about "
        f"{named(row, zone)} ({literal(row.account_id)}). Approvers can now decide alone "
        "with *Decide now* on its line."
    )
    return notice(text)


def refused_finding(row: FindingView, error: str, zone: tzinfo) -> Message:
    """A finding Slack would not take, even alone: it is not posted again."""
    return notice(
        f":warning: Slack refused the message for {named(row, zone)} "
        f"({literal(row.account_id)}): {literal(error)}. It is not posted again; see it with "
        f"/iam-inactive show {literal(row.user_name)}"
    )
