"""The one wiring of the bot: settings, logging, the database, then (for the Slack bot and the
schedule) the Slack client and the application's services, all sharing one clock.

Each part is imported when it is built: settings need none of them, and the terminal scan
starts AWS before it opens the database and never loads Slack."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.domain.clock import Clock, utc_now
from bot.domain.settings import Settings
from bot.entry import logs
from bot.entry.config import SettingsError, database_url_problem, load_settings

if TYPE_CHECKING:
    import boto3

    from bot.application.services import Services
    from storage.repository import Repository


log = logging.getLogger(__name__)


class SetupError(RuntimeError):
    """The bot cannot start: bad settings or an unreachable database. The message says which."""


def prepare(
    env: Mapping[str, str],
    *,
    verbose: bool,
    serve_without_database: bool = False,
    **overrides: object,
) -> tuple[Settings, Repository]:
    """Every entry point's first steps: settings, logging that redacts them, the database."""
    settings = configure(env, verbose=verbose, **overrides)
    return settings, open_database(settings, serve_without_database=serve_without_database)


def configure(env: Mapping[str, str], *, verbose: bool, **overrides: object) -> Settings:
    """The settings, and logging that redacts them."""
    try:
        settings = replace(load_settings(env), **overrides)
    except SettingsError as error:
        raise SetupError(f"configuration error: {error}") from None
    logs.configure(settings.log_format, secrets_of(settings, env), verbose=verbose)
    return settings


def open_database(
    settings: Settings, *, serve_without_database: bool = False, read_only: bool = False
) -> Repository:
    """The database, its schema brought up to date.

    `serve_without_database`: a web worker (re)started while the database is down still
    boots, answers /healthz with 503 and tells people; commands stop with one line instead.
    `read_only`: the records as they are, for a report: a database that is not there, or not
    this version's, is an error rather than created or migrated (a mistyped DATABASE_URL must
    not give an auditor an empty record)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.domain.records import RecordsUnavailable
    from storage.db import make_engine, migrate, unreadable
    from storage.repository import Repository

    problem = database_url_problem(settings.database_url)
    if problem:
        raise SetupError(f"configuration error: {problem}")
    engine = make_engine(settings.database_url, read_only=read_only)
    logs.redact(engine.url.password)
    try:
        if read_only:
            problem = unreadable(engine)
            if problem:
                raise SetupError(f"cannot read the records (DATABASE_URL): {problem}")
        else:
            migrate(engine)
    except (SQLAlchemyError, RecordsUnavailable, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        if not serve_without_database:
            raise SetupError(f"cannot open the database (DATABASE_URL): {reason}") from None
        log.error("the database is unavailable at start-up, serving anyway: %s", reason)
    return Repository(engine)


def bootstrap(
    env: Mapping[str, str], *, http: bool | None = None, serve_without_database: bool = False
) -> Services:
    """The Slack bot's and the scheduler's services, once the settings they need are there.

    `http`: whether Slack's requests come over HTTP (and must be verified); by default, unless
    SLACK_APP_TOKEN asks for Socket Mode."""
    import boto3

    settings, repository = prepare(env, verbose=True, serve_without_database=serve_without_database)
    serves_http = settings.slack_app_token is None if http is None else http
    require_slack_settings(settings, socket_mode=not serves_http)
    return build_services(settings, repository, boto3.Session(), utc_now)


def build_services(
    settings: Settings,
    repository: Repository,
    aws_session: boto3.Session,
    clock: Clock,
) -> Services:
    from bot.application.services import Services
    from bot.slack.client import make_client

    return Services(
        settings=settings,
        repository=repository,
        client=make_client(settings),
        aws_session=aws_session,
        clock=clock,
    )


def require_slack_settings(settings: Settings, *, socket_mode: bool) -> None:
    needed = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_CHANNEL": settings.slack_channel,
    }
    if not socket_mode:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise SetupError(
            f"{', '.join(missing)} must be set to run the bot "
            "(see the README, 'Installing the Slack app')"
        )


def secrets_of(settings: Settings, env: Mapping[str, str]) -> list[str | None]:
    """Values no log line may show (and the database's password, once it is opened)."""
    return [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        env.get("AWS_SECRET_ACCESS_KEY"),
        env.get("AWS_SESSION_TOKEN"),
    ]
