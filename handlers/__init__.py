"""Slack listeners, one module per surface, each with `register(app, services)`.

Listeners are thin: parse the request, call one application function (which checks who may
act), render its answer. They never import each other; handlers.answering acknowledges every
request first and turns every refusal into the person's line.
"""

from __future__ import annotations

from slack_bolt import App

from bot.application.services import Services
from handlers import actions, channel, commands, home, views


def register_listeners(app: App, services: Services) -> None:
    """Every surface's listeners on the app (bot.entry.bootstrap builds it)."""
    for surface in (commands, actions, views, home, channel):
        surface.register(app, services)
