"""The schema: the migrations make what storage.tables describes, on SQLite and PostgreSQL; the
ORM's classes and FindingView name its columns as they are."""

from __future__ import annotations

from typing import get_type_hints

from sqlalchemy import inspect, select, text

from bot.domain.records import FindingView
from storage import models, tables
from storage.db import (
    HEAD_REVISION,
    MIGRATIONS,
    current_revision,
    make_engine,
    migrate,
    normalize_url,
)


def test_migrations_create_the_schema_the_tables_describe(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # running again is harmless
    tables = set(inspect(engine).get_table_names())
    assert {"scans", "scan_accounts", "findings", "audit_events", "alembic_version"} <= tables
    with engine.connect() as connection:
        assert connection.scalar(select(models.Finding.id).limit(1)) is None
    engine.dispose()


def test_migrations_match_the_tables(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), tables.metadata) == []
    engine.dispose()


PARTIAL_INDEX_PREDICATE = {
    "sqlite": "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name",
    "postgresql": (
        "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = to_regclass(:name)"
    ),
}


def test_the_migrations_make_each_partial_index_with_the_models_predicate(database_url):
    """The models declare a partial index's predicate with SQLite's keyword only
    (tables.partial_unique_index): each database must hold it as written there."""

    def words(predicate: str) -> str:  # PostgreSQL adds parentheses; SQLite keeps the DDL
        return " ".join(predicate.replace("(", " ").replace(")", " ").split()).lower()

    engine = make_engine(database_url)
    migrate(engine)
    partial = [
        index
        for table in tables.metadata.tables.values()
        for index in table.indexes
        if index.dialect_options["sqlite"]["where"] is not None
    ]
    assert {index.name for index in partial} == {
        "uq_findings_open_user",
        "uq_findings_open_key",
        "uq_assessments_current",
    }
    with engine.connect() as connection:
        query = text(PARTIAL_INDEX_PREDICATE[engine.dialect.name])
        for index in partial:
            held = connection.scalar(query, {"name": index.name})
            assert held is not None, index.name
            declared = words(index.dialect_options["sqlite"]["where"].text)
            if engine.dialect.name == "sqlite":
                held = held.split(" WHERE ", 1)[1]
            assert words(held) == declared, index.name
    engine.dispose()


def test_platform_postgres_urls_use_psycopg():
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_head_revision_start_up_checks_is_the_newest_migration():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_a_current_schema_is_not_migrated_again(repository):
    with repository.engine.connect() as connection:
        assert current_revision(connection) == HEAD_REVISION
    migrate(repository.engine)  # a no-op: the revision is current
    with repository.engine.connect() as connection:
        assert current_revision(connection) == HEAD_REVISION


def test_the_orm_classes_type_each_column_of_their_table_as_it_is():
    """SQLAlchemy maps a class onto its `__table__` whatever the class's annotations say; they
    type the columns for readers and mypy, so a column added, dropped, renamed or made
    nullable in storage.tables must be so in storage.models too."""
    for mapper in models.Base.registry.mappers:
        columns = mapper.local_table.columns
        annotated = {
            name: hint
            for name, hint in mapper.class_.__annotations__.items()
            if name not in mapper.relationships
        }
        assert set(annotated) == set(columns.keys()), mapper.class_.__name__
        for name, hint in annotated.items():
            column = columns[name]
            nullable = column.nullable and not column.primary_key
            assert ("None" in hint) == nullable, f"{mapper.class_.__name__}.{name}: {hint}"


def test_findingview_names_every_column_of_a_finding_as_it_is():
    """What the code above storage reads of a finding is its row, whole (storage.views)."""
    hints = get_type_hints(FindingView)
    assert set(hints) == set(tables.findings.columns.keys())
    for column in tables.findings.columns:
        nullable = column.nullable and not column.primary_key
        assert (type(None) in getattr(hints[column.key], "__args__", ())) == nullable, column.key
