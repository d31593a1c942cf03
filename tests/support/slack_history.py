"""What the Slack stand-in keeps of the messages it took, read back as Slack's
conversations.history and conversations.replies answer them: newest first at a channel's top
level, a thread oldest first from its parent, in pages, and with a message's metadata only when
the caller asks for it (`include_all_metadata`), as Slack does."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
PAGE = 100  # conversations.history's default limit (replies': 10, which nobody relies on)
# The scope reading a conversation's history needs, by the first letter of its id
HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


def manifest_scopes() -> frozenset[str]:
    """The bot token's scopes as the app's manifest grants them."""
    manifest = yaml.safe_load(MANIFEST.read_text())
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])


def moment(ts: str) -> tuple[int, int]:
    """A message ts in Slack's order (compared as numbers, never as text)."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds), int(fraction or 0)


def truthy(value: Any) -> bool:
    """A boolean argument as slack_sdk sends it in a query ("1"), or as JSON."""
    return value is True or str(value).lower() in ("1", "true")


class History:
    """Every message taken, by ts (unique across channels here), oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, dict[str, Any]] = {}

    def take(self, ts: str, params: dict[str, Any]) -> None:
        metadata = params.get("metadata")
        message = {
            "type": "message",
            "user": "UBOT",
            "bot_id": "BBOT",
            "app_id": "A0APP",
            "ts": ts,
            "text": params.get("text") or "",
            "blocks": _parsed(params.get("blocks")) or [],
            "channel": params.get("channel"),
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        if metadata:
            message["metadata"] = _parsed(metadata)
        with self._lock:
            self._messages[ts] = message

    def update(self, params: dict[str, Any]) -> None:
        """chat.update: the text and blocks change; metadata only when sent (else it stays)."""
        with self._lock:
            message = self._messages.get(params.get("ts", ""))
            if message is None:
                return
            message["text"] = params.get("text") or ""
            message["blocks"] = _parsed(params.get("blocks")) or []
            if params.get("metadata"):
                message["metadata"] = _parsed(params["metadata"])

    def parent_of(self, ts: str) -> str | None:
        """The parent of a reply (None for a message at the top level, or unknown)."""
        message = self._messages.get(ts)
        return message.get("thread_ts") if message else None

    def known(self, ts: str) -> bool:
        return ts in self._messages

    def has_replies(self, ts: str) -> bool:
        """Whether the thread of `ts` is active: a message has been posted in it."""
        with self._lock:
            return any(m.get("thread_ts") == ts for m in self._messages.values())

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        """Every message in `channel`, replies included, oldest first."""
        with self._lock:
            return [m for m in self._messages.values() if m["channel"] == channel]

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        oldest, latest = params.get("oldest"), params.get("latest")
        with self._lock:
            top = [
                self._shown(message, params)
                for message in reversed(self._messages.values())
                if message["channel"] == channel
                and "thread_ts" not in message
                and (oldest is None or moment(message["ts"]) > moment(str(oldest)))
                and (latest is None or moment(message["ts"]) < moment(str(latest)))
            ]
        return _page(top, params)

    def replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, parent = params.get("channel", ""), params.get("ts", "")
        with self._lock:
            head = self._messages.get(parent)
            if head is None or head["channel"] != channel:
                return {"ok": False, "error": "thread_not_found"}
            thread = [head] + [m for m in self._messages.values() if m.get("thread_ts") == parent]
            shown = [self._shown(message, params) for message in thread]
        return _page(shown, params)

    def _shown(self, message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """A message as the reading methods show it: a parent says it has replies."""
        shown = {key: value for key, value in message.items() if key != "channel"}
        if not truthy(params.get("include_all_metadata")):
            shown.pop("metadata", None)
        replies = [m for m in self._messages.values() if m.get("thread_ts") == message["ts"]]
        if replies:
            shown |= {"thread_ts": message["ts"], "reply_count": len(replies)}
        return shown


def _page(messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    start = int(params.get("cursor") or 0)
    end = start + int(params.get("limit") or PAGE)
    more = end < len(messages)
    return {
        "ok": True,
        "messages": messages[start:end],
        "has_more": more,
        "response_metadata": {"next_cursor": str(end) if more else ""},
    }


def _parsed(value: Any) -> Any:
    """A JSON argument as sent: already JSON (a JSON body), or a string (a form body)."""
    return json.loads(value) if isinstance(value, str) else value
