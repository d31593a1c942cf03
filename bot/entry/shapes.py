"""What a signed Slack request must look like before Bolt reads it.

Bolt's built-in middleware indexes into the payload (`user.id`, `actions[0]`, `view.type`)
and answers a body that is signed but not what it claims with HTTP 500 and a traceback. The
fields checked here are those Bolt and the bot's listeners read; anything else about the
request is Bolt's to route (an unknown type gets its 404 "unhandled request").
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

INTERACTIONS_WITH_VIEW = ("view_submission", "view_closed")
# What the app's manifest has Slack send: any other type is no request of Slack's to this app
# (and Bolt's own warning about an unhandled request fails on some of them).
INTERACTIONS = ("block_actions", *INTERACTIONS_WITH_VIEW)
EVENTS = ("event_callback", "url_verification", "app_rate_limited")
# Parts of an interaction that Slack sends as objects, and Bolt reads as such.
OBJECTS = ("team", "channel", "container", "message", "enterprise")


def problem_with(body: bytes, content_type: str) -> str | None:
    """Why this request body is not one Slack sends; None when it is."""
    try:
        text = body.decode()
        if content_type.startswith("application/json"):
            event = json.loads(text)
            return _nul_in(event) or _problem_with_event(event)
        # Blank values kept, as Bolt reads them: `response_url=` is a field, and not a URL.
        fields = parse_qs(text, keep_blank_values=True)
        form = {key: values[0] for key, values in fields.items()}
        if "payload" in form:
            payload = json.loads(form["payload"])
            return _nul_in(payload) or _problem_with_interaction(payload)
    except (UnicodeDecodeError, ValueError):
        return "the body is not what its content type says"
    except RecursionError:  # JSON nested deeper than Python parses; Slack sends a few levels
        return "the body nests deeper than any request Slack sends"
    return _nul_in(form) or _problem_with_command(form)


def _nul_in(value: Any) -> str | None:
    """Slack never sends a NUL character, and PostgreSQL's text cannot hold one: a request
    with one would fail where it meets the database instead of being answered."""
    if isinstance(value, str):
        found = "\x00" in value
    elif isinstance(value, dict):
        found = any(_nul_in(key) or _nul_in(item) for key, item in value.items())
    elif isinstance(value, list):
        found = any(_nul_in(item) for item in value)
    else:
        found = False
    return "a text holds a NUL character" if found else None


def _problem_with_event(event: Any) -> str | None:
    if not isinstance(event, dict) or event.get("type") not in EVENTS:
        return f"an event's type is one of {', '.join(EVENTS)}"
    if event["type"] == "event_callback":
        inner = event.get("event")
        if not isinstance(inner, dict) or not _text(inner, "type"):
            return "an event_callback needs an event with a type"
        if "user" in inner and not isinstance(inner["user"], str | dict):
            return "an event's user is an id or an object"
    return None


def _problem_with_command(form: dict[str, str]) -> str | None:
    if form.get("ssl_check"):  # Slack checking the certificate; Bolt answers it
        return None
    if not (form.get("command") and form.get("user_id")):
        return "a command needs a command and a user_id"
    if not _url(form.get("response_url", "https://")):
        return "a command's response_url is a URL"
    return None


def _problem_with_interaction(payload: Any) -> str | None:
    if not isinstance(payload, dict) or payload.get("type") not in INTERACTIONS:
        return f"an interaction's type is one of {', '.join(INTERACTIONS)}"
    if not _text(payload.get("user"), "id"):
        return "an interaction needs a user with an id"
    if not _url(payload.get("response_url", "https://")):
        return "an interaction's response_url is a URL"
    for part in OBJECTS:
        if part in payload and not isinstance(payload[part], dict):
            return f"an interaction's {part} is an object"
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions need a list of actions"
        for action in actions:
            if not _text(action, "action_id"):
                return "every action needs an action_id"
            if "value" in action and not isinstance(action["value"], str):
                return "an action's value is text"
    if payload["type"] in INTERACTIONS_WITH_VIEW:
        view = payload.get("view")
        if not (isinstance(view, dict) and _text(view, "type") and _text(view, "callback_id")):
            return "a view needs a type and a callback_id"
        if not isinstance(view.get("private_metadata", ""), str):
            return "a view's private_metadata is text"
        if not isinstance(view.get("state", {}), dict):
            return "a view's state is an object"
    return None


def _url(value: Any) -> bool:
    """Where the bot may answer through a response URL: Slack's are https (a local stand-in's
    http)."""
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _text(mapping: Any, key: str) -> bool:
    return isinstance(mapping, dict) and isinstance(mapping.get(key), str) and bool(mapping[key])
