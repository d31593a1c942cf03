"""Modal submissions: Keep (reason and period), End keep, and the approver's final
confirmation (submitted or closed).

A form's fields are checked in the acknowledgement, so a missing reason keeps it open; what it
asks for is done after, and the person hears the outcome by DM if anything stops it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from slack_bolt import App

from bot.application import flows
from bot.application.access import NOT_MINE, Refused
from bot.application.services import Services
from bot.domain.records import Surface
from bot.domain.workflow import ROLE_ON_SURFACE, keep_refusal
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.slack.messages.modals import FOREVER
from handlers.answering import answering

MIN_REASON = 3


def register(app: App, services: Services) -> None:
    def keep_errors(body: dict[str, Any]) -> dict[str, Any] | None:
        """The Keep form's fields, checked before it closes; None: it may."""
        reason, days = _keep_fields(body["view"])
        if len(reason) < MIN_REASON:
            return _errors(BlockId.KEEP_REASON, "Please give a reason.")
        if days is False:
            return _errors(BlockId.KEEP_PERIOD, "Please pick a period.")
        role = ROLE_ON_SURFACE[_surface(body["view"])]
        not_allowed = keep_refusal(role, days, services.settings.owner_keep_max_days)
        return _errors(BlockId.KEEP_PERIOD, not_allowed) if not_allowed else None

    def on_keep(body: dict[str, Any], view: dict[str, Any]) -> None:
        reason, days = _keep_fields(view)
        finding_id = _metadata(view).get("finding_id")
        surface = _surface(view)
        chosen = None if isinstance(days, bool) else days  # False never passes keep_errors
        flows.keep(services, finding_id, body["user"]["id"], surface, reason, chosen)

    def on_confirm(body: dict[str, Any], view: dict[str, Any]) -> None:
        metadata = _metadata(view)
        why, step = str(metadata.get("why") or "owner unreachable"), _step_seen(metadata)
        user_id, finding_id = body["user"]["id"], metadata.get("finding_id")
        flows.approver_confirms(services, finding_id, user_id, why, step)

    def on_unkeep(body: dict[str, Any], view: dict[str, Any]) -> None:
        finding_id = _metadata(view).get("finding_id")
        line = flows.unkeep(services, finding_id, body["user"]["id"], _unkeep_reason(view))
        services.announcer.tell(None, body["user"]["id"], line)

    def on_confirm_closed(body: dict[str, Any], view: dict[str, Any]) -> None:
        metadata = _metadata(view)
        step = _step_seen(metadata)
        flows.final_confirmation_closed(
            services, metadata.get("finding_id"), body["user"]["id"], step
        )

    app.view(CallbackId.KEEP)(answering(services, on_keep, first=keep_errors))
    app.view_closed(CallbackId.CONFIRM)(answering(services, on_confirm_closed))
    app.view(CallbackId.UNKEEP)(answering(services, on_unkeep, first=unkeep_errors))
    app.view(CallbackId.CONFIRM)(answering(services, on_confirm))


def unkeep_errors(body: dict[str, Any]) -> dict[str, Any] | None:
    if len(_unkeep_reason(body["view"])) < MIN_REASON:
        return _errors(BlockId.UNKEEP_REASON, "Please give a reason.")
    return None


def _keep_fields(view: dict[str, Any]) -> tuple[str, int | None | bool]:
    """The reason given and the period chosen (see `_days`)."""
    reason = _field(view, BlockId.KEEP_REASON, InputId.KEEP_REASON, "value")
    period = _field(view, BlockId.KEEP_PERIOD, InputId.KEEP_PERIOD, "selected_option", "value")
    return reason.strip(), _days(period or None)


def _unkeep_reason(view: dict[str, Any]) -> str:
    return _field(view, BlockId.UNKEEP_REASON, InputId.UNKEEP_REASON, "value").strip()


def _field(view: dict[str, Any], *path: str) -> str:
    """The text at `path` under the form's state.values; empty when anything on the way is not
    what Slack sends (a signed request may carry any JSON)."""
    found: Any = view.get("state")
    for key in ("values", *path):
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, str) else ""


def _surface(view: dict[str, Any]) -> Surface:
    try:
        metadata = _metadata(view)
    except Refused:
        return Surface.CHANNEL  # the strictest reading; the listener refuses the form itself
    owners = (Surface.DM, Surface.HOME)  # where owners answer; anything else is the strictest
    return Surface(metadata["surface"]) if metadata.get("surface") in owners else Surface.CHANNEL


def _errors(block_id: BlockId, line: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {block_id: line}}


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
