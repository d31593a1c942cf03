"""Review of the weekly digest's words (pure): what it tells people to do must be true."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain import digest
from bot.slack.messages.digest import digest_message

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def section(message, title: str) -> str:
    (text,) = [
        block["text"]["text"]
        for block in message.blocks
        if block["type"] == "section" and block.get("text", {}).get("text", "").startswith(title)
    ]
    return text


def test_the_digest_does_not_send_people_to_list_for_scan_failures_list_never_shows():
    """An Organization with 40 accounts whose role was removed: each failed scan is a line, 25
    are shown, and the rest are said to be in `/iam-inactive list`, which lists open findings
    only (flows.open_findings_page): the 15 failures are nowhere to be found there."""
    failures = [
        (NOW - timedelta(days=1), f"{number:012d}", "AccessDenied: sts:AssumeRole")
        for number in range(40)
    ]
    facts = digest.summarize(NOW, [], {}, failures)
    message = digest_message(facts, UTC, dry_run=False)
    failed = section(message, "*Scan failures this week*")
    assert "…and 15 more" in failed, json.dumps(message.blocks, ensure_ascii=False)
    assert "/iam-inactive list" not in failed, failed
