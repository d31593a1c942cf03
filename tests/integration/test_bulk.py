"""Writing many rows at once (storage.bulk converts the values itself on SQLite, and sends them as
one JSON document to PostgreSQL) stores what SQLAlchemy's own statements store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Connection, insert, select, update

from storage import tables
from storage.bulk import insert_rows, update_rows
from storage.db import make_engine, migrate

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EVENTS = tables.audit_events
COLUMNS = [column for column in EVENTS.c if column.key != "id"]


def _event(number: int, **values: object) -> dict[str, object]:
    return {
        "finding_id": None,
        "at": AT.astimezone(timezone(timedelta(hours=number))),  # one moment, other offsets
        "actor": "scanner",
        "actor_name": "Zoë\x00 O'Brien" if number % 2 else None,
        "surface": "scan",
        "action": "opened",
        "from_state": None,
        "to_state": "open",
        "reason": f"idle {number} days",
        "details": {"keys": [number, True, None]} if number % 3 else None,
        **values,
    }


def _stored(connection: Connection, since: int) -> list[tuple]:
    query = select(*COLUMNS).where(EVENTS.c.id > since).order_by(EVENTS.c.id)
    return [tuple(row) for row in connection.execute(query)]


def test_bulk_writes_store_what_sqlalchemy_stores(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    rows = [_event(number) for number in range(6)]
    changed = {"reason": "\x00kept", "at": AT + timedelta(days=1), "details": {"by": "U1"}}
    with engine.connect() as connection:
        connection.execute(insert(EVENTS), rows)
        given = connection.execute(select(EVENTS.c.id).order_by(EVENTS.c.id)).scalars().all()
        for event_id in given:
            connection.execute(update(EVENTS).where(EVENTS.c.id == event_id).values(changed))
        expected = _stored(connection, 0)
        insert_rows(connection, EVENTS, rows)
        update_rows(
            connection,
            EVENTS,
            "id",
            [{"id": event_id + len(rows), **changed} for event_id in given],
        )
        assert _stored(connection, len(rows)) == expected
    engine.dispose()
