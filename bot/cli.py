"""The terminal commands behind `python -m bot` (argument parsing lives in __main__)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import replace
from typing import TextIO

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.demo import demo_aws
from bot.scanner import run_scan
from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import render_csv, render_json, render_table
from storage.db import make_engine, migrate, normalize_url
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


def prepare(
    env: Mapping[str, str], *, verbose: bool, **overrides: object
) -> tuple[Settings, Repository]:
    """Every entry point's first steps: settings, logging that redacts them, the database."""
    settings = configure(env, **overrides)
    logs.configure(settings.log_format, secrets_of(settings, env), verbose=verbose)
    return settings, open_repository(settings)


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
    verbose: bool = False,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    overrides: dict[str, object] = {"scan_source": source} if source else {}
    if demo:
        overrides.update(role_arns=(), org_role_name=None)
        if not env.get("DATABASE_URL"):
            overrides["database_url"] = DEMO_DATABASE_URL
    try:
        settings, repository = prepare(env, verbose=verbose, **overrides)
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


def secrets_of(settings: Settings, env: Mapping[str, str]) -> list[str | None]:
    """Values no log line may show."""
    database_password = make_url(normalize_url(settings.database_url)).password
    return [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        str(database_password) if database_password else None,
        env.get("AWS_SECRET_ACCESS_KEY"),
        env.get("AWS_SESSION_TOKEN"),
    ]


def run_bot(env: Mapping[str, str], port: int, stderr: TextIO = sys.stderr) -> int:
    """Socket Mode when SLACK_APP_TOKEN is set, else HTTP under gunicorn (which runs the jobs)."""
    from bot.app import BotSetupError, build_services, create_app, start_background

    try:
        settings, repository = prepare(env, verbose=True)
        socket_mode = settings.slack_app_token is not None
        services = build_services(settings, repository)
        app = create_app(services, socket_mode=socket_mode)
    except (SetupError, BotSetupError) as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        start_background(services)
        SocketModeHandler(app, settings.slack_app_token).start()
        return EXIT_OK
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
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


def run_scheduler(env: Mapping[str, str], stderr: TextIO = sys.stderr) -> int:
    """Only the scheduled jobs, in the foreground (a `clock:` process, or a replica in tests)."""
    from bot.app import BotSetupError, build_services, require_slack_settings, start_background

    try:
        settings, repository = prepare(env, verbose=True)
        require_slack_settings(settings, socket_mode=True)
        services = build_services(settings, repository)
    except (SetupError, BotSetupError) as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    start_background(services, blocking=True)
    return EXIT_OK


def migrate_only(env: Mapping[str, str], stderr: TextIO = sys.stderr) -> int:
    try:
        prepare(env, verbose=False)
    except SetupError as error:
        print(f"iam-inactive: {error}", file=stderr)
        return EXIT_BAD_SETUP
    print("database is up to date", file=stderr)
    return EXIT_OK
