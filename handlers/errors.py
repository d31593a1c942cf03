"""The one error policy: a refusal, a stale click, an unknown finding or a Slack failure in any
listener becomes a clear line for the person who asked; anything else is logged."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.application.access import explain
from bot.application.services import Services
from bot.slack.messages.blocks import notice

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def on_error(
        error: Exception,
        body: dict[str, Any],
        request: BoltRequest,
        response: BoltResponse | None,
    ) -> BoltResponse | None:
        answer = explain(error)
        if answer is None:
            log.error("a Slack listener failed", exc_info=error)
            return None
        acked = request.context.ack.response
        if acked is None and body.get("command"):  # a slash command is answered inline
            message = notice(answer)
            return BoltResponse(status=200, body={"text": message.text, "blocks": message.blocks})
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
        services.announcer.tell(channel, user, answer)
        if response is None:  # acknowledged already, and Bolt keeps that answer
            return None
        return acked or BoltResponse(status=200, body="")

    app.error(on_error)
