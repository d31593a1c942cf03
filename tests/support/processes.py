"""Real bot processes for tests: a moto HTTP server, an AWS proxy that can hold a call, and
helpers to start `python -m bot ...` and talk to it with signed requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from slack_sdk.signature import SignatureVerifier

from tests.support.bot_harness import APPROVER, CHANNEL, SECRET
from tests.support.slack_standin import POLL, SlackStandIn

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def moto_http() -> Iterator[str]:
    """moto over HTTP, sharing this process's backend (seed it directly)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class AwsProxy:
    """Forwards AWS calls to moto, `delay` seconds late; while `hold` is set, the `held` action
    (DeleteLoginProfile) waits for `release` (forwarded then) or is swallowed, as a process dying
    mid-call sees it."""

    def __init__(
        self, upstream: str, delay: float = 0.0, held_action: str = "DeleteLoginProfile"
    ) -> None:
        self.upstream = upstream
        self.delay = delay  # seconds added to every call, as a slow AWS would
        self.hold = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()
        self.forwarded_held = 0  # the held action's calls that reached moto and succeeded
        held_body = f"Action={held_action}".encode()
        self.actions: list[str] = []  # the Query API actions forwarded, in order
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                deleting = held_body in body
                proxy.actions += parse_qs(body.decode(errors="replace")).get("Action", [])
                if deleting and proxy.hold.is_set():
                    proxy.held.set()
                    if not proxy.release.wait(60):
                        return  # the caller was killed meanwhile
                time.sleep(proxy.delay)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, payload, kind = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, payload, kind = error.code, error.read(), error.headers
                if deleting and status == 200:
                    proxy.forwarded_held += 1
                self.send_response(status)
                self.send_header("Content-Type", kind.get("Content-Type", "text/xml"))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve = partial(self.server.serve_forever, poll_interval=POLL)
        threading.Thread(target=serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TcpForwarder:
    """A TCP hop in front of a server (PostgreSQL) that can be cut: `cut()` drops every
    connection and refuses new ones, as a database host going away does; `restore()` undoes it.
    `pause()` keeps every connection open, and takes new ones, but forwards no byte either way
    until `resume()`: a database that hangs rather than refuses (its host's TCP still answers)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._flowing = threading.Event()
        self._flowing.set()
        self._at_commit = threading.Event()
        self.restore()

    def pause(self) -> None:
        self._flowing.clear()

    def pause_at_commit(self) -> None:
        """Pause the moment a client next sends COMMIT, before the server sees it: a database
        that hangs right at a transaction's end (it may commit when it is back, or not)."""
        self._at_commit.set()

    def resume(self) -> None:
        self._flowing.set()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for connection in self._open:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open += [client, upstream]
            for source, target, asks in ((client, upstream, True), (upstream, client, False)):
                pipe = threading.Thread(target=self._pipe, args=(source, target, asks), daemon=True)
                pipe.start()

    def _pipe(self, source: socket.socket, target: socket.socket, asks: bool) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if asks and self._at_commit.is_set() and b"COMMIT" in data:
                    self._at_commit.clear()
                    self._flowing.clear()
                self._flowing.wait()  # paused: held here, and what follows waits in the kernel
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bot_env(aws_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        AWS_ENDPOINT_URL=aws_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing-secret-key",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        **settings,
    )
    return env


def slack_settings(standin: SlackStandIn, database_url: str) -> dict[str, str]:
    """A bot process's Slack settings (the stand-in's) and database."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_URL": standin.url,
        "SLACK_APPROVERS": APPROVER,
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
    }


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python -m bot ARGS` in a process group of its own (so gunicorn's workers die with it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    with suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


def wait_for(condition: Callable[[], Any], timeout: float = 120, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def signed_post(port: int, body: str, secret: str) -> int:
    return signed_answer(port, body, secret)[0]


def signed_answer(port: int, body: str, secret: str, timeout: float = 30) -> tuple[int, str]:
    """POST a signed body to the bot: the HTTP status and the answer's body."""
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(
                timestamp=timestamp, body=body
            ),
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, answer.read().decode()
