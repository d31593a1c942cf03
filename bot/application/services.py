"""The application's services, built once per process by bot.entry.bootstrap and handed to
every listener's `register(app, services)`, the scheduled jobs and the terminal commands."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import boto3
from slack_sdk import WebClient

from bot.application.access import Access
from bot.application.announcer import Announcer
from bot.application.decisions import Decisions
from bot.application.scheduler import Schedule
from bot.aws.accounts import account_iam
from bot.aws.iam import AccountIam
from bot.domain.clock import Clock
from bot.domain.settings import Settings
from bot.slack.client import Approvers, channel_members
from storage.repository import Repository


class InlineExecutor(Executor):
    """Runs the work at once, in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # as a pool would: the caller's result() raises it
            future.set_exception(error)
        return future


@dataclass
class Services:
    settings: Settings
    repository: Repository
    client: WebClient
    aws_session: boto3.Session
    clock: Clock
    approvers: Approvers = field(init=False)
    access: Access = field(init=False)
    announcer: Announcer = field(init=False)
    decisions: Decisions = field(init=False)
    schedule: Schedule | None = None  # set when this process runs the scheduled jobs
    # Where slow work runs once Slack has its acknowledgement (see bot.application.answers);
    # the app factory sizes it, and runs it in the request when answers wait for the work.
    after_ack: Executor = field(default_factory=InlineExecutor)
    # Where a click's lookups run while Bolt's thread keeps an eye on Slack's 3 s trigger.
    lookups: Executor = field(default_factory=InlineExecutor)

    def __post_init__(self) -> None:
        self.approvers = Approvers(self.settings, self.client)
        viewers = channel_members(self.client, self.settings.slack_channel)
        self.access = Access(self.repository, self.approvers, viewers, self.clock)
        self.announcer = Announcer(self.client, self.repository, self.settings, self.clock)
        self.decisions = Decisions(self.repository, self.settings, self.iam_for_account, self.clock)

    def iam_for_account(self, account_id: str) -> AccountIam:
        return account_iam(self.settings, self.aws_session, account_id)
