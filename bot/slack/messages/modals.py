"""Modals: Keep (a reason and a period) and the approver's final confirmation."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.records import FindingView, Surface
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.slack.messages.blocks import dry_run_note, finding_facts

KEEP_PERIODS = {"30": "30 days", "90": "90 days", "180": "180 days", "forever": "Until revoked"}


def keep_modal(row: FindingView, surface: Surface) -> dict[str, Any]:
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


def confirm_modal(row: FindingView, why_final: str, zone: tzinfo, dry_run: bool) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=finding_facts(row, zone))),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"{why_final}, so *your confirmation is final*. The user is re-checked in "
                "AWS right before the password is removed; access keys keep working."
            )
        ),
    ]
    blocks += dry_run_note(dry_run)
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
