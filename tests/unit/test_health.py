"""/healthz's look at the database: one at a time, each probe waiting for it a bounded time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.entry.health import HealthProbe

WITHIN = 0.2


class Database:
    """Answers each look with how many looks it was asked, once `answering` is set."""

    def __init__(self) -> None:
        self.answering = threading.Event()
        self.looks = 0

    def look(self) -> int:
        self.looks += 1
        self.answering.wait(10)
        return self.looks


def test_probes_while_the_database_hangs_share_one_look_and_wait_at_most_its_bound():
    database = Database()
    probe = HealthProbe(database.look, WITHIN)
    began = time.monotonic()
    with ThreadPoolExecutor(8) as probes:
        looks = list(probes.map(lambda _: probe.ask(), range(8)))
    assert time.monotonic() - began < 2 * WITHIN
    assert not any(look.done() for look in looks)
    later = time.monotonic()
    assert not probe.ask().done()  # the look is overdue: said at once
    assert time.monotonic() - later < WITHIN / 2
    assert database.looks == 1
    database.answering.set()
    assert looks[0].result(1) == 1
    assert probe.ask().result() == 2  # the database is back: a look of its own


def test_a_look_that_fails_is_the_probes_answer_and_the_next_probe_looks_again():
    answers = iter([ConnectionError("refused"), 3])

    def look() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    probe = HealthProbe(look, WITHIN)
    with pytest.raises(ConnectionError):
        probe.ask().result(0)
    assert probe.ask().result(0) == 3
