"""Fuzzing the production HTTP path: signed requests of every kind Slack sends (commands,
interactions, events), their fields given values of the wrong types and depths, are answered
200 or 400 (or Bolt's 404 for a request no listener takes), never 500, and never with a
traceback in the log."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.ids import COMMAND, ActionId, CallbackId
from tests.integration.conftest import start_bot
from tests.support.bot_harness import APPROVER

RESPONSE_URL = "the stand-in's response URL"  # put in by `with_response_url`
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def maybe(value: object) -> st.SearchStrategy:
    """The field as Slack sends it, or anything else."""
    return st.one_of(st.just(value), JSON_VALUES)


ACTIONS = st.lists(
    st.fixed_dictionaries(
        {
            "action_id": maybe(ActionId.DISABLE.value)
            | st.sampled_from([a.value for a in ActionId]),
            "value": maybe("0" * 32),
            "block_id": maybe("b"),
            "type": maybe("button"),
        }
    ),
    max_size=2,
)
INTERACTIONS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["block_actions", "view_submission", "view_closed"]) | JSON_VALUES,
        "user": maybe({"id": APPROVER}),
        "trigger_id": maybe("1.2.3"),
        "actions": maybe([]) | ACTIONS,
        "view": maybe({"type": "modal", "callback_id": CallbackId.KEEP.value})
        | st.fixed_dictionaries(
            {
                "type": maybe("modal"),
                "callback_id": st.sampled_from([c.value for c in CallbackId]),
                "private_metadata": maybe("{}"),
                "state": maybe({"values": {}}),
            }
        ),
        "container": maybe({}),
        "channel": maybe({"id": "C0FINDINGS"}),
        "response_url": maybe(RESPONSE_URL),
    }
)
EVENTS = st.fixed_dictionaries(
    {
        "type": maybe("event_callback"),
        "team_id": maybe("T0TEAM"),
        "event": maybe({"type": "app_home_opened", "user": APPROVER, "tab": "home"})
        | st.fixed_dictionaries(
            {"type": maybe("app_home_opened"), "user": maybe(APPROVER), "tab": maybe("home")}
        ),
    }
)
COMMANDS = st.fixed_dictionaries(
    {
        "command": maybe(COMMAND),
        "user_id": maybe(APPROVER),
        "text": maybe("list"),
        "channel_id": maybe("C0FINDINGS"),
        "response_url": maybe(RESPONSE_URL),
    }
)


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def fuzzed_bot(standin, database_file, aws_session):
    return start_bot(standin, database_file, aws_session)


def with_response_url(bot, fields: dict) -> dict:
    url = bot.standin.response_url()
    return {key: url if value == RESPONSE_URL else value for key, value in fields.items()}


def form(fields: dict) -> str:
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()})


FUZZ = settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])


def answered_cleanly(bot, caplog, body: str, content_type: str) -> None:
    caplog.clear()
    response = bot.post(body, content_type=content_type)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert response.status_code in (200, 400, 404), (response.status_code, body[:300])
    assert not errors, (errors[0].getMessage(), body[:300])


@FUZZ
@given(payload=INTERACTIONS)
def test_interactions_of_any_shape(fuzzed_bot, caplog, payload):
    body = urlencode({"payload": json.dumps(with_response_url(fuzzed_bot, payload))})
    answered_cleanly(fuzzed_bot, caplog, body, "application/x-www-form-urlencoded")


@FUZZ
@given(event=EVENTS)
def test_events_of_any_shape(fuzzed_bot, caplog, event):
    answered_cleanly(fuzzed_bot, caplog, json.dumps(event), "application/json")


@FUZZ
@given(fields=COMMANDS)
def test_commands_of_any_shape(fuzzed_bot, caplog, fields):
    body = form(with_response_url(fuzzed_bot, fields))
    answered_cleanly(fuzzed_bot, caplog, body, "application/x-www-form-urlencoded")
