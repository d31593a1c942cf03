"""Channel and DM messages redrawn in the background: one chat.update per message however many
of its findings changed, and the scan's reply never waits for them.

A rescan that closes 2,000 findings posted 10 to a message has 200 messages to redraw, and
chat.update takes about 50 a minute (Tier 3): four minutes. Each message waits here once: a
second change to it before its turn changes nothing more, and it is drawn from the records
when its turn comes, so it shows the latest state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# Draws and sends one message; False when Slack said to wait (it is sent again later)
Edit = Callable[[], bool]


class EditQueue:
    """Messages waiting to be redrawn, oldest first, each once; a thread sends them while any
    wait, and ends when none does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str], Edit] = {}
        self._worker: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def put(self, edits: dict[tuple[str, str], Edit]) -> None:
        """(channel, ts) -> its edit; all at once, so that none is sent before the others of
        its message are in."""
        if not edits:
            return
        with self._lock:
            for key, edit in edits.items():
                self._waiting.setdefault(key, edit)
            self._idle.clear()
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="slack-edits", daemon=True)
                self._worker.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether every waiting edit was sent within `timeout` seconds."""
        return self._idle.wait(timeout)

    def __len__(self) -> int:
        return len(self._waiting)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._worker = None
                    self._idle.set()
                    return
                key = next(iter(self._waiting))
                edit = self._waiting.pop(key)
            try:
                sent = edit()
            except Exception:  # the database, most likely: the next change redraws it
                log.exception("redrawing %s/%s failed", *key)
                continue
            if not sent:
                with self._lock:  # after the others: Slack said to wait
                    self._waiting.setdefault(key, edit)
