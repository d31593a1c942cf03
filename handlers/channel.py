"""Events about the findings channel: the bot invited to it, after posting there was paused
because it was not in it (bot.application.presence)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.application.jobs import bot_invited
from bot.application.services import Services
from handlers.answering import answering

MEMBER_JOINED = "member_joined_channel"


def register(app: App, services: Services) -> None:
    def on_member_joined(body: dict[str, Any], context: Any) -> None:
        event = body.get("event") or {}
        # Slack sends it for anyone joining a channel the bot is in; only the bot's own counts.
        if event.get("user") and event.get("user") == context.get("bot_user_id"):
            bot_invited(services, event.get("channel"))

    app.event(MEMBER_JOINED)(answering(services, on_member_joined))
