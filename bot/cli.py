"""The terminal commands behind `python -m bot` (argument parsing lives in __main__)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import replace
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot.demo import demo_aws
from bot.scanner import run_scan
from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import render_csv, render_json, render_table
from storage.db import make_engine, migrate
from storage.repository import Repository

DEMO_DATABASE_URL = "sqlite:///iam-inactive-demo.db"
EXIT_OK, EXIT_SCAN_FAILED, EXIT_BAD_SETUP = 0, 1, 2

log = logging.getLogger(__name__)


class SetupError(RuntimeError):
    """The bot cannot start: bad settings or an unreachable database. The message says which."""


def configure(env: Mapping[str, str], **overrides: object) -> Settings:
    try:
        return replace(load_settings(env), **overrides)
    except SettingsError as error:
        raise SetupError(f"configuration error: {error}") from None


def open_repository(settings: Settings) -> Repository:
    """Connect and apply migrations (safe on every start)."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise SetupError(f"cannot open the database (DATABASE_URL): {reason}") from None
    return Repository(engine)


def scan(
    env: Mapping[str, str],
    *,
    demo: bool,
    output: str,
    source: str | None,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    overrides: dict[str, object] = {"scan_source": source} if source else {}
    if demo:
        overrides.update(role_arns=(), org_role_name=None)
        if not env.get("DATABASE_URL"):
            overrides["database_url"] = DEMO_DATABASE_URL
    try:
        settings = configure(env, **overrides)
        repository = open_repository(settings)
    except SetupError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP

    def progress(message: str) -> None:
        print(message, file=stderr, flush=True)

    with demo_aws() if demo else nullcontext() as session:
        result, record = run_scan(
            settings, repository, session, trigger="demo" if demo else "cli", progress=progress
        )
    rows = sorted(
        record.new + record.reopened + record.updated,
        key=lambda row: (row.account_id, row.user_name),
    )
    if output == "json":
        print(render_json(rows), file=stdout)
    elif output == "csv":
        print(render_csv(rows), file=stdout, end="")
    else:
        print(render_table(rows, settings.timezone), file=stdout)
        print(
            f"\n{len(rows)} findings ({len(record.new)} new, {len(record.resolved)} resolved) "
            f"in {len(result.accounts)} account(s); recorded as scan #{record.scan_id}.",
            file=stdout,
        )
    for account in result.failed_accounts:
        print(f"iam-inactive: account {account.target.account_id}: {account.error}", file=stderr)
    return EXIT_SCAN_FAILED if result.failed_accounts else EXIT_OK


def run_bot(env: Mapping[str, str], port: int, stderr: TextIO = sys.stderr) -> int:
    """Socket Mode when SLACK_APP_TOKEN is set, else HTTP under gunicorn."""
    from bot.app import BotSetupError, build_services, create_app

    try:
        settings = configure(env)
        socket_mode = settings.slack_app_token is not None
        services = build_services(settings, open_repository(settings))
        app = create_app(services, socket_mode=socket_mode)
    except (SetupError, BotSetupError) as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(app, settings.slack_app_token).start()
        return EXIT_OK
    os.execvp(
        "gunicorn",
        [
            "gunicorn",
            "--bind",
            f"0.0.0.0:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "bot.web:create_wsgi()",
        ],
    )
    return EXIT_OK  # not reached: gunicorn replaces this process


def migrate_only(env: Mapping[str, str], stderr: TextIO = sys.stderr) -> int:
    try:
        open_repository(configure(env))
    except SetupError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    print("database is up to date", file=stderr)
    return EXIT_OK
