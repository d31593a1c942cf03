"""Modal submissions: Keep (reason and period) and the approver's final confirmation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.application import flows
from bot.application.access import NOT_MINE, Refused
from bot.application.answers import answering, explain
from bot.application.services import Services
from bot.domain.records import Surface
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.slack.messages.modals import KEEP_PERIODS

MIN_REASON = 3


def register(app: App, services: Services) -> None:
    def on_keep(ack: Callable, body: dict[str, Any], view: dict[str, Any]) -> None:
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
        days = None if period == "forever" else int(period)
        try:
            metadata = _metadata(view)
            surface = Surface.DM if metadata.get("surface") == Surface.DM else Surface.CHANNEL
            user_id, finding_id = body["user"]["id"], metadata.get("finding_id")
            flows.keep(services, finding_id, user_id, surface, reason, days, recorded=ack)
        except Exception as error:  # the form stays open and says why, while it still can
            answer = explain(error)
            if answer is None or ack.response is not None:
                raise
            ack(response_action="errors", errors={BlockId.KEEP_REASON: answer[:150]})

    def on_confirm(ack: Callable, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        metadata = _metadata(view)
        why = metadata.get("why") or "owner unreachable"
        flows.approver_confirms(services, metadata.get("finding_id"), body["user"]["id"], why)

    app.view(CallbackId.KEEP)(answering(services, on_keep))
    app.view(CallbackId.CONFIRM)(answering(services, on_confirm))


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        raise Refused(NOT_MINE) from None
    if not isinstance(metadata, dict):
        raise Refused(NOT_MINE)
    return metadata
