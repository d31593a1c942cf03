"""Modal submissions: Keep (reason and period) and the approver's final confirmation."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from bot.ids import BlockId, CallbackId, InputId
from bot.messages import KEEP_PERIODS
from bot.workflow import TransitionError
from handlers.actions import tell_both
from handlers.guard import CHANNEL, DM, Refused, acting_on
from storage.repository import UnknownFinding

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

MIN_REASON = 3


def register(app: App, services: Services) -> None:
    def on_keep(ack: Callable, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        values = (view.get("state") or {}).get("values") or {}
        reason_input = (values.get(BlockId.KEEP_REASON) or {}).get(InputId.KEEP_REASON) or {}
        period_input = (values.get(BlockId.KEEP_PERIOD) or {}).get(InputId.KEEP_PERIOD) or {}
        reason = (reason_input.get("value") or "").strip()
        period = (period_input.get("selected_option") or {}).get("value")
        if len(reason) < MIN_REASON:
            ack(response_action="errors", errors={BlockId.KEEP_REASON: "Please give a reason."})
            return
        if period not in KEEP_PERIODS:
            ack(response_action="errors", errors={BlockId.KEEP_PERIOD: "Please pick a period."})
            return
        try:
            metadata = _metadata(view)
            surface = DM if metadata.get("surface") == DM else CHANNEL
            finding = acting_on(services, metadata.get("finding_id"), user_id, surface)
            days = None if period == "forever" else int(period)
            kept = services.decisions.keep(finding.id, user_id, surface, reason, days)
        except (Refused, TransitionError, UnknownFinding) as refusal:
            ack(response_action="errors", errors={BlockId.KEEP_REASON: _first_line(refusal)})
            return
        ack()
        services.announcer.refresh(kept)
        tell_both(services, kept, f"Kept the console password of {kept.user_name}: {reason}")

    def on_confirm(ack: Callable, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        try:
            metadata = _metadata(view)
            finding = acting_on(services, metadata.get("finding_id"), user_id, CHANNEL)
        except Refused as refusal:
            ack()
            services.announcer.tell(None, user_id, str(refusal))
            return
        ack()
        why = metadata.get("why") or "owner unreachable"
        try:
            removal = services.decisions.confirm_and_remove(
                finding.id,
                user_id,
                CHANNEL,
                by_owner=False,
                why=f"approver's confirmation is final: {why}",
            )
        except (TransitionError, UnknownFinding) as refusal:
            services.announcer.tell(finding.slack_channel, user_id, str(refusal))
            return
        services.announcer.refresh(removal.finding)
        tell_both(services, removal.finding, removal.summary)

    app.view(CallbackId.KEEP)(on_keep)
    app.view(CallbackId.CONFIRM)(on_confirm)


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        raise Refused("That form is not one of mine, so nothing was done.") from None
    if not isinstance(metadata, dict):
        raise Refused("That form is not one of mine, so nothing was done.")
    return metadata


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:150]
