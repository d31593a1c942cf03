"""The application's services, built once per process by bot.entry.bootstrap and handed to
every listener's `register(app, services)`, the scheduled jobs and the terminal commands."""

from __future__ import annotations

from dataclasses import dataclass, field

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
from bot.slack.client import Approvers
from storage.repository import Repository


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

    def __post_init__(self) -> None:
        self.approvers = Approvers(self.settings, self.client)
        self.access = Access(self.repository, self.approvers, self.clock)
        self.announcer = Announcer(self.client, self.repository, self.settings, self.clock)
        self.decisions = Decisions(self.repository, self.settings, self.iam_for_account, self.clock)

    def iam_for_account(self, account_id: str) -> AccountIam:
        return account_iam(self.settings, self.aws_session, account_id)
