"""Modal submissions: Keep (reason and period) and the approver's final confirmation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App

from bot.application import flows
from bot.application.access import NOT_MINE, Refused
from bot.application.answers import answering, explain
from bot.application.services import Services
from bot.domain.records import Surface
from bot.domain.workflow import ROLE_ON_SURFACE, keep_refusal
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.slack.messages.modals import FOREVER

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
        days = _days(period)
        if days is False:
            ack(response_action="errors", errors={BlockId.KEEP_PERIOD: "Please pick a period."})
            return
        metadata = _metadata(view)
        surface = Surface.DM if metadata.get("surface") == Surface.DM else Surface.CHANNEL
        not_allowed = keep_refusal(
            ROLE_ON_SURFACE[surface], days, services.settings.owner_keep_max_days
        )
        if not_allowed:
            ack(response_action="errors", errors={BlockId.KEEP_PERIOD: not_allowed})
            return
        try:
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
        why, step = str(metadata.get("why") or "owner unreachable"), _step_seen(metadata)
        user_id, finding_id = body["user"]["id"], metadata.get("finding_id")
        flows.approver_confirms(services, finding_id, user_id, why, step)

    def on_unkeep(ack: Callable, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        reason_input = (values.get(BlockId.UNKEEP_REASON) or {}).get(InputId.UNKEEP_REASON) or {}
        reason = (reason_input.get("value") or "").strip()
        if len(reason) < MIN_REASON:
            ack(response_action="errors", errors={BlockId.UNKEEP_REASON: "Please give a reason."})
            return
        ack()
        finding_id = _metadata(view).get("finding_id")
        line = flows.unkeep(services, finding_id, body["user"]["id"], reason)
        services.announcer.tell(None, body["user"]["id"], line)

    def on_confirm_closed(ack: Callable, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        metadata = _metadata(view)
        step = _step_seen(metadata)
        flows.final_confirmation_closed(
            services, metadata.get("finding_id"), body["user"]["id"], step
        )

    app.view(CallbackId.KEEP)(answering(services, on_keep))
    app.view_closed(CallbackId.CONFIRM)(answering(services, on_confirm_closed))
    app.view(CallbackId.UNKEEP)(answering(services, on_unkeep))
    app.view(CallbackId.CONFIRM)(answering(services, on_confirm, after_ack=True))


def _days(period: str | None) -> int | None | bool:
    """The keep period chosen: days, None for "until revoked", False when it is not one."""
    if period == FOREVER:
        return None
    if isinstance(period, str) and re.fullmatch(r"[0-9]{1,5}", period):
        return int(period)  # its range is the workflow's to judge (keep_refusal)
    return False


def _step_seen(metadata: dict[str, Any]) -> datetime:
    """When the finding last changed as the form showed it (see bot.slack.messages.modals)."""
    try:
        return datetime.fromisoformat(metadata["step"])
    except (KeyError, TypeError, ValueError):
        raise Refused(NOT_MINE) from None


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        raise Refused(NOT_MINE) from None
    if not isinstance(metadata, dict):
        raise Refused(NOT_MINE)
    return metadata
