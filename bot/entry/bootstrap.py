"""The one wiring of the bot, its composition root: settings, logging, the database, then (for
the Slack bot and the scanner) the Slack client, the application's services, the Bolt app and
the scanner, all sharing one clock. Nothing else builds its own collaborators.

Each part is imported when it is built: settings need none of them, and the terminal scan
starts AWS before it opens the database and never loads Slack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.domain.clock import Clock, utc_now
from bot.domain.settings import Settings
from bot.entry import logs
from bot.entry.config import SettingsError, database_url_problem, load_settings

if TYPE_CHECKING:
    import boto3
    from slack_bolt import App
    from sqlalchemy import Engine

    from bot.application.scan_queue import Scanner
    from bot.application.security_hub import FindingsHub
    from bot.application.services import Services
    from bot.aws.iam import AccountIam
    from storage.repository import Repository
    from storage.scan_store import ScanStore


log = logging.getLogger(__name__)

LISTENER_THREADS = 16
WORK_THREADS = 8


class SetupError(RuntimeError):
    """The bot cannot start: bad settings or an unreachable database. The message says which."""


def prepare(
    env: Mapping[str, str],
    *,
    verbose: bool,
    web_worker: bool = False,
    **overrides: object,
) -> tuple[Settings, Repository]:
    """Every entry point's first steps: settings, logging that redacts them, the database."""
    settings = configure(env, verbose=verbose, **overrides)
    return settings, open_database(settings, web_worker=web_worker)


def configure(env: Mapping[str, str], *, verbose: bool, **overrides: Any) -> Settings:
    """The settings, and logging that redacts them; `overrides` are Settings fields (replace()
    refuses a name that is none)."""
    try:
        settings = replace(load_settings(env), **overrides)
    except SettingsError as error:
        raise SetupError(f"configuration error: {error}") from None
    logs.configure(settings.log_format, secrets_of(settings, env), verbose=verbose)
    return settings


def open_database(
    settings: Settings, *, web_worker: bool = False, read_only: bool = False
) -> Repository:
    """The database (`opened_engine`), the bot's whole API on it."""
    from storage.repository import Repository

    return Repository(opened_engine(settings, web_worker=web_worker, read_only=read_only))


def open_scan_store(settings: Settings) -> ScanStore:
    """The database (`opened_engine`), as a scan records in it: the lease and the recording,
    on SQLAlchemy Core alone (the ORM would be a tenth of a small account's terminal scan)."""
    from storage.scan_store import ScanStore

    return ScanStore(opened_engine(settings))


def opened_engine(
    settings: Settings, *, web_worker: bool = False, read_only: bool = False
) -> Engine:
    """The database, its schema brought up to date.

    `web_worker`: a gunicorn worker, answering Slack, waits on its database only as long as a
    Slack request can (storage.db.SERVING). Started while the database is down, it still boots,
    answers /healthz with 503 and tells people; commands stop with one line instead.
    `read_only`: the records as they are, for a report: a database that is not there, or not
    this version's, is an error rather than created or migrated (a mistyped DATABASE_URL must
    not give an auditor an empty record)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.domain.records import RecordsUnavailable
    from storage.db import SERVING, WORKING, SchemaNewer, make_engine, migrate, unreadable

    check_database_url(settings)
    patience = SERVING if web_worker else WORKING
    engine = make_engine(settings.database_url, read_only=read_only, patience=patience)
    logs.redact(engine.url.password)
    try:
        if read_only:
            problem = unreadable(engine)
            if problem:
                raise SetupError(f"cannot read the records (DATABASE_URL): {problem}")
        else:
            migrate(engine)
    except SchemaNewer as error:  # not an outage that passes: no process may serve from it
        raise SetupError(f"cannot open the database (DATABASE_URL): {error}") from None
    except (SQLAlchemyError, RecordsUnavailable, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        if not web_worker:
            raise SetupError(f"cannot open the database (DATABASE_URL): {reason}") from None
        log.error("the database is unavailable at start-up, serving anyway: %s", reason)
    return engine


def check_database_url(settings: Settings) -> None:
    """DATABASE_URL's form, checked without opening (or creating) anything."""
    problem = database_url_problem(settings.database_url)
    if problem:
        raise SetupError(f"configuration error: {problem}")


def bootstrap(
    env: Mapping[str, str],
    *,
    http: bool | None = None,
    web_worker: bool = False,
    answer_first: bool = True,
) -> Services:
    """The Slack bot's and the scanner's services, once the settings they need are there.

    `http`: whether Slack's requests come over HTTP (and must be verified); by default, unless
    SLACK_APP_TOKEN asks for Socket Mode."""
    from bot.aws.fast import aws_session

    settings = configure(env, verbose=True)
    serves_http = settings.slack_app_token is None if http is None else http
    # Before the database is opened (created, migrated): a bad setting changes nothing.
    check_database_url(settings)
    require_slack_settings(settings, socket_mode=not serves_http)
    repository = open_database(settings, web_worker=web_worker)
    session = aws_session(settings.aws_fast_parsing)
    return build_services(settings, repository, session, utc_now, answer_first=answer_first)


def build_services(
    settings: Settings,
    repository: Repository,
    aws_session: boto3.Session,
    clock: Clock,
    *,
    answer_first: bool = True,
) -> Services:
    """Everything the application uses, built here and nowhere else. `answer_first`: Slack's
    requests are acknowledged before their work, which runs on pools of its own (production);
    else the work runs in the request (tests read its outcome right after)."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.application.access import Access
    from bot.application.announcer import Announcer
    from bot.application.decisions import Decisions
    from bot.application.services import InlineExecutor, Services
    from bot.aws.accounts import account_iam
    from bot.slack.client import Approvers, OwnerDirectory, People, channel_members, make_client

    client = make_client(settings)
    approvers = Approvers(settings, client)
    viewers = channel_members(client, settings.slack_channel)

    def iam_for_account(account_id: str, before_each_request: Callable[[], None]) -> AccountIam:
        return account_iam(settings, aws_session, account_id, before_each_request)

    hub = build_security_hub(settings, aws_session, clock, repository)
    return Services(
        settings=settings,
        repository=repository,
        client=client,
        aws_session=aws_session,
        clock=clock,
        approvers=approvers,
        owners=OwnerDirectory(client),
        access=Access(repository, approvers, viewers, clock, People(client).name_of),
        announcer=Announcer(client, repository, settings, clock, approvers),
        decisions=Decisions(repository, settings, iam_for_account, clock, hub.publish_later),
        security_hub=hub,
        answer_first=answer_first,
        after_ack=(
            ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="after-ack")
            if answer_first
            else InlineExecutor()
        ),
        lookups=(
            ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="lookup")
            if answer_first
            else InlineExecutor()
        ),
    )


def build_security_hub(
    settings: Settings, aws_session: boto3.Session, clock: Clock, repository: ScanStore
) -> FindingsHub:
    """The findings' mirror in Security Hub, with one thread of its own when SECURITY_HUB is on
    (a decision never waits on it; what it was given is sent in order, as it is when sent)."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.application.security_hub import FindingsHub

    queue = (
        ThreadPoolExecutor(1, thread_name_prefix="security-hub") if settings.security_hub else None
    )
    return FindingsHub(aws_session, clock, queue, repository.findings_by_id)


def build_app(services: Services, *, socket_mode: bool = False) -> App:
    """The Bolt app, every listener registered on it (handlers/, by surface)."""
    from concurrent.futures import ThreadPoolExecutor

    from slack_bolt import App

    from handlers import register_listeners

    settings = services.settings
    require_slack_settings(settings, socket_mode=socket_mode)
    if not services.approvers.configured:
        log.warning("no SLACK_APPROVERS or SLACK_APPROVER_GROUP: every action will be refused")
    app = App(
        name="iam-inactive",  # else Bolt names it from inspect.stack(): 40 ms a start
        signing_secret=settings.slack_signing_secret or "",
        client=services.client,
        process_before_response=not services.answer_first,
        # Bolt's default is 5 threads, and clicks queued behind slow removals were answered
        # too late: listeners acknowledge first, and the slow ones hand their work on.
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="listener"),
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
    )
    register_listeners(app, services)
    return app


def build_scanner(services: Services, **options: Any) -> Scanner:
    """This process's scanner, woken whenever this process queues a scan."""
    from bot.application.scan_queue import Scanner

    scanner = Scanner(services, **options)
    services.scan_queued = scanner.wake
    return scanner


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
