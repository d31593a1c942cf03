"""The app's Home tab: shown when opened, and its approver buttons, Scan now and Post digest.

Its owner buttons are the owner DM's (handlers.actions), so an answer takes one path wherever
it is given. What an approver button did is shown on top of the Home, which is republished.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App

from bot.application import flows
from bot.application.home import publish_home
from bot.application.services import Services
from bot.domain.records import Surface
from bot.slack.ids import ActionId
from handlers.answering import answering

HOME_OPENED = "app_home_opened"


def register(app: App, services: Services) -> None:
    def on_home_opened(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        # The event also comes when the Messages tab is opened: that tab is not ours to draw.
        if event.get("tab") == "home" and isinstance(event.get("user"), str):
            publish_home(services, event["user"])

    def on_scan(body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        # The Home says the scan is queued; the scanner republishes it as the scan goes.
        flows.scan_for(services, user, None, partial(publish_home, services, user), Surface.HOME)

    def on_digest(body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        started = partial(publish_home, services, user)
        publish_home(services, user, flows.post_digest_for(services, user, started, Surface.HOME))

    app.event(HOME_OPENED)(answering(services, on_home_opened))
    app.action(ActionId.HOME_SCAN)(answering(services, on_scan))
    app.action(ActionId.HOME_DIGEST)(answering(services, on_digest))
