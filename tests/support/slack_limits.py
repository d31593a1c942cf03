"""How much Slack takes, as the stand-in enforces it: each method's rate limit tier, a response
URL's lifetime and uses, and a trigger id's one use.

Rate limits are per method, per app and workspace (https://api.slack.com/docs/rate-limits):
Tier 2 takes about 20 calls a minute, Tier 3 about 50, Tier 4 about 100; a call beyond that is
answered HTTP 429 with Retry-After and `{"ok": false, "error": "ratelimited"}`. chat.postMessage
is a special tier (about one message a second a channel: the stand-in's `channel_rate`).
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from urllib.parse import parse_qs

TIER_2, TIER_3, TIER_4 = 20, 50, 100
PER_MINUTE = {
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.open": TIER_3,
    "conversations.members": TIER_4,
    "users.info": TIER_4,
    "users.lookupByEmail": TIER_3,
    "users.list": TIER_2,
    "usergroups.users.list": TIER_2,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}
# A command's or a click's response URL takes 5 answers within 30 minutes
# (https://api.slack.com/interactivity/handling#message_responses).
RESPONSE_URL_LIFETIME = 30 * 60.0
RESPONSE_URL_USES = 5
TRIGGER_LIFETIME = 3.0  # seconds Slack accepts a trigger_id for views.open
_triggers = itertools.count()


def fresh_trigger() -> str:
    """A trigger id as a click hands out: it says when it was made (see TRIGGER_LIFETIME), and
    is unique (two clicks in one millisecond get two)."""
    return f"{time.time():.3f}.trigger.{next(_triggers)}"


class Tiers:
    """Each method's calls in the last minute (`second` scales Slack's second, for benchmarks);
    `enabled` False takes everything."""

    def __init__(self, second: float = 1.0, enabled: bool = True) -> None:
        self.second, self.enabled = second, enabled
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def retry_after(self, method: str) -> int:
        """0 when Slack takes the call now; else the seconds Slack asks the caller to wait."""
        limit = PER_MINUTE.get(method)
        if not self.enabled or limit is None:
            return 0
        window, now = 60 * self.second, time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(method, deque())
            while calls and now - calls[0] >= window:
                calls.popleft()
            if len(calls) >= limit:
                return max(1, math.ceil(calls[0] + window - now))
            calls.append(now)
            return 0


class ResponseUrls:
    """The response URLs handed out (each with an id of its own), when and how often used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._made: dict[str, float] = {}
        self._uses: dict[str, int] = {}

    def issue(self) -> str:
        """A new URL's query string."""
        number = str(next(self._ids))
        with self._lock:
            self._made[number] = time.time()
        return f"n={number}"

    def age(self, seconds: float) -> None:
        """Every URL handed out so far made `seconds` earlier (time passing, as for a long scan)."""
        with self._lock:
            self._made = {number: made - seconds for number, made in self._made.items()}

    def refusal(self, query: str) -> str | None:
        """Slack's answer to one more use of this URL, None when it takes it."""
        number = (parse_qs(query).get("n") or [""])[0]
        with self._lock:
            made = self._made.get(number)
            if made is None:
                return None  # a URL not handed out here (a test's own): taken
            if time.time() - made > RESPONSE_URL_LIFETIME:
                return "expired_url"
            self._uses[number] = self._uses.get(number, 0) + 1
            return "used_url" if self._uses[number] > RESPONSE_URL_USES else None


class Triggers:
    """trigger_ids exchanged for a view: each works once, within TRIGGER_LIFETIME."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: set[str] = set()

    def refusal(self, trigger: str) -> str | None:
        try:
            made = float(trigger.split(".trigger")[0])
        except ValueError:
            return "invalid_trigger_id"
        with self._lock:
            if trigger in self._used:
                return "exchanged_trigger_id"
            if time.time() - made > TRIGGER_LIFETIME:
                return "expired_trigger_id"
            self._used.add(trigger)
            return None
