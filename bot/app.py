"""The app factory: settings, storage, AWS and Slack wired together, listeners registered."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from slack_bolt import App
from slack_sdk import WebClient

from bot import aws
from bot.accounts import session_for, target_for
from bot.decisions import Decisions
from bot.scheduler import Schedule
from bot.settings import Settings
from bot.slack import Announcer, Approvers, make_client
from handlers import actions, commands, views
from storage.repository import Repository

log = logging.getLogger(__name__)


class BotSetupError(RuntimeError):
    """The bot cannot start; the message names the missing or wrong setting."""


@dataclass
class Services:
    """What listeners need, built once per process and passed to each `register(app, ...)`."""

    settings: Settings
    repository: Repository
    client: WebClient
    aws_session: boto3.Session
    approvers: Approvers = field(init=False)
    announcer: Announcer = field(init=False)
    decisions: Decisions = field(init=False)
    scan_lock: threading.Lock = field(default_factory=threading.Lock)
    schedule: Schedule | None = None  # set when this process runs the scheduled jobs

    def __post_init__(self) -> None:
        self.approvers = Approvers(self.settings, self.client)
        self.announcer = Announcer(self.client, self.repository, self.settings)
        self.decisions = Decisions(self.repository, self.settings, self.iam_for_account)

    def iam_for_account(self, account_id: str) -> Any:
        target = target_for(self.settings, self.aws_session, account_id)
        return aws.iam_client(session_for(target, self.aws_session, self.settings.external_id))

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def require_slack_settings(settings: Settings, *, socket_mode: bool) -> None:
    needed = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_CHANNEL": settings.slack_channel,
    }
    if not socket_mode:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise BotSetupError(
            f"{', '.join(missing)} must be set to run the bot "
            "(see the README, 'Installing the Slack app')"
        )


def build_services(
    settings: Settings, repository: Repository, aws_session: boto3.Session | None = None
) -> Services:
    return Services(
        settings=settings,
        repository=repository,
        client=make_client(settings),
        aws_session=aws_session or boto3.Session(),
    )


def start_background(services: Services, *, blocking: bool = False) -> Schedule:
    """Settle removals a crash interrupted, then run the scheduled jobs: in the background of
    this process, or (`blocking`) in the foreground until stopped."""
    from bot.jobs import build_schedule, settle_in_flight

    settled = settle_in_flight(services)
    if settled:
        log.warning("settled %d removal(s) interrupted by a restart", settled)
    services.schedule = build_schedule(services, blocking=blocking)
    services.schedule.start()
    return services.schedule


def create_app(
    services: Services, *, process_before_response: bool = False, socket_mode: bool = False
) -> App:
    settings = services.settings
    require_slack_settings(settings, socket_mode=socket_mode)
    if not services.approvers.configured:
        log.warning("no SLACK_APPROVERS or SLACK_APPROVER_GROUP: every action will be refused")
    app = App(
        signing_secret=settings.slack_signing_secret or "",
        client=services.client,
        process_before_response=process_before_response,
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
    )
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    return app
