"""Writing many rows in one go, inside a caller's transaction.

SQLite takes an executemany as fast as one statement. PostgreSQL answers each row of an
executemany in turn, so there the rows travel as one JSON document and the server spreads them
with json_populate_recordset, typed by the table's own row type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (each with the same keys)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
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
        session.execute(statement, values)
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


def _document(rows: Sequence[dict[str, Any]]) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).isoformat()
        raise TypeError(f"{type(value).__name__} is not a column value")

    return json.dumps(rows, default=encode)
