"""The bot's Slack Web API client, who the approvers are, and who owns an IAM user in Slack."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.domain.rule import EMAIL_PATTERN, SLACK_USER_ID_PATTERN
from bot.domain.settings import Settings
from bot.slack.messages.text import literal, mention

log = logging.getLogger(__name__)

# Membership of the approver group is trusted this long; after that, a group Slack cannot read
# lets nobody from it act (fail closed) until it can be read again.
APPROVER_GROUP_TTL = 60.0


class ApproversUnknown(RuntimeError):
    """The approver group could not be read from Slack, and what was known is too old."""


def make_client(settings: Settings) -> WebClient:
    """A WebClient that waits out HTTP 429 (Retry-After) and honours SLACK_API_URL."""
    base_url = settings.slack_api_url or WebClient.BASE_URL
    client = WebClient(token=settings.slack_bot_token, timeout=15, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def slack_error(error: SlackClientError | OSError) -> str:
    """One line on a failed Slack call: Slack's answer, or that it could not be reached."""
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error', 'an error')}"
    return f"Slack could not be reached ({type(error).__name__})"


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
            return user_id in self._members


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


@dataclass(frozen=True)
class OwnerContact:
    slack_id: str | None
    reachable: bool  # an active Slack account the bot can DM
    why_not: str = ""  # for the record when the approver's word is final


def email_of(client: WebClient, user_id: str) -> str | None:
    """The email on this person's Slack profile (None when it shows none); raises what the
    Web API raises when Slack cannot answer."""
    return (client.users_info(user=user_id)["user"].get("profile") or {}).get("email")


def resolve_owner(client: WebClient, owner: str | None) -> OwnerContact:
    """The owner's Slack account from the tag value (a Slack user id or an email)."""
    if not owner:
        return OwnerContact(None, False, "The owner of this IAM user is unknown")
    try:
        if SLACK_USER_ID_PATTERN.match(owner):
            user = client.users_info(user=owner)["user"]
        elif EMAIL_PATTERN.match(owner):
            user = client.users_lookupByEmail(email=owner)["user"]
        else:
            return OwnerContact(None, False, f"The owner {literal(owner)} is not a Slack user")
    except SlackApiError as error:
        if error.response.get("error") in ("users_not_found", "user_not_found"):
            why = f"The owner {literal(owner)} has no Slack account"
            return OwnerContact(None, False, why)
        raise
    if user.get("deleted"):
        return OwnerContact(
            user["id"], False, f"The owner {mention(user['id'])} has left (deactivated)"
        )
    return OwnerContact(user["id"], True)
