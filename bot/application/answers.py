"""The one error policy for Slack requests: a refusal, a stale click, an unknown finding or a
Slack failure becomes a clear line for the person who asked; anything else propagates.

Listeners are wrapped with `answering` where they are registered. The errors are caught inside
the listener's own thread, so the acknowledgement Slack already has is never replaced.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackClientError

from bot.application.access import GONE, Refused
from bot.application.services import Services
from bot.domain.records import RecordsUnavailable, UnknownFinding
from bot.domain.workflow import TransitionError
from bot.slack.client import ApproversUnknown, slack_error
from bot.slack.messages.blocks import notice

log = logging.getLogger(__name__)

Listener = Callable[..., None]
DATABASE_DOWN = (
    "The bot's database is unavailable right now, so nothing more was done. "
    "Please try again in a moment."
)


def explain(error: Exception) -> str | None:
    """The line a person is told when their request stopped on `error`; None: unexpected."""
    if isinstance(error, Refused | TransitionError):
        return str(error)
    if isinstance(error, UnknownFinding):
        return GONE
    if isinstance(error, ApproversUnknown):
        return str(error)
    if isinstance(error, RecordsUnavailable):
        log.warning("database unavailable while answering a request: %s", error)
        return DATABASE_DOWN
    if isinstance(error, SlackClientError):
        log.warning("Slack call failed while answering a request: %s", slack_error(error))
        return f"{slack_error(error)}; anything already decided is recorded."
    return None


def answering(services: Services, listener: Listener, *, after_ack: bool = False) -> Listener:
    """`listener`, answering the person itself when it stops on an expected error: inline when
    a slash command is not acknowledged yet, else privately (in the channel, or by DM).

    `after_ack`: acknowledge at once and run the listener on `services.after_ack`, so that
    slow work (AWS, many Slack calls) never keeps Bolt's threads from acknowledging others."""

    def answered(kwargs: dict[str, Any]) -> None:
        try:
            listener(**kwargs)
        except Exception as error:
            answer = explain(error)
            if answer is None:
                raise
            tell(services, kwargs, answer)

    def answered_after_ack(kwargs: dict[str, Any]) -> None:
        try:
            answered(kwargs)
        except Exception:  # nobody is waiting for this thread: the log is where it goes
            log.exception("a Slack listener failed after acknowledging")

    @functools.wraps(listener)  # Bolt reads the wrapped listener's arguments
    def run(**kwargs: Any) -> None:
        if not after_ack:
            answered(kwargs)
            return
        kwargs["ack"]()
        services.after_ack.submit(answered_after_ack, {**kwargs, "ack": _Acknowledged()})

    return run


class _Acknowledged:
    """The ack a listener run after acknowledging gets: Slack already has its answer."""

    response = "sent"

    def __call__(self, *_args: Any, **_kwargs: Any) -> None:
        pass


def tell(services: Services, kwargs: dict[str, Any], answer: str) -> None:
    body = kwargs.get("body") or kwargs.get("command") or {}
    ack = kwargs.get("ack")
    if ack is not None and ack.response is None:
        if body.get("command"):
            message = notice(answer)
            ack(text=message.text, blocks=message.blocks)
            return
        ack()
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    services.announcer.tell(channel, user, answer)
