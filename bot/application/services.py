"""The application's services, built once per process by bot.entry.bootstrap (the one place
anything is built) and handed to every listener's `register(app, services)`, the scheduled jobs
and the terminal commands."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import boto3
from slack_sdk import WebClient

from bot.application.access import Access
from bot.application.announcer import Announcer
from bot.application.decisions import Decisions
from bot.application.security_hub import FindingsHub
from bot.domain.clock import Clock
from bot.domain.settings import Settings
from bot.slack.client import Approvers, OwnerDirectory
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


def nobody_to_wake() -> None:
    """A process without a scanner of its own: the scanner process polls the queue."""


@dataclass
class Services:
    settings: Settings
    repository: Repository
    client: WebClient
    aws_session: boto3.Session
    clock: Clock
    approvers: Approvers
    owners: OwnerDirectory
    access: Access
    announcer: Announcer
    decisions: Decisions
    security_hub: FindingsHub  # does nothing unless SECURITY_HUB is on
    # Whether Slack gets its acknowledgement before the work (production) or after it (tests
    # that read the outcome right after a request).
    answer_first: bool = False
    # Where slow work runs once Slack has its acknowledgement (see handlers.answering).
    after_ack: Executor = InlineExecutor()
    # Where a click's lookups run while Bolt's thread keeps an eye on Slack's 3 s trigger.
    lookups: Executor = InlineExecutor()
    # Called once a scan is queued: wakes this process's scanner, if it has one.
    scan_queued: Callable[[], None] = nobody_to_wake
