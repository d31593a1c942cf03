"""The Bolt app: every listener registered on it, in one place."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.application.services import Services
from bot.entry.bootstrap import require_slack_settings
from handlers import actions, commands, home, views

log = logging.getLogger(__name__)

LISTENER_THREADS = 16
WORK_THREADS = 8


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
        # Bolt's default is 5 threads, and clicks queued behind slow removals were answered
        # too late: listeners acknowledge first, and the slow ones hand their work on.
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="listener"),
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
    )
    if not process_before_response:  # answers go out first: the slow work queues behind
        services.after_ack = ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="after-ack")
        services.lookups = ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="lookup")
    for surface in (commands, actions, views, home):
        surface.register(app, services)
    return app
