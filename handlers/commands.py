"""`/iam-inactive`: help, list, show, scan, digest, unkeep, export.

Help and usage lines answer in the acknowledgement; every verb that reads the database or
Slack answers through the command's response URL after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.application import evidence, flows
from bot.application.services import Services
from bot.domain.evidence import DEFAULT_DAYS, LONGEST_DAYS, days_asked
from bot.slack.ids import COMMAND
from bot.slack.messages.blocks import Message, notice
from bot.slack.messages.command import help_message
from bot.slack.messages.text import literal, truncate
from handlers.answering import answering

Respond = Callable[..., None]
LONGEST_WORD = 128  # IAM user names have at most 64 characters, account ids 12


def register(app: App, services: Services) -> None:
    def on_command(body: dict[str, Any], respond: Respond) -> None:
        verb, args = _words(body)
        VERBS[verb](services, body["user_id"], args, respond)

    app.command(COMMAND)(answering(services, on_command, first=first_answer))


def first_answer(body: dict[str, Any]) -> dict[str, Any] | None:
    """Help, and the line for words no verb takes; None when a verb is to run."""
    words = typed(body).split()
    verb, args = _words(body)
    if any(len(word) > LONGEST_WORD for word in words[:2]):
        return reply(help_message("That is longer than any IAM user name or account id."))
    if verb == "help":
        return reply(help_message())
    if verb not in VERBS:
        return reply(help_message(f"I don't know {literal(verb)}. Here is what I can do:"))
    usage = _usage(verb, args)
    return reply(help_message(usage)) if usage else None


def _usage(verb: str, args: list[str]) -> str | None:
    if verb == "list" and not flows.is_list_filter(args[0].lower() if args else ""):
        return f"`list` takes dormant, keys_only or a 12-digit account id, not {literal(args[0])}."
    if verb == "show" and len(args) != 1:
        return "`show` takes one IAM user name."
    if verb == "unkeep" and len(args) < 2:
        return "`unkeep` takes an IAM user name and a reason."
    if verb == "export" and days_asked(args) is None:
        return (
            f"`export` takes a number of days from 1 to {LONGEST_DAYS} "
            f"(default {DEFAULT_DAYS}), not {literal(truncate(' '.join(args), LONGEST_WORD))}."
        )
    return None


def _words(body: dict[str, Any]) -> tuple[str, list[str]]:
    words = typed(body).split()
    return (words[0].lower(), words[1:]) if words else ("help", [])


def typed(body: dict[str, Any]) -> str:
    """The command's text as the person typed it: Slack sends `&`, `<` and `>` in it as
    `&amp;`, `&lt;` and `&gt;` (a reason "a < b" must be recorded so, not as "a &lt; b")."""
    text = body.get("text") or ""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def list_(services: Services, user_id: str, args: list[str], respond: Respond) -> None:
    filter_ = args[0].lower() if args else ""
    respond(**reply(flows.open_findings_page(services, user_id, filter_, 1)))


def show(services: Services, user_id: str, args: list[str], respond: Respond) -> None:
    respond(**reply(flows.user_history(services, user_id, args[0])))


def scan(services: Services, user_id: str, args: list[str], respond: Respond) -> None:
    account = args[0] if args else None
    # The scanner process answers through the command's response URL when the scan is done.
    url = getattr(respond, "response_url", None)
    flows.scan_for(services, user_id, account, _saying(respond), response_url=url)


def digest(services: Services, user_id: str, args: list[str], respond: Respond) -> None:
    respond(**reply(notice(flows.post_digest_for(services, user_id, _saying(respond)))))


def unkeep(services: Services, user_id: str, args: list[str], respond: Respond) -> None:
    respond(**reply(notice(flows.unkeep_user(services, user_id, args[0], " ".join(args[1:])))))


def export(services: Services, user_id: str, args: list[str], respond: Respond) -> None:
    days = days_asked(args) or DEFAULT_DAYS  # checked in the acknowledgement (`_usage`)
    respond(**reply(notice(evidence.send_to_dm(services, user_id, days))))


def _saying(respond: Respond) -> Callable[[str], None]:
    return lambda line: respond(**reply(notice(line)))


def reply(message: Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


# The verbs that run after the acknowledgement (help is answered in it).
VERBS: dict[str, Callable[..., None]] = {
    "list": list_,
    "show": show,
    "scan": scan,
    "digest": digest,
    "unkeep": unkeep,
    "export": export,
}
