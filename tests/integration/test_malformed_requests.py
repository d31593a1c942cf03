"""Signed requests of shapes Slack never sends get a clear answer, 200 or 400, never a 500 or a
traceback, and change nothing: malformed bodies, JSON nested deeper than Python parses, fields of
the wrong type in a form, a page number no button carries, a command of any length."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.application.access import NOT_MINE
from bot.slack.ids import ActionId, BlockId, CallbackId, InputId
from tests.integration.conftest import start_bot
from tests.support.bot_harness import APPROVER, SECRET


@pytest.fixture
def database_url(tmp_path):
    """About requests, not storage: a SQLite file is enough, and keeps the suite fast."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


def payload(**fields: object) -> str:
    return urlencode({"payload": json.dumps(fields)})


USER = {"id": APPROVER}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
COMMAND = "command=%2Fiam-inactive&user_id=U0APPROVER&response_url=https%3A%2F%2Fx.example&"
HOME_OPENED = {"type": "event_callback", "team_id": "T0TEAM", "api_app_id": "A0APP"}


@pytest.mark.parametrize(
    ("body", "content_type", "signed", "status"),
    [
        ("payload=not-json", FORM, False, 401),
        ("payload=not-json", FORM, True, 400),
        ("{garbage", "application/json", True, 400),
        ('payload="just a string"', FORM, True, 400),
        (payload(type="block_actions", actions=[{"action_id": "disable"}]), FORM, True, 400),
        (payload(type="block_actions", user=USER, actions="disable"), FORM, True, 400),
        (payload(type="block_actions", user="U0X", actions=[]), FORM, True, 400),
        (payload(type="block_actions", user=USER, actions=[{"value": "x"}]), FORM, True, 400),
        (payload(type="view_submission", user=USER, view="keep"), FORM, True, 400),
        (payload(type="view_submission", user=USER, view={"callback_id": "k"}), FORM, True, 400),
        (payload(type=5), FORM, True, 400),
        ("text=list&user_id=U0APPROVER", FORM, True, 400),
        ("command=%2Fiam-inactive&text=list", FORM, True, 400),
        ("command=%2Fiam-inactive&user_id=U0APPROVER&text=list&response_url=", FORM, True, 400),
        (urlencode({"payload": "[" * 100_000 + "]" * 100_000}), FORM, True, 400),
        ("[" * 100_000 + "]" * 100_000, JSON, True, 400),
        (json.dumps(HOME_OPENED | {"event": {"type": "app_home_opened", "user": 5}}), JSON, 1, 400),
        (
            json.dumps(HOME_OPENED | {"event": {"type": "app_home_opened", "user": "U\x00"}}),
            JSON,
            1,
            400,
        ),
        (COMMAND + urlencode({"text": "show a\x00b"}), FORM, True, 400),
        (
            payload(
                type="block_actions", user=USER, actions=[{"action_id": "disable", "value": "\x00"}]
            ),
            FORM,
            True,
            400,
        ),
    ],
    ids=[
        "unsigned-garbage",
        "signed-not-json",
        "mislabelled-json",
        "payload-not-an-object",
        "no-user",
        "actions-not-a-list",
        "user-not-an-object",
        "action-without-id",
        "view-not-an-object",
        "view-without-type",
        "type-not-text",
        "command-without-command",
        "command-without-user",
        "command-with-an-empty-response-url",
        "payload-nested-100000-deep",
        "event-nested-100000-deep",
        "event-user-a-number",
        "event-user-with-nul",
        "command-text-with-nul",
        "action-value-with-nul",
    ],
)
def test_a_malformed_request_gets_a_client_error_and_no_traceback(
    standin, database_file, aws_session, caplog, body, content_type, signed, status
):
    bot = start_bot(standin, database_file, aws_session)  # no findings needed
    secret = SECRET if signed else "not-the-secret"
    response = bot.post(body, content_type=content_type, secret=secret)
    assert response.status_code == status
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
    assert standin.calls == []


@pytest.mark.parametrize("text", ["show " + "x" * 5000, "y" * 3000, "list " + "z" * 2600])
def test_slash_text_of_any_length_gets_a_clear_reply(bot, text):
    answer = bot.command(text)
    assert answer.status_code == 200
    assert "longer than any IAM user name" in answer.get_json()["text"]


@pytest.mark.parametrize("page", ["1e400", "-1e400", "[1]", '"two"', "NaN"])
def test_a_page_number_no_button_carries_is_answered_not_crashed_on(bot, standin, caplog, page):
    bot.click(ActionId.LIST_NEXT, f'{{"filter": "dormant", "page": {page}}}')
    (answer,) = standin.named("response/respond")
    assert answer.params["text"] == NOT_MINE
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]


# An account id typed with a CJK input method: `\d` takes these digits, AWS does not.
FULLWIDTH_ACCOUNT = "１２３４５６７８９０１２"


@pytest.mark.parametrize(
    "filter_",
    ["nonsense", "é" * 400, FULLWIDTH_ACCOUNT, "123456789012\n"],
    ids=["a-word", "400-accented-letters", "fullwidth-digits", "account-and-a-newline"],
)
def test_a_list_button_with_a_filter_list_does_not_take_is_not_mine(bot, standin, filter_):
    """A Previous or Next button's filter is checked as the typed `list` checks it: one it would
    refuse is no button of the bot's, not a page of every open finding under its name (nor a
    next page whose button slack_sdk would not build, told as Slack out of reach)."""
    value = json.dumps({"filter": filter_, "page": 2}, ensure_ascii=False)
    assert len(value) <= 2000  # a value Slack carries
    bot.click(ActionId.LIST_NEXT, value)
    (answer,) = standin.named("response/respond")
    assert answer.params["text"] == NOT_MINE


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        (f"list {FULLWIDTH_ACCOUNT}", "`list` takes"),
        (f"scan {FULLWIDTH_ACCOUNT}", "`scan` takes an optional 12-digit account id"),
    ],
    ids=["list", "scan"],
)
def test_an_account_id_in_fullwidth_digits_is_refused_not_taken_for_an_account(bot, text, usage):
    """Not "0 open findings" of an account that has some, nor a scan of no account queued."""
    assert usage in bot.reply(text)["text"]


@pytest.mark.parametrize(
    "values",
    [
        "not an object",
        {BlockId.KEEP_REASON: ["a list"]},
        {BlockId.KEEP_REASON: {InputId.KEEP_REASON: {"value": 5}}},
        {BlockId.KEEP_PERIOD: {InputId.KEEP_PERIOD: {"selected_option": "90"}}},
    ],
    ids=["values-a-string", "block-a-list", "reason-a-number", "option-a-string"],
)
def test_a_keep_form_of_the_wrong_shapes_is_sent_back_not_crashed_on(bot, caplog, values):
    finding = bot.finding("owned")
    response = bot.submit(CallbackId.KEEP, values, {"finding_id": finding.id}, APPROVER)
    assert response.status_code == 200 and response.get_json()["response_action"] == "errors"
    assert bot.finding("owned").state == finding.state
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
