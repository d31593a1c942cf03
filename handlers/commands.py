"""`/iam-inactive`: help, scan, list, show, digest."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from bot import messages
from bot.ids import COMMAND
from bot.jobs import scan_and_announce
from bot.rule import CATEGORIES
from handlers.guard import Refused, require_approver

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

ACCOUNT_ID = re.compile(r"^\d{12}$")
SURFACE = "slack-command"


def register(app: App, services: Services) -> None:
    def on_command(
        ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., None]
    ) -> None:
        words = (command.get("text") or "").split()
        verb, args = (words[0].lower(), words[1:]) if words else ("help", [])
        user_id = command["user_id"]
        handler = VERBS.get(verb)
        if handler is None:
            ack(**_reply(messages.help_message(f"I don't know `{verb}`. Here is what I can do:")))
            return
        try:
            handler(services, user_id, args, ack, respond)
        except Refused as refusal:
            ack(**_reply(messages.notice(str(refusal))))

    app.command(COMMAND)(on_command)


def help_(
    services: Services, user_id: str, args: list[str], ack: Callable, respond: Callable
) -> None:
    ack(**_reply(messages.help_message()))


def list_(
    services: Services, user_id: str, args: list[str], ack: Callable, respond: Callable
) -> None:
    filter_ = args[0].lower() if args else ""
    if filter_ and filter_ not in CATEGORIES and not ACCOUNT_ID.match(filter_):
        ack(
            **_reply(
                messages.help_message(
                    f"`list` takes dormant, keys_only or a 12-digit account id, not `{filter_}`."
                )
            )
        )
        return
    ack(**_reply(list_message(services, filter_, 1)))


def list_message(services: Services, filter_: str, page: int) -> messages.Message:
    rows = services.repository.open_findings(
        category=filter_ if filter_ in CATEGORIES else None,
        account_id=filter_ if ACCOUNT_ID.match(filter_ or "") else None,
    )
    return messages.list_page(rows, filter_, page, services.settings.timezone)


def show(
    services: Services, user_id: str, args: list[str], ack: Callable, respond: Callable
) -> None:
    if len(args) != 1:
        ack(**_reply(messages.help_message("`show` takes one IAM user name.")))
        return
    repository = services.repository
    findings = [(row, repository.history(row.id)) for row in repository.findings_for_user(args[0])]
    ack(**_reply(messages.history_message(args[0], findings, services.settings.timezone)))


def scan(
    services: Services, user_id: str, args: list[str], ack: Callable, respond: Callable
) -> None:
    require_approver(services, None, user_id, SURFACE)
    account = args[0] if args else None
    if account is not None and not ACCOUNT_ID.match(account):
        ack(**_reply(messages.help_message("`scan` takes an optional 12-digit account id.")))
        return
    if not services.scan_lock.acquire(blocking=False):
        ack(**_reply(messages.notice("A scan is already running; its results will be posted.")))
        return
    try:
        where = f"account {account}" if account else "all accounts"
        ack(
            **_reply(
                messages.notice(
                    f":mag: Scanning {where}; results go to <#{services.settings.slack_channel}>."
                )
            )
        )
        result, record = scan_and_announce(services, f"slack:{user_id}", account)
        failed = len(result.failed_accounts)
        summary = (
            f"Scan done: {len(record.to_announce)} new findings, {len(record.resolved)} resolved"
            + (f", {failed} account(s) failed" if failed else "")
            + "."
        )
        respond(**_reply(messages.notice(summary)))
    finally:
        services.scan_lock.release()


def digest(
    services: Services, user_id: str, args: list[str], ack: Callable, respond: Callable
) -> None:
    require_approver(services, None, user_id, SURFACE)
    ack(**_reply(messages.notice("Posting the digest to the channel.")))
    services.announcer.post_digest()


def _reply(message: messages.Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


VERBS: dict[str, Callable[..., None]] = {
    "help": help_,
    "list": list_,
    "show": show,
    "scan": scan,
    "digest": digest,
}
