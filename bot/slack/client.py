"""The bot's Slack Web API client, who the approvers are, and who owns an IAM user in Slack."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackObjectFormationError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.domain.rule import EMAIL_PATTERN, SLACK_USER_ID_PATTERN
from bot.domain.settings import Settings
from bot.slack.messages.text import literal, mention

log = logging.getLogger(__name__)

# Membership of the approver group is trusted this long; after that, a group Slack cannot read
# lets nobody from it act (fail closed) until it can be read again.
APPROVER_GROUP_TTL = 60.0
# Slack's answers refusing a message for what it holds: sent again as it is, it is refused again.
REFUSED_MESSAGE = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "invalid_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
    }
)


class ApproversUnknown(RuntimeError):
    """The approver group could not be read from Slack, and what was known is too old."""


def make_client(settings: Settings) -> WebClient:
    """A WebClient that waits out HTTP 429 (Retry-After), tries a call again once after a
    connection error unless it may have posted a message (`ConnectionRetry`), and honours
    SLACK_API_URL."""
    base_url = settings.slack_api_url or WebClient.BASE_URL
    return WebClient(
        token=settings.slack_bot_token,
        timeout=15,
        base_url=base_url,
        retry_handlers=[ConnectionRetry(), RateLimitErrorRetryHandler(max_retry_count=3)],
    )


class ConnectionRetry(ConnectionErrorRetryHandler):
    """slack_sdk's one retry after a connection error, but not for a chat.postMessage that may
    have reached Slack (the connection reset or closed unanswered): Slack may have taken it and
    only its answer been lost, and posting it again would show it twice. Such a post fails; the
    sweep looks for it in the channel before posting anything again."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.partition("?")[0].endswith("/chat.postMessage") and not _never_sent(error):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def _never_sent(error: Exception | None) -> bool:
    """The connection was never made (refused, or no such host): Slack saw nothing."""
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def slack_error(error: SlackClientError | OSError) -> str:
    """One line on a failed Slack call: Slack's answer, that the bot made what slack_sdk would
    not send (it raises that before asking Slack anything), or that Slack could not be reached."""
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error', 'an error')}"
    if isinstance(error, SlackObjectFormationError):
        return f"I made a message Slack would refuse, a fault of mine ({error})"
    return f"Slack could not be reached ({type(error).__name__})"


def answered(error: SlackClientError | OSError) -> str | None:
    """Slack's error code, when Slack answered one."""
    if isinstance(error, SlackApiError):
        code = error.response.get("error")
        return code if isinstance(code, str) else None
    return None


def refusal(error: SlackClientError | OSError) -> str | None:
    """Slack's error when it refused a message for what the message holds; None when the call
    may succeed later as it is (rate limits, Slack's own errors, the network, a channel the bot
    is not in yet)."""
    code = answered(error)
    return code if code in REFUSED_MESSAGE else None


class Members:
    """Who is in a Slack user group or channel, read from Slack and trusted for
    APPROVER_GROUP_TTL seconds; after that, a list Slack cannot read is unknown (ApproversUnknown:
    fail closed) until it can be read again."""

    def __init__(
        self,
        fetch: Callable[[], frozenset[str]],
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._what, self._clock = fetch, what, clock
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None

    def __contains__(self, user_id: object) -> bool:
        return user_id in self.everyone()

    def everyone(self) -> frozenset[str]:
        """The members (read again when older than APPROVER_GROUP_TTL); ApproversUnknown when
        Slack cannot say."""
        with self._lock:
            fresh = (
                self._fetched_at is not None
                and self._clock() - self._fetched_at < APPROVER_GROUP_TTL
            )
            if not fresh:
                try:
                    self._members = self._fetch()
                except (SlackClientError, OSError) as error:
                    log.warning("%s lookup failed: %s", self._what, error)
                    raise ApproversUnknown(
                        f"I could not read the {self._what} from Slack just now, so nothing "
                        "was done. Please try again in a minute."
                    ) from None
                self._fetched_at = self._clock()
            return self._members


class Approvers:
    """Who may press channel buttons: listed user ids, and members of one user group."""

    def __init__(
        self, settings: Settings, client: WebClient, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._users = settings.slack_approvers
        self._group = settings.slack_approver_group
        group = self._group or ""

        def fetch() -> frozenset[str]:
            return frozenset(client.usergroups_users_list(usergroup=group).get("users", []))

        self._members = Members(fetch, "approver group", clock)

    @property
    def configured(self) -> bool:
        return bool(self._users or self._group)

    def allows(self, user_id: str) -> bool:
        """Whether this person may act; ApproversUnknown when that depends on a group Slack
        could not tell us about in the last APPROVER_GROUP_TTL seconds."""
        return user_id in self._users or (bool(self._group) and user_id in self._members)

    def everyone(self) -> frozenset[str]:
        """The listed approvers and the group's members (only the listed ones when Slack cannot
        say who is in the group)."""
        if not self._group:
            return self._users
        try:
            return self._users | self._members.everyone()
        except ApproversUnknown:
            return self._users


def channel_members(
    client: WebClient, channel: str | None, clock: Callable[[], float] = time.monotonic
) -> Members:
    """The members of the findings channel (who may read its findings with list and show)."""

    def fetch() -> frozenset[str]:
        if not channel:
            return frozenset()
        pages = client.conversations_members(channel=channel, limit=1000)
        return frozenset(member for page in pages for member in page.get("members", []))

    return Members(fetch, "findings channel's members", clock)


class ChannelPace:
    """This process's posts to one channel, `interval` seconds apart, counted from Slack's
    answer to the one before (so no burst reaches Slack however the calls were delayed on the
    way). Other processes pace their own; a 429 that still comes is waited out (Retry-After)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._guard = threading.Lock()
        self._turns: dict[str, threading.Lock] = {}
        self._next: dict[str, float] = {}

    @contextmanager
    def turn(self, channel: str) -> Iterator[None]:
        """This channel's next slot: wait for it, post inside, and the next slot is set."""
        if not self._interval:
            yield
            return
        with self._guard:
            lock = self._turns.setdefault(channel, threading.Lock())
        with lock:
            time.sleep(max(0.0, self._next.get(channel, 0.0) - time.monotonic()))
            try:
                yield
            finally:
                self._next[channel] = time.monotonic() + self._interval


# chat.update is Tier 3: about 50 calls a minute for the app in a workspace
# (https://api.slack.com/docs/rate-limits). The scanner's edits keep to 40, leaving room for
# the web process's (a click redraws its message).
EDITS_PER_MINUTE = 40


class MethodPace:
    """At most `calls` calls in any `window` seconds (0: no limit), and none while Slack said
    to wait (a 429's Retry-After)."""

    def __init__(self, calls: int, window: float) -> None:
        self._calls, self._window = calls, window
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._until = 0.0

    def wait(self) -> None:
        """Wait for a free slot, and take it."""
        with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self._window:
                    self._sent.popleft()
                free = max(self._until, self._sent[0] + self._window if self._full else now)
                if free <= now:
                    break
                time.sleep(free - now)
            if self._window:
                self._sent.append(now)

    @property
    def _full(self) -> bool:
        return bool(self._window) and len(self._sent) >= self._calls

    def hold(self, seconds: float) -> None:
        """Slack answered 429 with Retry-After `seconds`: nothing more before then."""
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)


def retry_after(error: SlackClientError | OSError) -> float | None:
    """The seconds Slack asked to wait when it answered 429 (after the client's own retries)."""
    if isinstance(error, SlackApiError) and error.response.status_code == 429:
        headers = {name.lower(): value for name, value in (error.response.headers or {}).items()}
        value = headers.get("retry-after", "1")
        return float(value[0] if isinstance(value, list) else value)
    return None


@dataclass(frozen=True)
class OwnerContact:
    slack_id: str | None
    reachable: bool  # an active Slack account the bot can DM
    why_not: str = ""  # for the record when the approver's word is final


def email_of(client: WebClient, user_id: str) -> str | None:
    """The email on this person's Slack profile (None when it shows none); raises what the
    Web API raises when Slack cannot answer."""
    return (client.users_info(user=user_id)["user"].get("profile") or {}).get("email")


# A person's name is read from Slack once an hour at most: it is for the record, not a check.
NAME_TTL = 3600.0


class People:
    """People's names in Slack (users.info), for the record of what they did: cached, and None
    when Slack cannot say (the id is recorded all the same)."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._clock = client, clock
        self._lock = threading.Lock()
        self._names: dict[str, tuple[str | None, float]] = {}

    def name_of(self, user_id: str) -> str | None:
        with self._lock:
            known = self._names.get(user_id)
        if known is not None and self._clock() - known[1] < NAME_TTL:
            return known[0]
        try:
            user = self._client.users_info(user=user_id)["user"]
        except (SlackClientError, OSError) as error:
            log.info("the name of %s could not be read: %s", user_id, slack_error(error))
            return known[0] if known else None
        profile = user.get("profile") or {}
        name = user.get("real_name") or profile.get("real_name") or user.get("name") or None
        with self._lock:
            self._names[user_id] = (name, self._clock())
        return name


# Deactivated accounts are read from users.list (Tier 2, a page per 200 people) at most this
# often: a person who leaves is rarely an owner asked within the hour.
DEACTIVATED_TTL = 3600.0


class OwnerDirectory:
    """The Slack account of an IAM user's owner, from its owner tag (a Slack user id or an
    email).

    users.lookupByEmail does not find deactivated accounts (it answers users_not_found, as for
    an email Slack never knew), so before an owner is called "has no Slack account" the email is
    looked for among the workspace's deactivated accounts, read with users.list and cached."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._clock = client, clock
        self._lock = threading.Lock()
        self._deactivated: dict[str, str] = {}  # email (lower case) -> user id
        self._read_at: float | None = None

    def contact(self, owner: str | None) -> OwnerContact:
        """Raises what the Web API raises when Slack cannot answer the lookup itself."""
        if not owner:
            return OwnerContact(None, False, "The owner of this IAM user is unknown")
        try:
            if SLACK_USER_ID_PATTERN.fullmatch(owner):
                user = self._client.users_info(user=owner)["user"]
            elif EMAIL_PATTERN.fullmatch(owner):
                user = self._client.users_lookupByEmail(email=owner)["user"]
            else:
                return OwnerContact(None, False, f"The owner {literal(owner)} is not a Slack user")
        except SlackApiError as error:
            if answered(error) not in ("users_not_found", "user_not_found"):
                raise
            left = self._deactivated_id(owner)
            if left is None:
                return OwnerContact(None, False, f"The owner {literal(owner)} has no Slack account")
            user = {"id": left, "deleted": True}
        if user.get("deleted"):
            return OwnerContact(
                user["id"], False, f"The owner {mention(user['id'])} has left (deactivated)"
            )
        return OwnerContact(user["id"], True)

    def _deactivated_id(self, email: str) -> str | None:
        """The deactivated account with this email, if Slack can say; when users.list cannot be
        read the owner reads as having no account: either way the approver's word is final."""
        with self._lock:
            stale = self._read_at is None or self._clock() - self._read_at >= DEACTIVATED_TTL
            if stale:
                try:
                    self._deactivated = self._read_deactivated()
                except (SlackClientError, OSError) as error:
                    log.warning("deactivated Slack accounts could not be read: %s", error)
                else:
                    self._read_at = self._clock()
            return self._deactivated.get(email.lower())

    def _read_deactivated(self) -> dict[str, str]:
        found = {}
        for page in self._client.users_list(limit=200):
            for user in page.get("members", []):
                email = (user.get("profile") or {}).get("email")
                if user.get("deleted") and email:
                    found[email.lower()] = user["id"]
        return found
