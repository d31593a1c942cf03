"""HTTP mode: Bolt's Flask adapter at POST /slack/events, and GET /healthz.

Served by gunicorn (Procfile `web:`): `gunicorn 'bot.web:create_wsgi()'`.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import text

from bot.app import Services, build_services, create_app
from bot.cli import configure, open_repository

log = logging.getLogger(__name__)


def create_flask(app: App, services: Services) -> Flask:
    web = Flask("iam-inactive")
    handler = SlackRequestHandler(app)

    @web.post("/slack/events")
    def slack_events() -> ResponseReturnValue:
        return handler.handle(request)

    @web.get("/healthz")
    def healthz() -> ResponseReturnValue:
        try:
            with services.repository.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # the probe must answer, whatever the database does
            log.warning("health check: database unreachable: %s", error)
            return jsonify(status="error", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    return web


def create_wsgi() -> Flask:
    """gunicorn's entry point: settings from the environment, migrations applied."""
    settings = configure(os.environ)
    services = build_services(settings, open_repository(settings))
    return create_flask(create_app(services), services)
