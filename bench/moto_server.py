"""A moto HTTP server in its own process, seeded with a benchmark account.

Run by bench/scan.py and bench/scale.py so that the simulated AWS does its work on another core,
as real AWS does on its own servers, and the bot's side is what the benchmark times. Arguments:
the users, now, and optionally how many access keys each user has. Prints the port, then serves
until its standard input closes.
"""

from __future__ import annotations

import sys
from datetime import datetime

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from bench.accounts import seed_account


def main() -> None:
    keys_each = int(sys.argv[3]) if len(sys.argv) > 3 else None
    seed_account(int(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), keys_each=keys_each)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
