"""HTTP mode: Bolt's Flask adapter at POST /slack/events, and GET /healthz.

Served by gunicorn (Procfile `web:`): `gunicorn 'bot.entry.web:create_wsgi()'`. The web process
only answers Slack: scans, schedules and the sweep run in the scanner process (`python -m bot
scanner`, Procfile `scanner:`).
"""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.application.services import Services
from bot.entry.bootstrap import bootstrap, build_app
from bot.entry.health import HealthProbe
from bot.entry.shapes import problem_with

log = logging.getLogger(__name__)

# Slack's requests are a few kilobytes; anything much larger is not from Slack.
MAX_REQUEST_BYTES = 1024 * 1024
# /healthz answers within a second whatever the database does: half of it for the database (a
# look takes milliseconds, a new connection tens), the rest for waiting on a busy gunicorn thread.
HEALTH_WITHIN = 0.5


def create_flask(app: App, services: Services) -> Flask:
    web = Flask("iam-inactive")
    web.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # Flask answers 413 beyond it
    handler = SlackRequestHandler(app)
    verifier = SignatureVerifier(services.settings.slack_signing_secret or "")
    database = HealthProbe(
        lambda: services.repository.scanners_alive_and_writable(services.clock()), HEALTH_WITHIN
    )

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
        try:
            return handler.handle(request)
        except (TypeError, AttributeError, KeyError, ValueError) as error:
            # Bolt reading a body of a shape Slack never sends (listeners' own errors stay in
            # Bolt, which answers them): the sender hears it, the log gets a line, not a trace.
            log.warning("malformed Slack request, unreadable by Bolt: %r", error)
            return "malformed request", 400

    @web.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """200 while this process can read and write its database; "degraded" (still 200) when
        no scanner has a heartbeat, for monitoring to alert on: a web worker restarted for a
        scanner that is down would not bring it back, and nothing scheduled runs meanwhile."""
        look = database.ask()
        if not look.done():
            log.warning("health check: the database did not answer within %s s", HEALTH_WITHIN)
            return jsonify(status="error", database="not answering"), 503
        error = look.exception()
        if error is not None:  # the probe must answer, whatever the database does
            log.warning("health check: database unreachable: %s", type(error).__name__)
            return jsonify(status="error", database="unreachable"), 503
        scanners = look.result()
        status = "ok" if scanners else "degraded"
        return jsonify(status=status, database="ok", scanners=scanners), 200

    return web


def create_wsgi() -> Flask:
    """gunicorn's entry point (per worker): settings, migrations, the Bolt app."""
    services = bootstrap(os.environ, http=True, web_worker=True)
    return create_flask(build_app(services), services)
