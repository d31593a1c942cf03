"""Engines and migrations. SQLite is the embedded default; PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

from bot.domain.records import RecordsUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (a test keeps the two in step): when the database
# is already there, start-up skips loading alembic altogether.
HEAD_REVISION = "0013"
# Replicas starting together must not migrate at once: PostgreSQL serializes them on this lock.
MIGRATION_LOCK_ID = 7_243_001


def normalize_url(url: str) -> str:
    """Accept the URLs platforms hand out (postgres://...) and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Patience:
    """How long a process waits on its database before the wait is an outage: RecordsUnavailable,
    the person told, the thread free again. Seconds."""

    checkout: float  # for a pooled connection, all of them in use
    connect: int  # to open one, signing in included (libpq counts whole seconds, 2 at least)
    lock: float  # for a row lock (PostgreSQL's lock_timeout), SQLite's write lock (busy timeout)
    statement: float  # for a statement to run (PostgreSQL's statement_timeout, the server's)
    # For any one answer from PostgreSQL, on this side: when the server or the path to it hangs,
    # no statement_timeout ever ends the wait. Longer than `statement`, so that a server that is
    # only slow cancels its statement first and the connection stays usable.
    answer: float


# The web process (gunicorn's workers) answers Slack, which allows 3 s for an acknowledgement.
# Acknowledgements wait on no query (the work runs after them; /healthz waits at most
# HEALTH_WITHIN, bot/entry/web.py), but the threads doing the work are few: a database that
# hangs frees them within `answer` seconds (a new connection, `connect`), each person told so.
# Its queries are a page of findings, a history, an export's rows: milliseconds each; a
# decision's row lock is held for milliseconds, and a scan's recording holds its rows (SQLite:
# the write lock) about a second for 20,000 new findings.
SERVING = Patience(checkout=2, connect=2, lock=2, statement=3, answer=4)
# The scanner, Socket Mode's one process, the terminal's commands: nobody's acknowledgement
# waits on them, and a scan's recording of a large Organization is one transaction that may
# rightly wait on another process's for seconds.
WORKING = Patience(checkout=10, connect=5, lock=10, statement=30, answer=35)


def make_engine(url: str, *, read_only: bool = False, patience: Patience = WORKING) -> Engine:
    """`read_only`: for reports, which must not change the database they read (not even
    SQLite's journal mode). `patience`: SERVING for processes answering Slack."""
    url = normalize_url(url)
    # Enough connections for the Slack listener threads and the scheduler at once.
    pool = {"pool_size": 10, "max_overflow": 40, "pool_timeout": patience.checkout}
    if url.startswith("sqlite") and make_url(url).database in (None, "", ":memory:"):
        pool = {}  # one in-memory database lives in one connection
    if url.startswith("sqlite"):
        # No network: a lock held by another connection is what keeps SQLite's queries waiting,
        # and its busy timeout (the driver's `timeout`) the bound.
        busy = {"timeout": patience.lock}
        engine = create_engine(url, connect_args=busy, **pool)
        event.listen(engine, "connect", _sqlite_read_only if read_only else _sqlite_pragmas)
    else:
        limits = (
            f"-c statement_timeout={int(patience.statement * 1000)}"
            f" -c lock_timeout={int(patience.lock * 1000)}"
        )
        if read_only:
            limits += " -c default_transaction_read_only=on"
        given = make_url(url).query.get("options", "")  # e.g. a search_path: kept, ours after
        options = " ".join([*([given] if isinstance(given, str) else given), limits]).strip()
        connect_args = {"connect_timeout": patience.connect, "options": options}
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)
        event.listen(engine, "do_connect", partial(_answer_bound, patience.answer))
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _answer_bound(
    answer_within: float, _dialect: Dialect, _record: object, cargs: Any, cparams: Any
) -> Any:
    from storage.answers import connect  # psycopg: loaded for PostgreSQL only

    return connect(answer_within, *cargs, **cparams)


def _unavailable(context: ExceptionContext) -> None:
    """A database that cannot be reached (or is locked) is an outage the bot says so about,
    not a bug: the rest of the bot sees RecordsUnavailable."""
    error = context.sqlalchemy_exception
    if _probing(context) and _no_such_table(context.original_exception):
        return  # no schema yet: schema_revision says so, it is no outage
    if context.is_pre_ping:
        # A pooled connection that died (a restart, a failover): SQLAlchemy replaces it with a
        # new one, and only that one's failure is an outage.
        return
    if context.is_disconnect or isinstance(error, OperationalError | InterfaceError):
        reason = str(context.original_exception).strip().splitlines()[0][:200]
        raise RecordsUnavailable(reason) from context.original_exception


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_read_only(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    dbapi_connection.execute("PRAGMA query_only=ON")


class SchemaNewer(RuntimeError):
    """The database was migrated by a later version of iam-inactive: this one must not use it."""


def _newer(revision: str) -> str:
    return f"its schema (revision {revision}) is newer than this version of iam-inactive"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to run on every start, by several
    processes at once: they take turns).

    A schema already at HEAD_REVISION, every start but the first after an upgrade, costs one
    query: no lock is taken, nothing is reflected and alembic is not loaded."""
    revision = schema_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision > HEAD_REVISION:  # revisions are numbered 0001, ...
        raise SchemaNewer(_newer(revision))
    with _sqlite_file_locked(engine), engine.begin() as connection, _unhurried(connection):
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        if current_revision(connection) == HEAD_REVISION:
            return  # another process migrated it while this one waited for the lock
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _unhurried(connection: Connection) -> Iterator[None]:
    """A migration is not held to a web worker's bounds (no request waits on it: a worker
    migrates before it serves). On PostgreSQL none at all: another replica's migrating is
    waited for, and a migration may rightly run long. On SQLite, where migrating processes take
    turns on a file lock first, the scanner's wait for other writers' lock."""
    if connection.dialect.name == "sqlite":
        busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(WORKING.lock * 1000)}")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy}")
        return
    connection.execute(text("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0"))
    driver = connection.connection.driver_connection
    bound, driver.answer_within = driver.answer_within, None  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.answer_within = bound  # type: ignore[union-attr]


@contextmanager
def _sqlite_file_locked(engine: Engine) -> Iterator[None]:
    """SQLite has no advisory locks: processes migrating one file take turns on an flock of a
    lock file beside it. Never the database file itself: closing any handle on it would drop
    this process's SQLite locks on it, and another process could then delete the WAL."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate-lock", "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def unreadable(engine: Engine) -> str | None:
    """Why this database holds no records to read as they are (no SQLite file, no schema, or
    a schema of another version than this code's), or None; looks without creating anything."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if path and engine.url.query.get("uri") != "true" and not Path(path).is_file():
        return f"there is no database file at {path}"
    revision = schema_revision(engine)
    if revision is None:
        return "it holds no iam-inactive records (no schema)"
    if revision > HEAD_REVISION:  # revisions are numbered 0001, 0002, ...
        return _newer(revision)
    if revision != HEAD_REVISION:
        return f"its schema is at revision {revision}; run `python -m bot migrate` first"
    return None


# Set on the one query of schema_revision, for the handle_error hook.
_SCHEMA_PROBE = "iam_inactive_schema_probe"
_UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE


def schema_revision(engine: Engine) -> str | None:
    """The schema's revision in one query, or None when there is no schema yet. Any other
    failure raises as every query's does (RecordsUnavailable for an outage)."""
    with engine.connect() as connection:
        probe = connection.execution_options(**{_SCHEMA_PROBE: True})
        try:
            return probe.scalar(text("SELECT version_num FROM alembic_version"))
        except (OperationalError, ProgrammingError) as error:
            if _no_such_table(error.orig):
                return None  # the failed query's transaction ends with the connection
            raise


def _probing(context: ExceptionContext) -> bool:
    execution = context.execution_context
    return execution is not None and bool(execution.execution_options.get(_SCHEMA_PROBE))


def _no_such_table(error: BaseException | None) -> bool:
    """The database driver's error for a table that is not there (sqlite3, psycopg)."""
    if getattr(error, "sqlstate", None) == _UNDEFINED_TABLE:
        return True
    return str(error).startswith("no such table")


def current_revision(connection: Connection) -> str | None:
    """The revision as seen inside a transaction under way (a failed query would end it on
    PostgreSQL, so the table is looked for first)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))
