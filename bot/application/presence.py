"""The findings channel without the bot in it (never invited, removed, or the channel archived
or gone): posting there stops, the approvers are told once by DM and their Home tab says so,
with one audit row; posting resumes when the bot is invited (Slack's member_joined_channel).

The pause is a lease row that does not expire, shared by every process: the one process whose
take lands records it and tells the approvers, and the others see it before posting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from slack_sdk.errors import SlackClientError

from bot.domain.clock import Clock
from bot.domain.records import Actor, Holder, Role, Surface, SystemActor
from bot.domain.workflow import AuditAction
from storage.repository import Repository

log = logging.getLogger(__name__)

BOT = Actor(SystemActor.BOT, Role.SYSTEM, Surface.SLACK)
# What Slack answers a post to a channel the bot is not in, or cannot see.
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found"})
PAUSE_PREFIX = "absent:"  # + the channel id: the lease's name
UNTIL_INVITED = timedelta(days=365 * 100)


class ChannelPaused(SlackClientError):
    """A post not sent: posting in this channel is paused until the bot is invited."""


class Presence:
    """Whether the bot may post in the findings channel, as every process sees it."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        channel: str | None,
        tell_approvers: Callable[[str], None],
    ) -> None:
        self._repository, self._clock, self._channel = repository, clock, channel
        self._tell_approvers = tell_approvers

    @property
    def _lease(self) -> str:
        return f"{PAUSE_PREFIX}{self._channel}"

    def blocks(self, channel: str | None) -> bool:
        """Whether a post to `channel` waits (the findings channel, while paused)."""
        return bool(channel) and channel == self._channel and self.paused() is not None

    def paused(self) -> Holder | None:
        """Since when posting is paused, and Slack's answer then (None: it is not)."""
        if not self._channel:
            return None
        return self._repository.lease_holder(self._lease, self._clock())

    def lost(self, channel: str | None, error: str) -> None:
        """Slack answered `error` (one of NOT_IN_CHANNEL) to a post in `channel`."""
        if not self._channel or channel != self._channel:
            return
        now = self._clock()
        if self._repository.take_lease(self._lease, error, now, now + UNTIL_INVITED) is not None:
            return  # paused already: said once
        log.warning("posting to %s paused: Slack answered %s", channel, error)
        self._repository.record_event(
            None,
            AuditAction.POSTING_PAUSED,
            BOT,
            at=now,
            reason=f"Slack answered {error}",
            details={"channel": channel},
        )
        self._tell_approvers(pause_line(channel, error))

    def resumed(self) -> bool:
        """The bot was invited: posting may go on. False when it was not paused."""
        paused = self.paused()
        if paused is None or not self._repository.release_lease(self._lease, paused.holder):
            return False
        log.info("posting to %s resumed: the bot was invited", self._channel)
        self._repository.record_event(
            None,
            AuditAction.POSTING_RESUMED,
            BOT,
            at=self._clock(),
            details={"channel": self._channel},
        )
        return True


def pause_line(channel: str, error: str) -> str:
    """What approvers read (by DM, and on their Home) while posting is paused."""
    return (
        f":warning: I cannot post in <#{channel}> (Slack answered `{error}`), so new findings "
        "wait and are not posted. Invite me to the channel (`/invite @iam-inactive`) and they "
        "are posted at once."
    )
