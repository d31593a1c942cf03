"""`/iam-inactive`: help, scan, list, show, digest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.application import flows
from bot.application.answers import answering
from bot.application.services import Services
from bot.slack.ids import COMMAND
from bot.slack.messages.blocks import Message, escape, notice
from bot.slack.messages.command import help_message

Reply = Callable[..., None]
LONGEST_WORD = 128  # IAM user names have at most 64 characters, account ids 12


def register(app: App, services: Services) -> None:
    def on_command(ack: Reply, command: dict[str, Any], respond: Reply) -> None:
        words = (command.get("text") or "").split()
        verb, args = (words[0].lower(), words[1:]) if words else ("help", [])
        handler = VERBS.get(verb)
        if any(len(word) > LONGEST_WORD for word in words[:2]):
            ack(**reply(help_message("That is longer than any IAM user name or account id.")))
            return
        if handler is None:
            ack(**reply(help_message(f"I don't know `{escape(verb)}`. Here is what I can do:")))
            return
        handler(services, command["user_id"], args, ack, respond)

    app.command(COMMAND)(answering(services, on_command))


def help_(services: Services, user_id: str, args: list[str], ack: Reply, respond: Reply) -> None:
    ack(**reply(help_message()))


def list_(services: Services, user_id: str, args: list[str], ack: Reply, respond: Reply) -> None:
    filter_ = args[0].lower() if args else ""
    if not flows.is_list_filter(filter_):
        usage = (
            f"`list` takes dormant, keys_only or a 12-digit account id, not `{escape(filter_)}`."
        )
        ack(**reply(help_message(usage)))
        return
    ack(**reply(flows.open_findings_page(services, filter_, 1)))


def show(services: Services, user_id: str, args: list[str], ack: Reply, respond: Reply) -> None:
    if len(args) != 1:
        ack(**reply(help_message("`show` takes one IAM user name.")))
        return
    ack(**reply(flows.user_history(services, args[0])))


def scan(services: Services, user_id: str, args: list[str], ack: Reply, respond: Reply) -> None:
    account = args[0] if args else None
    summary = flows.scan_for(services, user_id, account, lambda line: ack(**reply(notice(line))))
    if ack.response is None:  # it never started: another scan is running
        ack(**reply(notice(summary)))
    else:
        respond(**reply(notice(summary)))


def digest(services: Services, user_id: str, args: list[str], ack: Reply, respond: Reply) -> None:
    flows.post_digest_for(services, user_id, lambda line: ack(**reply(notice(line))))


def unkeep(services: Services, user_id: str, args: list[str], ack: Reply, respond: Reply) -> None:
    if len(args) < 2:
        ack(**reply(help_message("`unkeep` takes an IAM user name and a reason.")))
        return
    ack(**reply(notice(flows.unkeep_user(services, user_id, args[0], " ".join(args[1:])))))


def reply(message: Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


VERBS: dict[str, Callable[..., None]] = {
    "help": help_,
    "list": list_,
    "show": show,
    "scan": scan,
    "digest": digest,
    "unkeep": unkeep,
}
