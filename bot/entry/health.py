"""/healthz's look at the database, one at a time, waited for a bounded time.

A load balancer probes every few seconds, and retries a probe it gave up on. Were each probe to
wait on the database in its request thread, a database that hangs would hold gunicorn's few
threads (2 workers x 4) until Slack's requests found none free. Instead one look runs at a time,
in a thread of its own, and has `within` seconds to answer: each probe meanwhile waits for it
until then, and a probe that comes later, while it still has not answered, is told so at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Generic, TypeVar

T = TypeVar("T")


class HealthProbe(Generic[T]):
    def __init__(self, look: Callable[[], T], within: float) -> None:
        self._look = look
        self.within = within
        self._lock = threading.Lock()
        self._under_way: Future[T] | None = None
        self._due = 0.0  # when the look under way is to have answered (time.monotonic())

    def ask(self) -> Future[T]:
        """The look under way, or a new one, once it answered or was due to: not done() when
        the database did not answer in time."""
        with self._lock:
            if self._under_way is None or self._under_way.done():
                self._under_way, self._due = Future(), time.monotonic() + self.within
                threading.Thread(
                    target=self._run, args=(self._under_way,), name="health-probe", daemon=True
                ).start()
            look, due = self._under_way, self._due
        wait([look], timeout=max(0.0, due - time.monotonic()))
        return look

    def _run(self, look: Future[T]) -> None:
        try:
            look.set_result(self._look())
        except Exception as error:  # the probe reports it: any failure is the database's answer
            look.set_exception(error)
