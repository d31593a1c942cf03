"""What tests read back from the Slack stand-in: the calls it took, by method, by channel, and
what one person was shown."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any


def dm_channel(user: str) -> str:
    """The id of the bot's DM with `user`, as conversations.open answers here."""
    return "D" + user[1:]


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)
    lost: bool = False  # Slack took the call, but its answer never reached the caller
    unseen: bool = False  # Slack took it, and shows it to nobody (an ephemeral in no thread)

    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.params.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    def text_of_blocks(self) -> str:
        return json.dumps(self.blocks())

    def view_text(self) -> str:
        view = self.params.get("view")
        return view if isinstance(view, str) else json.dumps(view)


class Reading:
    """The stand-in's calls, read back (mixed into SlackStandIn)."""

    calls: list[Call]
    _lock: threading.Condition

    def wait_for(self, method: str, timeout: float = 60.0) -> Call:
        """The first call of `method`, waiting for it (listeners may answer after the ack)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.named(method), timeout=timeout):
                raise AssertionError(f"no {method} call within {timeout:.0f} s")
            return self.named(method)[0]

    def forms(self) -> list[dict[str, Any]]:
        """The forms shown (opened, or filled into a placeholder), not the placeholders."""
        shown = [c.params["view"] for c in self.calls if c.method in ("views.open", "views.update")]
        views = [json.loads(v) if isinstance(v, str) else v for v in shown]
        return [view for view in views if view.get("callback_id")]

    def said_to(self, user: str) -> str:
        """Every line `user` alone was shown (Slack accepted it and shows it): ephemerals and
        DMs."""
        dm = {user, dm_channel(user)}
        lines = [
            call.params.get("text", "")
            for call in self.calls
            if call.answer.get("ok")
            and not call.unseen
            and (
                (call.method == "chat.postEphemeral" and call.params.get("user") == user)
                or (call.method == "chat.postMessage" and call.params.get("channel") in dm)
            )
        ]
        return "\n".join(lines)

    def posted(self, channel: str, thread_ts: str | None = None) -> list[Call]:
        """Messages Slack took in `channel`: at its top level, or in the thread of `thread_ts`."""
        return [
            call
            for call in self.named("chat.postMessage")
            if call.answer.get("ok")
            and call.params.get("channel") == channel
            and call.params.get("thread_ts") == thread_ts
        ]

    def named(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
