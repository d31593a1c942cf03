"""A local stand-in for the Slack Web API: records every call and answers like Slack.

The bot's real WebClient talks to it over HTTP (SLACK_API_URL), so retries, serialization and
error handling all run as in production.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.support.slack_history import HISTORY_SCOPES, History, manifest_scopes
from tests.support.slack_limits import ResponseUrls, Tiers, Triggers, fresh_trigger
from tests.support.slack_reading import Call, Reading, dm_channel
from tests.support.slack_rules import message_problem, view_problem

__all__ = ["Call", "SlackStandIn", "dm_channel", "fresh_trigger"]

POLL = 0.01  # how often a server looks for its shutdown: `stop` waits that long, once a test
POSTS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
VIEWS = ("views.open", "views.update", "views.publish")
READING = ("conversations.history", "conversations.replies")
# What Slack answers a bot posting where it is not a member (or that it cannot see)
ABSENT = "not_in_channel"


@dataclass
class SlackStandIn(Reading):
    """Users by id; emails map to ids; groups map to member ids. Calls are recorded in order."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    socket_url: str = ""  # what apps.connections.open hands out (Socket Mode)
    fail: dict[str, str] = field(default_factory=dict)  # method -> Slack error to answer
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> HTTP 429s to answer
    server_errors: dict[str, int] = field(default_factory=dict)  # method -> HTTP 500s to answer
    # Which calls Slack carries out but whose answer is lost on the way back: the connection
    # closes unanswered or, with `lost_status`, a gateway answers that status (a 504, ...)
    lose_answer: Callable[[str, dict[str, Any]], bool] = lambda _method, _params: False
    lost_status: int = 0
    # What Slack refuses in a message: text its posts must not hold -> Slack's error for it
    refused_content: dict[str, str] = field(default_factory=dict)
    # The bot token's scopes (the manifest's): reading a conversation's history needs one
    scopes: frozenset[str] = field(default_factory=manifest_scopes)
    # method -> an event its calls wait for before Slack answers (a slow Slack, held at will)
    held: dict[str, threading.Event] = field(default_factory=dict)
    # channel -> its members: an ephemeral there to anyone else is refused, as Slack does
    channels: dict[str, set[str]] = field(default_factory=dict)
    # Messages a channel takes per second (0: no limit). Slack takes about one; a post sooner
    # than that after the channel's last one is answered 429 with Retry-After, as Slack does.
    channel_rate: float = 0.0
    # Each method's tier (tests/support/slack_limits.py): 429 beyond it, as Slack answers
    tiers: Tiers = field(default_factory=Tiers)
    # Channels the bot is not a member of: posting there is refused (not_in_channel)
    absent_from: set[str] = field(default_factory=set)
    # Seconds every call waits before Slack answers (a slow Slack), except the methods in
    # `answered_at_once`
    latency: float = 0.0
    answered_at_once: frozenset[str] = frozenset()
    # What Slack would refuse or show wrongly (invalid blocks, a broken mention): the standin
    # fixture fails any test whose bot sent one.
    problems: list[str] = field(default_factory=list)
    # Ephemerals Slack took but shows nobody (in a thread without replies): lost, and the
    # standin fixture fails a test whose bot sent one, as for `problems`.
    unseen: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._lock = threading.Condition()
        self._last_post: dict[str, float] = {}  # channel -> when it last took a message
        self.history = History()
        self.open_views: dict[str, str] = {}  # view id -> its hash, until the person closes it
        self.response_urls, self.triggers = ResponseUrls(), Triggers()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path, _, query = self.path.partition("?")
                self.handle_call(path, {k: v[0] for k, v in parse_qs(query).items()})

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                if self.path.startswith("/upload/"):  # a file body, as files_upload_v2 sends it
                    params = {"bytes": len(data), "png": data.startswith(b"\x89PNG"), "data": data}
                    standin.answer(self.path.strip("/"), params)
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                raw = data.decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                path, _, query = self.path.partition("?")
                if path.startswith("/response/"):  # which response URL: its uses are counted
                    params = {**params, "_url": query}
                self.handle_call(path, params)

            def handle_call(self, path: str, params: dict[str, Any]) -> None:
                method = path.strip("/").removeprefix("api/")
                standin.delay(method)
                retry_after = standin.retry_after(method, params)
                if retry_after:
                    standin.answer(f"429/{method}", params)
                    self.send_answer({"ok": False, "error": "ratelimited"}, 429, retry_after)
                    return
                if standin.server_errors.get(method, 0) > 0:
                    standin.server_errors[method] -= 1
                    standin.answer(f"500/{method}", params)
                    self.send_status(500)
                    return
                call = standin.take(method, params)
                if call.lost:
                    if standin.lost_status:
                        self.send_status(standin.lost_status)
                    return  # unanswered: the connection closes
                self.send_answer(call.answer)

            def send_answer(
                self, answer: dict[str, Any], status: int = 200, retry_after: int = 0
            ) -> None:
                body = json.dumps(answer).encode()
                self.send_response(status)
                if retry_after:
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def send_status(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve = partial(self.server.serve_forever, poll_interval=POLL)
        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/"

    def response_url(self, name: str = "respond") -> str:
        """A new response URL (each counts its own uses); its calls are named `response/name`."""
        port = self.server.server_port
        return f"http://127.0.0.1:{port}/response/{name}?{self.response_urls.issue()}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delay(self, method: str) -> None:
        if method in self.held:
            self.held[method].wait(60)
        if self.latency and method not in self.answered_at_once:
            time.sleep(self.latency)

    def retry_after(self, method: str, params: dict[str, Any]) -> int:
        """Seconds Slack asks the caller to wait before trying again (0: it takes the call)."""
        with self._lock:
            if self.rate_limited.get(method, 0) > 0:
                self.rate_limited[method] -= 1
                return 1
            if method != "chat.postMessage" or not self.channel_rate:
                return self.tiers.retry_after(method)
            channel, now = params.get("channel", ""), time.monotonic()
            wait = self._last_post.get(channel, -math.inf) + 1 / self.channel_rate - now
            if wait > 0:
                return max(1, math.ceil(wait))
            self._last_post[channel] = now
            return 0

    def add_user(
        self, user_id: str, email: str | None = None, deleted: bool = False, name: str = ""
    ) -> None:
        profile = {"email": email, "real_name": name}
        self.users[user_id] = {
            "id": user_id,
            "deleted": deleted,
            "real_name": name,
            "profile": profile,
        }

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.take(method, params).answer

    def take(self, method: str, params: dict[str, Any]) -> Call:
        """Carry out the call and record it (and whether its answer is to be lost)."""
        url = params.pop("_url", "")
        call = Call(method, params)
        call.answer = self._answer(method, params, url)
        call.lost = bool(call.answer.get("ok")) and self.lose_answer(method, params)
        call.unseen = bool(call.answer.get("ok")) and self._unseen(method, params)
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
        return call

    def _unseen(self, method: str, params: dict[str, Any]) -> bool:
        """An ephemeral in a thread without replies: Slack shows it to nobody ("Ephemeral
        messages in threads are only shown if there is already an active thread",
        https://api.slack.com/methods/chat.postEphemeral)."""
        thread = params.get("thread_ts")
        if method != "chat.postEphemeral" or not thread or self.history.has_replies(thread):
            return False
        if not self.history.known(thread):
            return False  # a message the test made up: nothing to say about its thread
        self.unseen.append(f"ephemeral to {params.get('user')} in the reply-less thread {thread}")
        return True

    def _answer(self, method: str, params: dict[str, Any], url: str = "") -> dict[str, Any]:
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        refusal = self._refusal(method, params, url)
        if refusal is not None:
            return {"ok": False, "error": refusal}
        if method.startswith(("response/", "upload/", "429/", "500/")):
            return {"ok": True}
        match method:
            case "auth.test":
                return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0TEAM"}
            case "chat.postMessage":
                ts = self._next_ts()
                self.history.take(ts, params)
                return {"ok": True, "channel": params.get("channel"), "ts": ts}
            case "chat.update":
                self.history.update(params)
                return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            case "conversations.history":
                return self.history.history(params)
            case "conversations.replies":
                return self.history.replies(params)
            case "conversations.open":
                return {"ok": True, "channel": {"id": dm_channel(params.get("users", ""))}}
            case "users.info":
                user = self.users.get(params.get("user", ""))
                return (
                    {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
                )
            case "users.lookupByEmail":  # as Slack: deactivated accounts are not found
                for user in self.users.values():
                    if user["profile"]["email"] == params.get("email") and not user["deleted"]:
                        return {"ok": True, "user": user}
                return {"ok": False, "error": "users_not_found"}
            case "users.list":  # everyone, deactivated too, a page at a time
                people = sorted(self.users.values(), key=lambda user: user["id"])
                start, size = int(params.get("cursor") or 0), int(params.get("limit") or 200)
                following = str(start + size) if start + size < len(people) else ""
                page = people[start : start + size]
                return {
                    "ok": True,
                    "members": page,
                    "response_metadata": {"next_cursor": following},
                }
            case "conversations.members":
                members = self.channels.get(params.get("channel", ""))
                if members is None:
                    return {"ok": False, "error": "channel_not_found"}
                return {"ok": True, "members": sorted(members), "response_metadata": {}}
            case "usergroups.users.list":
                return {"ok": True, "users": self.groups.get(params.get("usergroup", ""), [])}
            case "apps.connections.open":
                return {"ok": True, "url": self.socket_url}
            case "views.open":
                return {"ok": True, "view": self._shown(f"V{next(self._ts)}")}
            case "views.update":  # as Slack: a closed view is not_found, a stale hash refused
                view_id = params.get("view_id", "")
                if view_id not in self.open_views:
                    return {"ok": False, "error": "not_found"}
                if params.get("hash") not in (None, self.open_views[view_id]):
                    return {"ok": False, "error": "hash_conflict"}
                return {"ok": True, "view": self._shown(view_id)}
            case "files.getUploadURLExternal":
                upload_url = f"http://127.0.0.1:{self.server.server_port}/upload/F0CHART"
                return {"ok": True, "upload_url": upload_url, "file_id": "F0CHART"}
            case "files.completeUploadExternal":
                return {"ok": True, "files": [{"id": "F0CHART"}]}
            case "files.info":
                return {"ok": True, "file": {"id": "F0CHART"}}
        return {"ok": True}

    def _next_ts(self) -> str:
        """A message ts as Slack makes them: the second it was taken, then a unique number."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _shown(self, view_id: str) -> dict[str, str]:
        self.open_views[view_id] = f"{next(self._ts)}.hash"
        return {"id": view_id, "hash": self.open_views[view_id]}

    def close_views(self) -> None:
        """Every open form closed, as by the person pressing Cancel."""
        self.open_views.clear()

    def _refusal(self, method: str, params: dict[str, Any], url: str = "") -> str | None:
        """Slack's answer to what it would not accept; None when it accepts the call."""
        if params.get("channel") in self.absent_from and method in (*POSTS, *READING):
            return ABSENT
        if method.startswith("response/"):
            refused = self.response_urls.refusal(url)
            if refused:  # the bot tried a URL Slack no longer takes
                self.problems.append(f"{method}: {refused}")
                return refused
        if method in READING:
            needed = HISTORY_SCOPES.get(params.get("channel", " ")[:1])
            if needed not in self.scopes:
                return "missing_scope"
        if method in POSTS:
            sent = (params.get("text") or "") + json.dumps(params.get("blocks") or "")
            for content, error in self.refused_content.items():
                if content in sent:
                    return error
        if method == "chat.postEphemeral":
            members = self.channels.get(params.get("channel", ""))
            if members is not None and params.get("user") not in members:
                return "user_not_in_channel"
        if method == "views.open":
            refused = self.triggers.refusal(params.get("trigger_id") or "")
            if refused == "exchanged_trigger_id":  # the bot used one click's trigger twice
                self.problems.append(f"{method}: {refused}")
            if refused:
                return refused
        if method in POSTS or method.startswith("response/"):
            problem = message_problem(params) or self._thread_problem(params)
            if problem:
                self.problems.append(f"{method}: {problem}")
                return "invalid_blocks"
        if method in VIEWS:
            view = params.get("view")
            problem = view_problem(json.loads(view) if isinstance(view, str) else view or {})
            if problem:
                self.problems.append(f"{method}: {problem}")
                return "invalid_arguments"
        return None

    def _thread_problem(self, params: dict[str, Any]) -> str | None:
        thread = params.get("thread_ts")
        parent = self.history.parent_of(thread) if thread else None
        if parent:  # Slack asks for the parent's ts, not a reply's
            return f"thread_ts {thread} is a reply in the thread of {parent}"
        return None

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` wait until the returned event is set."""
        self.held[method] = threading.Event()
        return self.held[method]
