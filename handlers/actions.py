"""Buttons: Disable and Keep in the channel, Confirm and "I still need it" in owner DMs and on
the Home tab, Reactivate on a removal that deactivated keys, End keep in `show`, paging.

A button that opens a form opens a placeholder first, in Bolt's thread (Slack's trigger lasts
3 s), and fills it in after the acknowledgement with `views.update`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.application import flows
from bot.application.access import NOT_MINE, Refused
from bot.application.services import Services
from bot.domain.records import Surface
from bot.slack.client import slack_error
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import notice
from bot.slack.messages.modals import placeholder_modal
from handlers.answering import FollowUp, answering, explain, tell

log = logging.getLogger(__name__)

# Disable's lookups (the approver group, the owner in Slack) may take this long before a
# placeholder form opens instead of waiting for them: Slack's trigger lasts 3 s.
LOOKUPS_WITHIN = 1.0

FormBuilder = Callable[[dict[str, Any]], dict[str, Any]]  # the click -> the form


def register(app: App, services: Services) -> None:
    def on_disable(body: dict[str, Any], client: WebClient) -> FollowUp:
        planning = services.lookups.submit(
            flows.plan_disable, services, _value(body), body["user"]["id"]
        )
        if not wait([planning], timeout=LOOKUPS_WITHIN).done:  # Slack is slow: the trigger
            placeholder = open_form(client, body, placeholder_modal())  # would expire
            return lambda: disable_in_placeholder(planning, body, client, placeholder)
        plan = planning.result()
        if plan.form is None:
            return lambda: tell(services, {"body": body}, flows.ask_for_consent(services, plan))
        return record_for(plan, client, open_form(client, body, plan.form))

    def disable_in_placeholder(
        planning: Future[flows.DisablePlan],
        body: dict[str, Any],
        client: WebClient,
        placeholder: dict[str, Any],
    ) -> None:
        """Disable's lookups ended after its placeholder opened: it becomes the final
        confirmation; or the owner is asked, and the approver told (in the placeholder too,
        unless they closed it)."""
        try:
            plan = planning.result()
            if plan.form is None:
                line = flows.ask_for_consent(services, plan)
            else:
                form = fill_form(client, placeholder, plan.form)
        except Exception as error:
            if not replace_form(client, placeholder, error) or explain(error) is None:
                raise
            return
        if plan.form is not None:
            if form is not None:  # else closed before it was filled: nothing to confirm
                record_for(plan, client, form)()
            return
        tell(services, {"body": body}, line)
        replace_form(client, placeholder, line)

    def record_for(plan: flows.DisablePlan, client: WebClient, form: dict[str, Any]) -> FollowUp:
        """The request the open `form` confirms, recorded; then its line is refreshed."""
        try:  # at once, so that the form's closing or submission finds its request
            finding = flows.record_request(services, plan)
        except Exception as error:  # the open form must not offer what was not recorded
            replace_form(client, form, error)
            raise
        return lambda: services.announcer.refresh(finding)

    def opening(build: FormBuilder) -> Callable[[dict[str, Any], WebClient], FollowUp]:
        def on_click(body: dict[str, Any], client: WebClient) -> FollowUp:
            form = open_form(client, body, placeholder_modal())

            def fill() -> None:
                try:
                    view = build(body)
                except Exception as error:
                    if not replace_form(client, form, error) or explain(error) is None:
                        raise
                    return
                fill_form(client, form, view)

            return fill

        return on_click

    def on_owner_confirm(body: dict[str, Any]) -> None:
        flows.owner_confirms(services, _value(body), body["user"]["id"], _owner_surface(body))

    def on_reactivate(body: dict[str, Any]) -> None:
        flows.reactivate(services, _value(body), body["user"]["id"], _clicked_on(body))

    def on_list_page(body: dict[str, Any], respond: Callable[..., None]) -> None:
        asked = _page_asked(body)
        if asked is None:
            message = notice(NOT_MINE)
        else:
            message = flows.open_findings_page(services, body["user"]["id"], *asked)
        respond(replace_original=True, text=message.text, blocks=message.blocks)

    def keep_form(surface: Callable[[dict[str, Any]], Surface]) -> FormBuilder:
        return lambda body: flows.keep_form(
            services, _value(body), body["user"]["id"], surface(body)
        )

    forms: dict[ActionId, FormBuilder] = {
        ActionId.KEEP: keep_form(lambda _body: Surface.CHANNEL),
        ActionId.OWNER_DECLINE: keep_form(_owner_surface),
        ActionId.DECIDE_NOW: lambda body: flows.decide_now_form(
            services, _value(body), body["user"]["id"]
        ),
        ActionId.UNKEEP: lambda body: flows.unkeep_form(services, _value(body), body["user"]["id"]),
    }
    for action_id, build in forms.items():
        app.action(action_id)(answering(services, opening(build), quick=True))
    app.action(ActionId.DISABLE)(answering(services, on_disable, quick=True))
    app.action(ActionId.OWNER_CONFIRM)(answering(services, on_owner_confirm))
    app.action(ActionId.REACTIVATE)(answering(services, on_reactivate))
    app.action(ActionId.LIST_PREVIOUS)(answering(services, on_list_page))
    app.action(ActionId.LIST_NEXT)(answering(services, on_list_page))


def open_form(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """Open `view` with the click's trigger: the opened view (its id and hash)."""
    try:
        return client.views_open(trigger_id=body["trigger_id"], view=view)["view"]
    except (SlackClientError, OSError) as error:  # e.g. expired_trigger_id after 3 s
        raise Refused(
            f"Slack did not open the form ({slack_error(error)}), so nothing was changed. "
            "Please press the button again."
        ) from None


def fill_form(
    client: WebClient, placeholder: dict[str, Any], view: dict[str, Any]
) -> dict[str, Any] | None:
    """`view` shown in the open `placeholder`: the view as updated; None when the person closed
    the placeholder first (Slack answers not_found), which needs no answer."""
    try:
        return client.views_update(
            view_id=placeholder["id"], hash=placeholder.get("hash"), view=view
        )["view"]
    except SlackApiError as error:
        if error.response.get("error") != "not_found":
            raise
        log.info("form %s was closed before it was filled", placeholder.get("id"))
        return None


def replace_form(client: WebClient, form: dict[str, Any], outcome: Exception | str) -> bool:
    """The form says the outcome instead of what it was opened for (an error: why it cannot
    be shown). False when Slack would not show it (the person closed the form)."""
    if isinstance(outcome, Exception):
        outcome = explain(outcome) or "Something went wrong on my side, so nothing was changed."
    try:
        client.views_update(
            view_id=form["id"], hash=form.get("hash"), view=placeholder_modal(text=outcome)
        )
    except (SlackClientError, OSError) as error:
        log.info("form %s not updated: %s", form.get("id"), slack_error(error))
        return False
    return True


def _owner_surface(body: dict[str, Any]) -> Surface:
    """Owners answer in their DM or on their Home tab, whose clicks carry the view they were
    made in instead of a message."""
    return Surface.HOME if (body.get("view") or {}).get("type") == "home" else Surface.DM


def _clicked_on(body: dict[str, Any]) -> Surface:
    """Where a button shown to both approvers and owners was pressed: in a DM or on the Home
    tab by the owner, anywhere else (the findings channel) by an approver."""
    if (body.get("view") or {}).get("type") == "home":
        return Surface.HOME
    channel = (body.get("channel") or {}).get("id") or ""
    return Surface.DM if channel.startswith("D") else Surface.CHANNEL


def _page_asked(body: dict[str, Any]) -> tuple[str, int] | None:
    """The filter and page a Previous or Next button carries; None unless the filter is one the
    typed `list` takes (`flows.is_list_filter`) and the page a whole number."""
    try:
        page = json.loads(_value(body) or "")
        filter_, number = str(page["filter"]), int(page["page"])
    except (ValueError, KeyError, TypeError, OverflowError):  # a page of 1e400, say
        return None
    return (filter_, number) if flows.is_list_filter(filter_) else None


def _value(body: dict[str, Any]) -> str | None:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")
