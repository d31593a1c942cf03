"""Buttons: Disable and Keep in the channel, Confirm and "I still need it" in owner DMs, paging."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot import messages
from bot.decisions import KEEPABLE
from bot.ids import ActionId
from bot.slack import OwnerContact, resolve_owner, slack_error
from bot.workflow import State, TransitionError
from handlers.commands import list_message
from handlers.guard import CHANNEL, DM, Refused, acting_on
from storage.models import Finding
from storage.repository import UnknownFinding

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def on_disable(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with _answering(services, body):
            request_disable(services, body, client)

    def on_keep(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with _answering(services, body):
            finding = acting_on(services, _value(body), body["user"]["id"], CHANNEL)
            open_keep_modal(services, client, body, finding, CHANNEL)

    def on_decide_now(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with _answering(services, body):
            finding = acting_on(services, _value(body), body["user"]["id"], CHANNEL)
            if finding.state != State.AWAITING_OWNER or finding.escalated_at is None:
                raise Refused("This finding is not waiting on an unanswered owner any more.")
            why = f"{_owner_name(finding)} did not answer"
            view = messages.confirm_modal(
                finding, why, services.settings.timezone, services.settings.dry_run
            )
            client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_owner_confirm(ack: Callable, body: dict[str, Any]) -> None:
        ack()
        with _answering(services, body):
            user_id = body["user"]["id"]
            finding = acting_on(services, _value(body), user_id, DM)
            removal = services.decisions.confirm_and_remove(
                finding.id, user_id, DM, by_owner=True, why="owner confirmed"
            )
            services.announcer.refresh(removal.finding)
            tell_both(services, removal.finding, removal.summary)

    def on_owner_decline(ack: Callable, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with _answering(services, body):
            finding = acting_on(services, _value(body), body["user"]["id"], DM)
            open_keep_modal(services, client, body, finding, DM)

    def on_list_page(ack: Callable, body: dict[str, Any], respond: Callable) -> None:
        ack()
        try:
            page = json.loads(_value(body) or "")
            message = list_message(services, str(page["filter"]), int(page["page"]))
        except (ValueError, KeyError, TypeError):
            message = messages.notice("That page button is not one of mine.")
        respond(replace_original=True, text=message.text, blocks=message.blocks)

    app.action(ActionId.DISABLE)(on_disable)
    app.action(ActionId.KEEP)(on_keep)
    app.action(ActionId.DECIDE_NOW)(on_decide_now)
    app.action(ActionId.OWNER_CONFIRM)(on_owner_confirm)
    app.action(ActionId.OWNER_DECLINE)(on_owner_decline)
    app.action(ActionId.LIST_PREVIOUS)(on_list_page)
    app.action(ActionId.LIST_NEXT)(on_list_page)


def request_disable(services: Services, body: dict[str, Any], client: WebClient) -> None:
    """Approver pressed Disable: record it, then ask the owner, or let the approver decide."""
    user_id = body["user"]["id"]
    finding = acting_on(services, _value(body), user_id, CHANNEL)
    finding = services.decisions.request_disable(finding.id, user_id, CHANNEL)
    try:
        owner = resolve_owner(client, finding.owner)
    except SlackClientError as error:
        owner = OwnerContact(
            None, False, f"The owner could not be looked up ({slack_error(error)})"
        )
    if owner.reachable:
        finding = services.decisions.await_owner(finding.id, owner.slack_id, user_id)
        services.announcer.refresh(finding)
        if services.announcer.dm_owner(finding):
            _tell(services, body, f"Asked <@{owner.slack_id}> to confirm by DM.")
        else:
            _tell(
                services,
                body,
                f"Recorded, but I could not DM <@{owner.slack_id}>; the reminder will try again.",
            )
        return
    services.announcer.refresh(finding)
    view = messages.confirm_modal(
        finding, owner.why_not, services.settings.timezone, services.settings.dry_run
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def open_keep_modal(
    services: Services, client: WebClient, body: dict[str, Any], finding: Finding, surface: str
) -> None:
    if finding.state not in KEEPABLE:
        raise Refused(
            f"This finding is already {finding.state.replace('_', ' ')}; nothing to keep."
        )
    client.views_open(trigger_id=body["trigger_id"], view=messages.keep_modal(finding, surface))


def tell_both(services: Services, finding: Finding, text: str) -> None:
    """The outcome, to the approver who asked and the owner who answered."""
    people = {finding.requested_by, finding.decided_by, finding.owner_slack_id} - {None}
    for person in people:
        services.announcer.tell(finding.slack_channel, person, text, thread_ts=finding.slack_ts)


@contextmanager
def _answering(services: Services, body: dict[str, Any]) -> Iterator[None]:
    """Turns refusals, stale clicks and Slack errors into a clear line for the clicker."""
    try:
        yield
    except (Refused, TransitionError) as error:
        _tell(services, body, str(error))
    except UnknownFinding:
        _tell(services, body, "That finding no longer exists, so nothing was done.")
    except SlackClientError as error:
        log.warning("Slack call failed while handling a click: %s", slack_error(error))
        _tell(services, body, f"{slack_error(error)}; anything already decided is recorded.")


def _tell(services: Services, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id")
    services.announcer.tell(channel, body["user"]["id"], text)


def _owner_name(finding: Finding) -> str:
    return f"<@{finding.owner_slack_id}>" if finding.owner_slack_id else "The owner"


def _value(body: dict[str, Any]) -> str | None:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")
