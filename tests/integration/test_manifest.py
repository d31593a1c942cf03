"""The Slack app's manifest subscribes to exactly the events and commands the bot listens to
(the scopes it grants are checked against the Web API calls in tests/unit/test_messages.py)."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from slack_bolt import App

from bot.entry.bootstrap import build_app
from tests.integration.conftest import start_bot

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())


def listened_to(app: App, kind: str) -> set[str]:
    """What the app's listeners match of one kind (`event_type`, `command`), read from Bolt's
    built-in matchers, which keep it in their closures."""
    found = set()
    for listener in app._listeners:
        for matcher in listener.matchers:
            captured = inspect.getclosurevars(matcher.func).nonlocals.get(kind)
            if isinstance(captured, str):
                found.add(captured)
    return found


def test_the_manifest_subscribes_to_exactly_the_events_and_commands_listened_to(
    standin, database_file, aws_session
):
    harness = start_bot(standin, database_file, aws_session)
    app = build_app(harness.services)
    events = MANIFEST["settings"]["event_subscriptions"]
    assert (
        set(events["bot_events"])
        == listened_to(app, "event_type")
        == {
            "app_home_opened",
            "member_joined_channel",
        }
    )
    assert events["request_url"] == MANIFEST["settings"]["interactivity"]["request_url"]
    commands = {command["command"] for command in MANIFEST["features"]["slash_commands"]}
    assert commands == listened_to(app, "command")
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
