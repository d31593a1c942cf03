"""Modals: Keep (a reason and a period), End keep, the approver's final confirmation, and the
placeholder a button opens at once (Slack's trigger lasts 3 s) until the form is ready."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.records import FindingView, Role, Surface
from bot.domain.workflow import ROLE_ON_SURFACE, keep_refusal
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.slack.messages.blocks import dry_run_note, mrkdwn
from bot.slack.messages.finding import (
    KeyRules,
    after_disable,
    credential,
    disable_words,
    finding_facts,
    is_key_finding,
    named,
)
from bot.slack.messages.text import literal, truncate

KEEP_DAYS = (30, 90, 180)
MAX_METADATA = 3000  # characters of private_metadata Slack accepts
FOREVER = "forever"


def keep_periods(surface: Surface, owner_max_days: int) -> list[tuple[str, str]]:
    """The periods this person may choose (value, label): owners up to OWNER_KEEP_MAX_DAYS,
    approvers any, "until revoked" included."""
    role = ROLE_ON_SURFACE[surface]
    days = {d for d in KEEP_DAYS if keep_refusal(role, d, owner_max_days) is None}
    if role == Role.OWNER:
        days.add(owner_max_days)
    periods = [(str(d), f"{d} days") for d in sorted(days)]
    if keep_refusal(role, None, owner_max_days) is None:
        periods.append((FOREVER, "Until revoked"))
    return periods


def keep_modal(
    row: FindingView, surface: Surface, owner_max_days: int, zone: tzinfo
) -> dict[str, Any]:
    periods = [
        Option(value=value, label=label) for value, label in keep_periods(surface, owner_max_days)
    ]
    usual = next((option for option in periods if option.value == "90"), periods[0])
    intro = (
        f"Keep the {credential(row, zone)} ({literal(row.account_id)})?"
        " It will not be proposed again until the period ends."
    )
    blocks = [
        SectionBlock(text=mrkdwn(intro)),
        reason_input(BlockId.KEEP_REASON, InputId.KEEP_REASON, "Why is it still needed?"),
        InputBlock(
            block_id=BlockId.KEEP_PERIOD,
            label="For how long?",
            element=StaticSelectElement(
                action_id=InputId.KEEP_PERIOD, options=periods, initial_option=usual
            ),
        ),
    ]
    metadata = {"finding_id": row.id, "surface": surface}
    title = "Keep access key" if is_key_finding(row) else "Keep console password"
    return _modal(CallbackId.KEEP, metadata, title, "Keep", blocks)


def unkeep_modal(row: FindingView, zone: tzinfo) -> dict[str, Any]:
    """An approver ends a keep (from `show`): the finding is open again at once."""
    until = row.kept_until.strftime("%Y-%m-%d") if row.kept_until else "revoked"
    intro = (
        f"End the keep of {named(row, zone)} ({literal(row.account_id)}), kept until "
        f"{until}? It is open again at once, with Disable and Keep."
    )
    blocks = [
        SectionBlock(text=mrkdwn(intro)),
        reason_input(BlockId.UNKEEP_REASON, InputId.UNKEEP_REASON, "Why end it?"),
    ]
    return _modal(CallbackId.UNKEEP, {"finding_id": row.id}, "End keep", "End keep", blocks)


def reason_input(block_id: BlockId, action_id: InputId, label: str) -> InputBlock:
    element = PlainTextInputElement(
        action_id=action_id, multiline=True, min_length=3, max_length=500
    )
    return InputBlock(block_id=block_id, label=label, element=element)


def _modal(
    callback_id: CallbackId,
    metadata: dict[str, Any],
    title: str,
    submit: str,
    blocks: list[Block],
) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=json.dumps(metadata),
        title=title,
        submit=submit,
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()


def placeholder_modal(text: str = "Looking this up...") -> dict[str, Any]:
    """What a button opens at once, and what its form becomes when it cannot be shown (`text`
    says why)."""
    blocks = [SectionBlock(text=mrkdwn(text))]
    return View(type="modal", title="IAM inactive", close="Close", blocks=blocks).to_dict()


def confirm_modal(
    row: FindingView,
    why_final: str,
    zone: tzinfo,
    dry_run: bool,
    keys: KeyRules,
    step: datetime | None = None,
) -> dict[str, Any]:
    """The approver's final word; `step`: the finding's last step as this form is for (by
    default its current one; Disable opens the form before recording the request it is for)."""
    key = is_key_finding(row)
    doing = disable_words(row, keys, zone, whose=False)
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(finding_facts(row, zone))),
        SectionBlock(
            text=mrkdwn(
                f"{why_final}, so *your confirmation is final*. The {'key' if key else 'user'} "
                f"is re-checked in AWS right before {doing}. {after_disable(row, keys)}"
            )
        ),
    ]
    blocks += dry_run_note(dry_run)
    # The form is for the finding as it is now: any step since (a new owner asked, a request
    # withdrawn) refuses it. Scans only refresh facts and take no step.
    step = step or row.state_changed_at
    why = why_final[:500]
    metadata = {"finding_id": row.id, "step": step.isoformat() if step else None, "why": why}
    while len(json.dumps(metadata)) > MAX_METADATA:  # an owner tag of astral letters, escaped
        why = metadata["why"] = truncate(why, len(why) * 3 // 4)
    title, submit = (
        ("Deactivate access key", "Deactivate") if key else ("Remove console password", "Remove")
    )
    view = _modal(CallbackId.CONFIRM, metadata, title, submit, blocks)
    return {**view, "notify_on_close": True}  # closing it withdraws the request it was for
