"""The schema check every start makes (SQLite, PostgreSQL): one query when the schema is
current; a schema not there yet, or older, is migrated; an outage stays an outage."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text

from bot.domain.records import RecordsUnavailable
from storage.db import HEAD_REVISION, MIGRATIONS, make_engine, migrate, schema_revision

PROBE = "SELECT version_num FROM alembic_version"


def statements_of(engine: Engine, work) -> list[str]:
    """The SQL statements `work()` sends through the engine."""
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def test_a_current_schema_costs_one_query_at_start_up(database_url):
    engine = make_engine(database_url)
    migrate(engine)  # creates the schema
    with engine.connect():
        pass  # the dialect's first-connection queries, which are not the check's
    assert statements_of(engine, lambda: migrate(engine)) == [PROBE]
    assert statements_of(engine, lambda: schema_revision(engine)) == [PROBE]
    engine.dispose()


def test_a_database_without_a_schema_is_migrated_to_the_head(database_url):
    engine = make_engine(database_url)
    assert schema_revision(engine) is None
    migrate(engine)
    assert schema_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_an_older_schema_is_migrated_to_the_head(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:  # as a release before this one left it
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    assert schema_revision(engine) == "0006"
    migrate(engine)
    assert schema_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_only_the_check_reads_a_missing_table_as_no_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert schema_revision(engine) is None
    with pytest.raises(RecordsUnavailable), engine.connect() as connection:
        connection.execute(text("SELECT id FROM findings"))  # any other query: as before
    engine.dispose()


def test_a_database_that_cannot_be_opened_is_an_outage(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'bot.db'}")
    with pytest.raises(RecordsUnavailable):
        schema_revision(engine)
    with pytest.raises(RecordsUnavailable):
        migrate(engine)
    engine.dispose()
