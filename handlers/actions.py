"""Buttons: Disable and Keep in the channel, Confirm and "I still need it" in owner DMs, paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.application import flows
from bot.application.access import NOT_MINE
from bot.application.answers import answering
from bot.application.flows import Answer
from bot.application.services import Services
from bot.domain.records import Surface
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import notice


def register(app: App, services: Services) -> None:
    def show(answer: Answer, body: dict[str, Any], client: WebClient) -> None:
        if answer.view is not None:
            client.views_open(trigger_id=body["trigger_id"], view=answer.view)
        if answer.text is not None:
            channel = (body.get("channel") or {}).get("id")
            services.announcer.tell(channel, body["user"]["id"], answer.text)

    def on_disable(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()

        def open_view(view: dict[str, Any]) -> None:
            client.views_open(trigger_id=body["trigger_id"], view=view)

        answer = flows.request_disable(services, _value(body), body["user"]["id"], open_view)
        show(answer, body, client)

    def on_keep(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        answer = flows.keep_form(services, _value(body), body["user"]["id"], Surface.CHANNEL)
        show(answer, body, client)

    def on_decide_now(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        show(flows.decide_now_form(services, _value(body), body["user"]["id"]), body, client)

    def on_owner_confirm(ack: Callable, body: dict[str, Any]) -> None:
        ack()
        flows.owner_confirms(services, _value(body), body["user"]["id"])

    def on_owner_decline(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        show(flows.keep_form(services, _value(body), body["user"]["id"], Surface.DM), body, client)

    def on_unkeep(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        show(flows.unkeep_form(services, _value(body), body["user"]["id"]), body, client)

    def on_list_page(ack: Callable, body: dict[str, Any], respond: Callable) -> None:
        ack()
        try:
            page = json.loads(_value(body) or "")
            message = flows.open_findings_page(services, str(page["filter"]), int(page["page"]))
        except (ValueError, KeyError, TypeError):
            message = notice(NOT_MINE)
        respond(replace_original=True, text=message.text, blocks=message.blocks)

    app.action(ActionId.DISABLE)(answering(services, on_disable, after_ack=True))
    app.action(ActionId.KEEP)(answering(services, on_keep))
    app.action(ActionId.DECIDE_NOW)(answering(services, on_decide_now))
    app.action(ActionId.OWNER_CONFIRM)(answering(services, on_owner_confirm, after_ack=True))
    app.action(ActionId.OWNER_DECLINE)(answering(services, on_owner_decline))
    app.action(ActionId.UNKEEP)(answering(services, on_unkeep))
    app.action(ActionId.LIST_PREVIOUS)(answering(services, on_list_page))
    app.action(ActionId.LIST_NEXT)(answering(services, on_list_page))


def _value(body: dict[str, Any]) -> str | None:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")
