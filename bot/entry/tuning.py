"""The interpreter set for scanning, once, by the entry point of a process whose work is scanning
(the scanner process and the terminal scan), never by library code: it is the process's.

Python's cyclic garbage collector runs less often: parsing AWS's answers and recording them
allocate millions of short-lived objects, and a collection every 700 of them cost a third of a
200-account scan's CPU. Reference counting frees memory as before; cycles wait a little longer.
And a thread keeps the GIL for 50 ms rather than 5 before it must hand it over: with 24 accounts
in flight, the handovers cost more CPU than they bought (a thread waiting on AWS releases the GIL
anyway). A process that answers Slack (the web workers, Socket Mode) is left as it is: there a
thread waiting 50 ms for the GIL is a person waiting.
"""

from __future__ import annotations

import gc
import sys

SCAN_GC_THRESHOLDS = (50_000, 20, 100)
SCAN_SWITCH_INTERVAL = 0.05  # seconds


def tune_for_scanning() -> None:
    gc.set_threshold(*SCAN_GC_THRESHOLDS)
    sys.setswitchinterval(SCAN_SWITCH_INTERVAL)
