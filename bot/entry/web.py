"""HTTP mode: Bolt's Flask adapter at POST /slack/events, and GET /healthz.

Served by gunicorn (Procfile `web:`): `gunicorn 'bot.entry.web:create_wsgi()'`.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot.application.jobs import start_background
from bot.application.services import Services
from bot.entry.bootstrap import bootstrap
from bot.entry.shapes import problem_with
from bot.entry.slack_app import create_app

log = logging.getLogger(__name__)

# Slack's requests are a few kilobytes; anything much larger is not from Slack.
MAX_REQUEST_BYTES = 1024 * 1024


def create_flask(app: App, services: Services) -> Flask:
    web = Flask("iam-inactive")
    web.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # Flask answers 413 beyond it
    handler = SlackRequestHandler(app)
    verifier = SignatureVerifier(services.settings.slack_signing_secret or "")

    @web.post("/slack/events")
    def slack_events() -> ResponseReturnValue:
        # Verified before Bolt parses anything: an unsigned body never reaches a parser.
        try:
            signed = verifier.is_valid(
                request.get_data(),
                request.headers.get("X-Slack-Request-Timestamp", ""),
                request.headers.get("X-Slack-Signature", ""),
            )
        except (ValueError, UnicodeDecodeError):  # a timestamp or body no signature can match
            signed = False
        if not signed:
            return "invalid or stale request signature", 401
        problem = problem_with(request.get_data(), request.content_type or "")
        if problem is not None:
            log.warning("malformed Slack request: %s", problem)
            return f"malformed request: {problem}", 400
        return handler.handle(request)

    @web.get("/healthz")
    def healthz() -> ResponseReturnValue:
        schedule = services.schedule
        scheduler = {
            "running": bool(schedule and schedule.running),
            "next_runs": schedule.next_runs() if schedule and schedule.running else {},
        }
        try:
            with services.repository.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # the probe must answer, whatever the database does
            log.warning("health check: database unreachable: %s", type(error).__name__)
            return jsonify(status="error", database="unreachable", scheduler=scheduler), 503
        healthy = schedule is None or schedule.running
        body = {"status": "ok" if healthy else "degraded", "database": "ok", "scheduler": scheduler}
        return jsonify(body), 200 if healthy else 503

    return web


def create_wsgi() -> Flask:
    """gunicorn's entry point (per worker): settings, migrations, recovery, schedules."""
    services = bootstrap(os.environ, http=True, serve_without_database=True)
    app = create_app(services)
    start_background(services)
    return create_flask(app, services)
