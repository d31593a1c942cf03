"""Findings messages as Slack keeps them: the metadata each carries (which findings it shows,
posted by which scan), and the findings messages found in a channel's history or a thread.

A post Slack took but whose answer was lost leaves no ts with the bot; its metadata is how the
message is recognised in the channel, so that its findings are not posted a second time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient

FINDINGS_EVENT = "iam_inactive_findings"
HISTORY_PAGE = 200  # messages a page: Slack's advice for conversations.history and .replies
HISTORY_PAGES = 5  # pages read at most in one look (1,000 messages)


def findings_metadata(finding_ids: Sequence[str], scan_id: int | None) -> dict[str, Any]:
    """The metadata of a message showing these findings (`scan_id`: the scan posting them)."""
    # The ids as one string: Slack's payload values are strings, numbers, booleans or objects.
    payload: dict[str, Any] = {"finding_ids": ",".join(finding_ids)}
    if scan_id is not None:
        payload["scan_id"] = scan_id
    return {"event_type": FINDINGS_EVENT, "event_payload": payload}


def posted_findings(
    client: WebClient, channel: str, *, thread_ts: str | None = None, oldest: float | None = None
) -> dict[str, str]:
    """Finding id -> the ts of a findings message in `channel` that shows it: among the
    messages at its top level since `oldest` (a Unix time), or those in the thread of
    `thread_ts`. Raises what the Web API raises (`missing_scope` when the token has neither
    channels:history nor groups:history)."""
    # Slack leaves metadata out of the messages it returns unless asked for it. A response
    # fetches its next page (response_metadata.next_cursor) when iterated to it.
    if thread_ts:
        pages = client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=HISTORY_PAGE
        )
    else:
        since = None if oldest is None else f"{oldest:.6f}"
        pages = client.conversations_history(
            channel=channel, oldest=since, include_all_metadata=True, limit=HISTORY_PAGE
        )
    found: dict[str, str] = {}
    for page in itertools.islice(pages, HISTORY_PAGES):
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") != FINDINGS_EVENT:
                continue
            ids = str((metadata.get("event_payload") or {}).get("finding_ids") or "")
            for finding_id in filter(None, ids.split(",")):
                found.setdefault(finding_id, message["ts"])
    return found
