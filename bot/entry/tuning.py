"""The interpreter set for scanning, once, by the entry point of a process whose work is scanning
(the scanner process and the terminal scan), never by library code: it is the process's.

Python's cyclic garbage collector runs less often: parsing AWS's answers and recording them
allocate millions of short-lived objects, and a collection every 700 of them cost a third of a
200-account scan's CPU. Reference counting frees memory as before; cycles wait a little longer.
And a thread keeps the GIL for 50 ms rather than 5 before it must hand it over: with 24 accounts
in flight, the handovers cost more CPU than they bought (a thread waiting on AWS releases the GIL
anyway). A process that answers Slack (the web workers, Socket Mode) is left as it is: there a
thread waiting 50 ms for the GIL is a person waiting.

A command that runs once and ends (the terminal scan) also keeps the collector off while it
loads, and freezes what it loaded (`loading`); it is tuned only then, since the scan's threads
send their requests while it loads.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SCAN_GC_THRESHOLDS = (50_000, 20, 100)
SCAN_SWITCH_INTERVAL = 0.05  # seconds


def tune_for_scanning() -> None:
    gc.set_threshold(*SCAN_GC_THRESHOLDS)
    sys.setswitchinterval(SCAN_SWITCH_INTERVAL)


@contextmanager
def loading() -> Iterator[Callable[[], None]]:
    """The collector off while a one-shot command loads its libraries (boto3, SQLAlchemy and the
    models, botocore's service models) and opens its database; the callable it yields, called
    once that is done, freezes every object built so far (gc.freeze) and turns the collector
    back on. Those objects live as long as the process: the passes over them while loading
    free next to nothing, and the interpreter's last collection at exit walks every object
    not frozen. On the terminal scan of 300 users both cost about a quarter of its CPU. What
    is frozen is never collected: an object that must be closed is closed by its owner, and
    the answers of a scan still under way when `loaded` is called are freed when dropped, as
    ever, unless they hold a cycle (then at exit)."""
    enabled = gc.isenabled()
    gc.disable()

    def loaded() -> None:
        gc.freeze()
        if enabled:
            gc.enable()

    try:
        yield loaded
    finally:
        if enabled:  # loading failed, or loaded() was called already
            gc.enable()
