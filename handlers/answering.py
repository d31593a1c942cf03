"""How every Slack request is answered: acknowledged at once, worked on after, and any
expected error (a refusal, a stale click, an unknown finding, Slack or the database failing)
turned into a clear line for the person who asked.

Listeners are wrapped with `answering` where they are registered. Slack allows 3 s for the
acknowledgement; the work runs on `services.after_ack`, so slow removals, a busy database or a
slow Slack API never keep Bolt's threads from acknowledging the next request.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackClientError, SlackObjectFormationError

from bot.application.access import GONE, Refused
from bot.application.removal import RemovedUnrecorded
from bot.application.services import Services
from bot.domain.records import RecordsUnavailable, StepUnsettled, UnknownFinding
from bot.domain.workflow import TransitionError
from bot.slack.client import ApproversUnknown, slack_error
from bot.slack.messages.blocks import notice

log = logging.getLogger(__name__)

Listener = Callable[..., Any]
# A pure, fast look at the request (a command's words, a form's fields) that may answer it at
# once: the acknowledgement's body, after which nothing else runs. None: go on.
FirstAnswer = Callable[[dict[str, Any]], dict[str, Any] | None]
FollowUp = Callable[[], None]

DATABASE_DOWN = (
    "The bot's database is unavailable right now, so nothing more was done. "
    "Please try again in a moment."
)
# The database stopped answering at the COMMIT: whether the step was recorded is not known yet.
STEP_UNSETTLED = (
    "The bot's database stopped answering while recording this, so I cannot tell yet whether "
    "it was recorded; nothing more was done now. If it was recorded, it goes on once the "
    "database is back, and you will hear; `/iam-inactive show` tells where it stands."
)


def explain(error: Exception) -> str | None:
    """The line a person is told when their request stopped on `error`; None: unexpected."""
    if isinstance(error, Refused | TransitionError | ApproversUnknown | RemovedUnrecorded):
        return str(error)
    if isinstance(error, UnknownFinding):
        return GONE
    if isinstance(error, StepUnsettled):
        log.warning("database stopped answering while recording a step: %s", error)
        return STEP_UNSETTLED
    if isinstance(error, RecordsUnavailable):
        log.warning("database unavailable while answering a request: %s", error)
        return DATABASE_DOWN
    if isinstance(error, SlackClientError | OSError):
        if isinstance(error, SlackObjectFormationError):  # a bug of the bot's: Slack was not asked
            log.error("a message the bot made could not be sent", exc_info=error)
        else:
            log.warning("Slack call failed while answering a request: %s", slack_error(error))
        return f"{slack_error(error)}; anything already decided is recorded."
    return None


def answering(
    services: Services,
    listener: Listener,
    *,
    first: FirstAnswer | None = None,
    quick: bool = False,
) -> Listener:
    """`listener` as Bolt calls it: acknowledged before it runs, and answering the person itself
    when it stops on an expected error. Listeners never call `ack`.

    - `first`: may answer the request in the acknowledgement instead (usage lines, a form's
      validation errors), without I/O.
    - By default the listener runs on `services.after_ack`.
    - `quick`: it runs in Bolt's thread, for what must happen within Slack's 3 s (opening a
      modal with the request's trigger), and returns the rest, if any, to run after."""

    wanted = inspect.signature(listener).parameters

    def run(
        ack: Callable[..., None], body: dict[str, Any], client: Any, respond: Any, context: Any
    ) -> None:
        immediate = first(body) if first is not None else None
        ack(**(immediate or {}))
        if immediate is not None:
            return
        given = {
            "body": body,
            "client": client,
            "respond": respond,
            "view": body.get("view"),
            "context": context,
        }
        work = functools.partial(listener, **{name: given[name] for name in wanted})
        if not quick:
            services.after_ack.submit(_logged, services, given, work)
            return
        follow_up = _answered(services, given, work)
        if follow_up is not None:
            services.after_ack.submit(_logged, services, given, follow_up)

    return run


def _answered(services: Services, kwargs: dict[str, Any], work: Callable[[], Any]) -> Any:
    try:
        return work()
    except Exception as error:
        answer = explain(error)
        if answer is None:
            raise
        repeated_click = kwargs["body"].get("type") == "block_actions"
        if not (isinstance(error, Refused) and error.quiet and repeated_click):
            tell(services, kwargs, answer)
        return None


def _logged(services: Services, kwargs: dict[str, Any], work: Callable[[], Any]) -> None:
    try:
        _answered(services, kwargs, work)
    except Exception:  # nobody is waiting for this thread: the log is where it goes
        log.exception("a Slack listener failed after acknowledging")


def tell(services: Services, kwargs: dict[str, Any], answer: str) -> None:
    """Answer the person who made this request: a command through its response URL, a click
    where it was made (privately, in the thread it was in), a form by DM."""
    body = kwargs.get("body") or {}
    respond = kwargs.get("respond")
    if body.get("command") and respond is not None:
        message = notice(answer)
        respond(text=message.text, blocks=message.blocks)
        return
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    thread = (body.get("container") or {}).get("thread_ts")
    # Slack names the user in every request it sends; were one missing, Slack would refuse the
    # message and tell() logs that, as it logs any failure to tell.
    services.announcer.tell(channel, user, answer, thread_ts=thread)  # type: ignore[arg-type]
