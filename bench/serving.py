"""A benchmark's server in a process of its own (a seeded moto, a pre-rendered Organization), so
that the simulated AWS does its work on another core, as real AWS does on its own servers. The
server prints its port, then serves until its standard input closes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def served(module: str, *args: object) -> Iterator[str]:
    """`python -m MODULE ARGS` while the block runs; yields its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        server.stdin.close()
        server.wait(timeout=30)
