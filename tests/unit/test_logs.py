"""Logs: one JSON object a line with LOG_FORMAT=json, and no token or secret, ever."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.entry import logs


@pytest.fixture
def captured():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def configure(stream, log_format, secrets):
    logs.configure(log_format, secrets, verbose=True)
    logging.getLogger().handlers[0].setStream(stream)


def test_json_lines_with_secrets_redacted(captured):
    configure(captured, "json", ["sk-signing-secret-1", "aws/secret+KEY"])
    log = logging.getLogger("bot.test")
    log.info("token %s and secret %s", "xoxb-123-456-abc", "sk-signing-secret-1")
    log.warning("aws said aws/secret+KEY was wrong; app token xapp-1-A0-99")
    try:
        raise RuntimeError("boom with xoxb-999-secret")
    except RuntimeError:
        log.exception("failed")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "warning", "error"]
    assert lines[0]["message"] == "token [redacted] and secret [redacted]"
    assert lines[1]["message"] == "aws said [redacted] was wrong; app token [redacted]"
    assert "boom with [redacted]" in lines[2]["error"]
    text = captured.getvalue()
    for secret in ("xoxb-", "xapp-", "sk-signing-secret-1", "aws/secret+KEY"):
        assert secret not in text


def test_text_format_is_one_line_per_event(captured):
    configure(captured, "text", [])
    logging.getLogger("bot.test").warning("scan of %s failed", "111122223333")
    (line,) = captured.getvalue().splitlines()
    assert line.endswith("WARNING bot.test: scan of 111122223333 failed")
