"""Writing many rows in one go, inside a caller's transaction.

SQLite takes an executemany as fast as one statement: the statement is compiled once and each
value converted by its column's own bind processor, once per distinct value (a scan's rows
share their times and verdicts), since SQLAlchemy's executemany, converting every value of
every row in turn, cost more than SQLite's writing them. PostgreSQL answers each row of an
executemany in turn, so there the rows travel as one JSON document and the server spreads them
with json_populate_recordset, typed by the table's own row type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, insert, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (each with the same keys; a column left out is NULL or the database's
    default, as on PostgreSQL, not the model's Python-side default)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        _executemany(
            session, insert(table).values({name: bindparam(name) for name in rows[0]}), rows
        )
        return
    names = ", ".join(rows[0])
    session.execute(
        text(
            f"INSERT INTO {table.name} ({names}) SELECT {names} "
            f"FROM json_populate_recordset(NULL::{table.name}, :rows)"
        ),
        {"rows": _document(rows)},
    )


def update_rows(session: Session, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE the row whose `key` column equals each row's `key`, to that row's other values."""
    if not rows:
        return
    names = [name for name in rows[0] if name != key]
    if session.get_bind().dialect.name != "postgresql":
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"_{key}"))
            .values({name: bindparam(name) for name in names})
        )
        values = [{f"_{key}": row[key], **{name: row[name] for name in names}} for row in rows]
        _executemany(session, statement, values)
        return
    assignments = ", ".join(f"{name} = given.{name}" for name in names)
    session.execute(
        text(
            f"UPDATE {table.name} SET {assignments} "
            f"FROM json_populate_recordset(NULL::{table.name}, :rows) AS given "
            f"WHERE {table.name}.{key} = given.{key}"
        ),
        {"rows": _document(rows)},
    )


def _executemany(
    session: Session, statement: Insert | Update, rows: Sequence[dict[str, Any]]
) -> None:
    """`statement` once for each row, its values as the statement's parameters' types bind them."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup or []  # SQLite's parameters are positional
    converters = [(name, _converter(compiled.binds[name].type, dialect)) for name in order]
    connection.exec_driver_sql(
        compiled.string,
        [tuple(convert(row[name]) for name, convert in converters) for row in rows],
    )


def _converter(column_type: Any, dialect: Dialect) -> Any:
    """The column type's bind processor, remembering what it made of each value (by type too:
    1 and True are equal, and may be bound differently)."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return lambda value: value
    made: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        try:
            return made[(type(value), value)]
        except KeyError:
            made[(type(value), value)] = converted = process(value)
            return converted
        except TypeError:  # unhashable (a JSON document): converted every time
            return process(value)

    return convert


def _document(rows: Sequence[dict[str, Any]]) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).isoformat()
        raise TypeError(f"{type(value).__name__} is not a column value")

    return json.dumps(rows, default=encode)
