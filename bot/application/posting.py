"""Posting to Slack: each channel's pace, failures recorded, and findings put in the findings
channel exactly once.

Every findings message carries its findings' ids as metadata. A post Slack took but whose
answer was lost (a dropped connection, a gateway's 504) leaves the findings without a message
ts; before they are posted again, the channel (or their thread) is read and a message found
there is adopted as theirs. A message Slack refuses for what it holds is sent again one finding
a message, so one bad finding does not hold back the others; a finding refused alone is told in
the channel, logged and audited, and not posted again (the sweep leaves it: see
`Repository.unposted_findings`). What may pass (rate limits, Slack's own errors, the network)
is left for the sweep, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.application.presence import BOT, NOT_IN_CHANNEL, ChannelPaused, Presence
from bot.domain.clock import Clock
from bot.domain.records import FindingView
from bot.domain.settings import Settings
from bot.domain.workflow import AuditAction
from bot.slack.client import (
    EDITS_PER_MINUTE,
    ChannelPace,
    MethodPace,
    answered,
    refusal,
    retry_after,
    slack_error,
)
from bot.slack.messages.blocks import Message
from bot.slack.messages.channel import batches, findings_message, refused_finding
from bot.slack.messages.finding import KeyRules
from bot.slack.posted import posted_findings
from storage.repository import Repository

log = logging.getLogger(__name__)

# How much earlier than a finding was found its message is looked for: Slack's clock and ours
# may differ.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Posting:
    """What became of findings to post: given their channel message, left to be posted again
    later, refused by Slack (told, and not posted again), or found in Slack already."""

    posted: int = 0
    retried: int = 0
    refused: int = 0
    found: int = 0
    paused: bool = False  # the bot is not in the channel: the retried wait for its invitation

    def __add__(self, other: Posting) -> Posting:
        return Posting(
            self.posted + other.posted,
            self.retried + other.retried,
            self.refused + other.refused,
            self.found + other.found,
            self.paused or other.paused,
        )


class Poster:
    """chat.postMessage and chat.update: this process's posts to each channel spaced out by
    `interval` (Slack's second), its edits kept within chat.update's tier."""

    def __init__(
        self,
        client: WebClient,
        repository: Repository,
        clock: Clock,
        interval: float,
        presence: Presence,
    ) -> None:
        self.client = client
        self._repository = repository
        self._clock = clock
        self._pace = ChannelPace(interval)
        self._edits = MethodPace(EDITS_PER_MINUTE, 60 * interval)
        self.presence = presence

    def send(
        self,
        channel: str | None,
        message: Message,
        thread_ts: str | None = None,
        *,
        broadcast: bool = False,
    ) -> str:
        """The posted message's ts; raises what the Web API raises, and ChannelPaused without
        calling Slack while the bot is not in the channel."""
        if self.presence.blocks(channel):
            raise ChannelPaused(f"posting in {channel} is paused until the bot is invited")
        with self._pace.turn(channel or ""):
            try:
                answer = self.client.chat_postMessage(
                    # No channel is sent as none (slack_sdk drops None): Slack refuses the post.
                    channel=channel,  # type: ignore[arg-type]
                    text=message.text,
                    blocks=message.blocks,
                    thread_ts=thread_ts,
                    reply_broadcast=True if broadcast else None,  # None: not sent
                    metadata=message.metadata,
                )
            except SlackClientError as error:
                code = answered(error)
                if code is not None and code in NOT_IN_CHANNEL:
                    self.presence.lost(channel, code)
                raise
        ts: str = answer["ts"]
        return ts

    def post(
        self,
        channel: str | None,
        message: Message,
        thread_ts: str | None = None,
        *,
        broadcast: bool = False,
    ) -> str | None:
        """The posted message's ts, or None when it failed (logged and audited)."""
        try:
            return self.send(channel, message, thread_ts, broadcast=broadcast)
        except (SlackClientError, OSError) as error:
            self.failed(channel, message, error)
            return None

    def failed(
        self, channel: str | None, message: Message, error: SlackClientError | OSError
    ) -> None:
        if isinstance(error, ChannelPaused) or (
            answered(error) in NOT_IN_CHANNEL and self.presence.blocks(channel)
        ):
            log.info("not posted in %s: %s", channel, error)  # the pause is audited, once
            return
        log.warning("chat.postMessage to %s failed: %s", channel, slack_error(error))
        self._repository.record_event(
            None,
            AuditAction.POST_FAILED,
            BOT,
            at=self._clock(),
            reason=slack_error(error),
            details={"channel": channel, "text": message.text[:200]},
        )

    def update(self, channel: str, ts: str, message: Message) -> bool:
        """Best effort: a message left as it was is logged. False when Slack still answered 429
        after the client's retries: no edit goes before its Retry-After."""
        self._edits.wait()
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except (SlackClientError, OSError) as error:
            log.warning("chat.update of %s/%s failed: %s", channel, ts, slack_error(error))
            wait = retry_after(error)
            if wait is not None:
                self._edits.hold(wait)
                return False
        return True


# Raises LeaseLost once this process may post findings no more (bot.application.scans.HeldLease)
LeaseCheck = Callable[[], None]


def no_lease() -> None:
    """Posting outside the scan lease (benchmarks, tests): nothing to check."""


class FindingsPoster:
    """Findings into the findings channel, each in one message (see the module's docstring)."""

    def __init__(
        self, poster: Poster, repository: Repository, settings: Settings, clock: Clock
    ) -> None:
        self._poster = poster
        self._repository = repository
        self._settings = settings
        self._clock = clock

    def unposted(self, besides: Sequence[FindingView] = ()) -> tuple[list[FindingView], Posting]:
        """Findings whose message never made it (but `besides`, not posted yet at all), less
        those found in Slack after all: their message is recorded as theirs. While Slack
        cannot be read, none: they wait for the next sweep."""
        skip = {row.id for row in besides}
        rows: list[FindingView] = [
            row for row in self._repository.unposted_findings() if row.id not in skip
        ]
        channel = self._settings.slack_channel
        if not rows or not channel:  # without a channel, posting fails and is recorded
            return rows, Posting()
        try:
            found = self._look_up(channel, rows)
        except (SlackClientError, OSError) as error:
            if answered(error) != "missing_scope":
                log.warning(
                    "%d unposted findings wait for the next sweep: reading the channel failed (%s)",
                    len(rows),
                    slack_error(error),
                )
                return [], Posting(retried=len(rows))
            log.warning(
                "posting %d findings again without looking for them in the channel (%s: the "
                "app needs channels:history, or groups:history for a private channel): one "
                "whose answer was lost shows twice",
                len(rows),
                slack_error(error),
            )
            found = {}
        self._adopt(channel, rows, found)
        return [row for row in rows if row.id not in found], Posting(found=len(found))

    def _look_up(self, channel: str, rows: list[FindingView]) -> dict[str, str]:
        """Finding id -> the ts of a message in the channel that shows it, for these rows: at
        the channel's top level since the earliest was found, and in their threads."""
        client = self._poster.client
        found: dict[str, str] = {}
        top = [row.first_seen for row in rows if row.slack_thread_ts is None]
        if top:
            oldest = (min(top) - CLOCK_SKEW).timestamp()
            found |= posted_findings(client, channel, oldest=oldest)
        for thread in sorted({row.slack_thread_ts for row in rows if row.slack_thread_ts}):
            found |= posted_findings(client, channel, thread_ts=thread)
        wanted = {row.id for row in rows}
        return {finding_id: ts for finding_id, ts in found.items() if finding_id in wanted}

    def _adopt(self, channel: str, rows: list[FindingView], found: dict[str, str]) -> None:
        """The messages found become the rows' own, as if their post had been answered."""
        messages: dict[tuple[str, str | None], list[str]] = {}
        for row in rows:
            if row.id in found:
                messages.setdefault((found[row.id], row.slack_thread_ts), []).append(row.id)
        for (ts, thread), ids in messages.items():
            log.info(
                "%d findings found already posted in %s/%s: not posted again", len(ids), channel, ts
            )
            self._repository.place_in_channel(ids, channel, ts, thread)

    def post(
        self,
        rows: list[FindingView],
        lease: LeaseCheck = no_lease,
        thread: str | None = None,
        scan_id: int | None = None,
    ) -> Posting:
        """These findings in messages of FINDINGS_PER_MESSAGE (in the thread of `thread`)."""
        posting = Posting()
        for batch in batches(rows):
            posting += self.post_batch(batch, lease, thread, scan_id)
        return posting

    def post_batch(
        self,
        batch: list[FindingView],
        lease: LeaseCheck,
        thread: str | None,
        scan_id: int | None = None,
    ) -> Posting:
        """One message of findings; refused for what it holds, one finding a message. `lease`
        is checked first: another process may be posting these by now."""
        lease()
        channel = self._settings.slack_channel
        settings = self._settings
        keys = KeyRules.of(settings, self._clock())
        message = findings_message(batch, settings.timezone, settings.dry_run, scan_id, keys=keys)
        try:
            ts = self._poster.send(channel, message, thread)
        except (SlackClientError, OSError) as error:
            refused = refusal(error) if channel else None  # no channel: not the message's fault
            if refused is None:
                self._poster.failed(channel, message, error)
                return Posting(retried=len(batch))
            if len(batch) == 1:
                self._refused(batch[0], error, thread)
                return Posting(refused=1)
            log.warning(
                "Slack refused a message of %d findings (%s): sending them one a message",
                len(batch),
                refused,
            )
            alone = (self.post_batch([row], lease, thread, scan_id) for row in batch)
            return sum(alone, Posting())
        if not channel:
            return Posting(retried=len(batch))
        self._repository.place_in_channel([row.id for row in batch], channel, ts, thread)
        return Posting(posted=len(batch))

    def _refused(
        self, row: FindingView, error: SlackClientError | OSError, thread: str | None
    ) -> None:
        """Audited first (the sweep then leaves it), logged, and told where it was to be."""
        channel, why = self._settings.slack_channel, slack_error(error)
        log.warning(
            "finding %s (%s in %s) is not posted: %s", row.id, row.user_name, row.account_id, why
        )
        self._repository.record_event(
            row.id,
            AuditAction.POST_REFUSED,
            BOT,
            at=self._clock(),
            reason=why,
            details={"channel": channel, "thread_ts": thread},
        )
        refused = refused_finding(row, answered(error) or why, self._settings.timezone)
        self._poster.post(channel, refused, thread)
