"""A local stand-in for the Slack Web API: records every call and answers like Slack.

The bot's real WebClient talks to it over HTTP (SLACK_API_URL), so retries, serialization and
error handling all run as in production.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

POLL = 0.01  # how often a server looks for its shutdown: `stop` waits that long, once a test
TRIGGER_LIFETIME = 3.0  # seconds Slack accepts a trigger_id for views.open
MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
MESSAGE_TEXT = 40_000
SPECIAL_PARSING = re.compile(r"<(?:[@#!]|https?:|mailto:)[^>]*>?")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
POSTS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
VIEWS = ("views.open", "views.update", "views.publish")


def dm_channel(user: str) -> str:
    """The id of the bot's DM with `user`, as conversations.open answers here."""
    return "D" + user[1:]


def fresh_trigger() -> str:
    """A trigger id as a click hands out: it says when it was made (see TRIGGER_LIFETIME)."""
    return f"{time.time():.3f}.trigger"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)

    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.params.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    def text_of_blocks(self) -> str:
        return json.dumps(self.blocks())

    def view_text(self) -> str:
        view = self.params.get("view")
        return view if isinstance(view, str) else json.dumps(view)


@dataclass
class SlackStandIn:
    """Users by id; emails map to ids; groups map to member ids. Calls are recorded in order."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    socket_url: str = ""  # what apps.connections.open hands out (Socket Mode)
    fail: dict[str, str] = field(default_factory=dict)  # method -> Slack error to answer
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> HTTP 429s to answer
    server_errors: dict[str, int] = field(default_factory=dict)  # method -> HTTP 500s to answer
    # method -> an event its calls wait for before Slack answers (a slow Slack, held at will)
    held: dict[str, threading.Event] = field(default_factory=dict)
    # channel -> its members: an ephemeral there to anyone else is refused, as Slack does
    channels: dict[str, set[str]] = field(default_factory=dict)
    # Messages a channel takes per second (0: no limit). Slack takes about one; a post sooner
    # than that after the channel's last one is answered 429 with Retry-After, as Slack does.
    channel_rate: float = 0.0
    # Seconds every call waits before Slack answers (a slow Slack), except the methods in
    # `answered_at_once`
    latency: float = 0.0
    answered_at_once: frozenset[str] = frozenset()
    # What Slack would refuse or show wrongly (invalid blocks, a broken mention): the standin
    # fixture fails any test whose bot sent one.
    problems: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._lock = threading.Condition()
        self._last_post: dict[str, float] = {}  # channel -> when it last took a message
        self.parents: dict[str, str | None] = {}  # message ts -> its thread's parent, if a reply
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path, _, query = self.path.partition("?")
                params = {k: v[0] for k, v in parse_qs(query).items()}
                method = path.strip("/").removeprefix("api/")
                standin.delay(method)
                self.send_answer(standin.answer(method, params))

            def send_answer(self, answer: dict[str, Any]) -> None:
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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
                method = self.path.strip("/").removeprefix("api/")
                standin.delay(method)
                retry_after = standin.retry_after(method, params)
                if retry_after:
                    standin.answer(f"429/{method}", params)
                    self.send_response(429)
                    self.send_header("Retry-After", str(retry_after))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if standin.server_errors.get(method, 0) > 0:
                    standin.server_errors[method] -= 1
                    standin.answer(f"500/{method}", params)
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_answer(standin.answer(method, params))

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
        return f"http://127.0.0.1:{self.server.server_port}/response/{name}"

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
                return 0
            channel, now = params.get("channel", ""), time.monotonic()
            wait = self._last_post.get(channel, -math.inf) + 1 / self.channel_rate - now
            if wait > 0:
                return max(1, math.ceil(wait))
            self._last_post[channel] = now
            return 0

    def add_user(self, user_id: str, email: str | None = None, deleted: bool = False) -> None:
        self.users[user_id] = {"id": user_id, "deleted": deleted, "profile": {"email": email}}

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        call = Call(method, params)
        call.answer = self._answer(method, params)
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
        return call.answer

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        refusal = self._refusal(method, params)
        if refusal is not None:
            return {"ok": False, "error": refusal}
        if method.startswith(("response/", "upload/", "429/", "500/")):
            return {"ok": True}
        match method:
            case "auth.test":
                return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0TEAM"}
            case "chat.postMessage":
                ts = f"{next(self._ts)}.0001"
                self.parents[ts] = params.get("thread_ts")
                return {"ok": True, "channel": params.get("channel"), "ts": ts}
            case "chat.update":
                return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": f"{next(self._ts)}.0002"}
            case "conversations.open":
                return {"ok": True, "channel": {"id": dm_channel(params.get("users", ""))}}
            case "users.info":
                user = self.users.get(params.get("user", ""))
                return (
                    {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
                )
            case "users.lookupByEmail":
                for user in self.users.values():
                    if user["profile"]["email"] == params.get("email"):
                        return {"ok": True, "user": user}
                return {"ok": False, "error": "users_not_found"}
            case "conversations.members":
                members = self.channels.get(params.get("channel", ""))
                if members is None:
                    return {"ok": False, "error": "channel_not_found"}
                return {"ok": True, "members": sorted(members), "response_metadata": {}}
            case "usergroups.users.list":
                return {"ok": True, "users": self.groups.get(params.get("usergroup", ""), [])}
            case "apps.connections.open":
                return {"ok": True, "url": self.socket_url}
            case "views.open" | "views.update":
                return {"ok": True, "view": {"id": "V0MODAL", "hash": "1.hash"}}
            case "files.getUploadURLExternal":
                upload_url = f"http://127.0.0.1:{self.server.server_port}/upload/F0CHART"
                return {"ok": True, "upload_url": upload_url, "file_id": "F0CHART"}
            case "files.completeUploadExternal":
                return {"ok": True, "files": [{"id": "F0CHART"}]}
            case "files.info":
                return {"ok": True, "file": {"id": "F0CHART"}}
        return {"ok": True}

    def _refusal(self, method: str, params: dict[str, Any]) -> str | None:
        """Slack's answer to what it would not accept; None when it accepts the call."""
        if method == "chat.postEphemeral":
            members = self.channels.get(params.get("channel", ""))
            if members is not None and params.get("user") not in members:
                return "user_not_in_channel"
        if method == "views.open":
            made = (params.get("trigger_id") or "").split(".trigger")[0]
            try:
                if time.time() - float(made) > TRIGGER_LIFETIME:
                    return "expired_trigger_id"
            except ValueError:
                return "invalid_trigger_id"
        if method in POSTS or method.startswith("response/"):
            problem = _message_problem(params) or self._thread_problem(params)
            if problem:
                self.problems.append(f"{method}: {problem}")
                return "invalid_blocks"
        if method in VIEWS:
            view = params.get("view")
            problem = _view_problem(json.loads(view) if isinstance(view, str) else view or {})
            if problem:
                self.problems.append(f"{method}: {problem}")
                return "invalid_arguments"
        return None

    def _thread_problem(self, params: dict[str, Any]) -> str | None:
        thread = params.get("thread_ts")
        if thread and self.parents.get(thread):  # Slack asks for the parent's ts, not a reply's
            return f"thread_ts {thread} is a reply in the thread of {self.parents[thread]}"
        return None

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
        """Every line `user` alone was shown (Slack accepted it): ephemerals and DMs."""
        dm = {user, dm_channel(user)}
        lines = [
            call.params.get("text", "")
            for call in self.calls
            if call.answer.get("ok")
            and (
                (call.method == "chat.postEphemeral" and call.params.get("user") == user)
                or (call.method == "chat.postMessage" and call.params.get("channel") in dm)
            )
        ]
        return "\n".join(lines)

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` wait until the returned event is set."""
        self.held[method] = threading.Event()
        return self.held[method]

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


def _message_problem(params: dict[str, Any]) -> str | None:
    blocks = params.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    text = params.get("text") or ""
    if len(text) > MESSAGE_TEXT:
        return f"text of {len(text)} characters"
    return _blocks_problem(blocks, MESSAGE_BLOCKS) or _mention_problem(text + json.dumps(blocks))


def _view_problem(view: dict[str, Any]) -> str | None:
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as error:
        return f"view: {error}"
    if view.get("type") == "modal" and not view.get("title"):
        return "a modal needs a title"
    blocks = view.get("blocks") or []
    return _blocks_problem(blocks, VIEW_BLOCKS) or _mention_problem(json.dumps(blocks))


def _blocks_problem(blocks: list[dict[str, Any]], limit: int) -> str | None:
    if len(blocks) > limit:
        return f"{len(blocks)} blocks (at most {limit})"
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    if len(block_ids) != len(set(block_ids)):
        return f"repeated block_id in {block_ids}"
    for block in blocks:
        action_ids = [
            element["action_id"] for element in _elements(block) if "action_id" in element
        ]
        if len(action_ids) != len(set(action_ids)):  # unique within their block, says Slack
            return f"repeated action_id in {action_ids}"
        parsed = Block.parse(block)
        if parsed is None:
            return f"unknown block {block.get('type')!r}"
        try:
            parsed.validate_json()
        except SlackObjectFormationError as error:
            return f"{block.get('type')} block: {error}"
        if problem := _text_problem(block):
            return f"{block.get('type')} block: {problem}"
    return None


def _text_problem(node: Any, limit: int = 3000) -> str | None:
    """Slack's refusals in a text object, however deep: empty, over 3,000 characters (2,000 in a
    section's fields), or plain_text with special parsing (`<!channel>`): invalid_blocks."""
    if not isinstance(node, dict):
        items = node if isinstance(node, list) else []
        return next(filter(None, (_text_problem(item, limit) for item in items)), None)
    kind, text = node.get("type"), str(node.get("text", ""))
    special = kind == "plain_text" and SPECIAL_PARSING.search(text)
    if kind in ("plain_text", "mrkdwn") and (special or not 1 <= len(text) <= limit):
        return f"{kind} {text[:80]!r} of {len(text)} characters"
    found = (_text_problem(value, 2000 if key == "fields" else 3000) for key, value in node.items())
    return next(filter(None, found), None)


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(block.get("elements") or [])
    return found + [block[key] for key in ("accessory", "element") if key in block]


def _mention_problem(text: str) -> str | None:
    for target in re.findall(r"<([@!][^>|]*)", text):
        if target.startswith("@") and not USER_ID.match(target[1:]):
            return f"<{target}> mentions something that is not a user id"
        if target in ("!channel", "!here", "!everyone"):
            return f"<{target}> pings everyone"
    return None
