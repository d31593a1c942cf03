"""Writing many rows in one go, inside a caller's transaction.

SQLite takes an executemany as fast as one statement: the statement is compiled once per table
and columns, and each value converted by its column's own bind processor, once per distinct
value (a scan's rows share their times and verdicts), since SQLAlchemy's executemany,
converting every value of every row in turn, cost more than SQLite's writing them. PostgreSQL
answers each row of an executemany in turn, so there the rows travel as one JSON document and
the server spreads them with json_populate_recordset, typed by the table's own row type; each
value is first made what its column's type makes it (storage.tables: UTC times, text without
NUL, which PostgreSQL's text cannot hold).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Connection, Table, TypeDecorator, bindparam, insert, text, update
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (each with the same keys; a column left out is NULL or the database's
    default, as on PostgreSQL, not the Column's Python-side default)."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql":
        _executemany(connection, _prepared(table, tuple(rows[0]), None, dialect), rows)
        return
    names = ", ".join(rows[0])
    connection.execute(
        text(
            f"INSERT INTO {table.name} ({names}) SELECT {names} "
            f"FROM json_populate_recordset(NULL::{table.name}, :rows)"
        ),
        {"rows": _document(table, rows, dialect)},
    )


def update_rows(
    connection: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """UPDATE the row whose `key` column equals each row's `key`, to that row's other values."""
    if not rows:
        return
    names = [name for name in rows[0] if name != key]
    dialect = connection.dialect
    if dialect.name != "postgresql":
        _executemany(connection, _prepared(table, tuple(names), key, dialect), rows)
        return
    assignments = ", ".join(f"{name} = given.{name}" for name in names)
    connection.execute(
        text(
            f"UPDATE {table.name} SET {assignments} "
            f"FROM json_populate_recordset(NULL::{table.name}, :rows) AS given "
            f"WHERE {table.name}.{key} = given.{key}"
        ),
        {"rows": _document(table, rows, dialect)},
    )


@dataclass(frozen=True)
class _Prepared:
    sql: str
    binds: tuple[tuple[str, Processor | None], ...]  # in order: the row's key, its processor


@lru_cache(maxsize=64)
def _prepared(table: Table, names: tuple[str, ...], key: str | None, dialect: Dialect) -> _Prepared:
    """The INSERT of `names` (`key` None), or the UPDATE of `names` by `key`, compiled once."""
    values: dict[str, Any] = {name: bindparam(name) for name in names}
    statement = (
        insert(table).values(values)
        if key is None
        else update(table).where(table.c[key] == bindparam(f"_{key}")).values(values)
    )
    compiled = statement.compile(dialect=dialect)
    binds = tuple(
        (
            key if key is not None and name == f"_{key}" else name,
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
        )
        for name in compiled.positiontup or ()  # SQLite's parameters are positional
    )
    return _Prepared(compiled.string, binds)


def _executemany(
    connection: Connection, prepared: _Prepared, rows: Sequence[dict[str, Any]]
) -> None:
    """The statement once for each row, column by column: a column's values are bound as its
    type binds them, each distinct value converted once."""
    columns = []
    for name, process in prepared.binds:
        values = [row[name] for row in rows]
        columns.append(values if process is None else list(map(_remembering(process), values)))
    connection.exec_driver_sql(prepared.sql, list(zip(*columns, strict=True)))


def _remembering(process: Processor) -> Processor:
    """`process`, remembering what it made of each value (by type too: 1 and True are equal,
    and may be bound differently)."""
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


def _document(table: Table, rows: Sequence[dict[str, Any]], dialect: Dialect) -> str:
    made = {
        name: _remembering(partial(column_type.process_bind_param, dialect=dialect))
        for name in rows[0]
        if isinstance(column_type := table.c[name].type, TypeDecorator)
    }
    if made:
        rows = [
            {name: made[name](value) if name in made else value for name, value in row.items()}
            for row in rows
        ]

    def encode(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).isoformat()
        raise TypeError(f"{type(value).__name__} is not a column value")

    return json.dumps(rows, default=encode)
