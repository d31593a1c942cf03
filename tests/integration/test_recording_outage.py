"""A scan's recording cut off by the database, on PostgreSQL: nothing half-written, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import event, func, select

from bot.domain.records import RecordsUnavailable
from storage import models
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.integration.conftest import POSTGRES_URL, session_of
from tests.support.bot_harness import idle_scan

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.postgres
def test_a_connection_cut_between_the_bulk_inserts_leaves_nothing_and_a_rescan_records_all(
    postgres_url,
):
    """The server ends the recording's connection once the findings are written, before their
    audit rows: the scan, its findings and their audit rows are there all together or not at
    all, and recording the same scan again records every finding once."""
    engine = make_engine(postgres_url)
    migrate(engine)
    repository = Repository(engine)
    scan = idle_scan({"111122223333": 300, "444455556666": 200}, NOW, cleared=500)
    cut = []

    @event.listens_for(engine, "before_cursor_execute")
    def cut_before_the_audit_rows(_conn, cursor, statement, *_args):
        if statement.lstrip().startswith("INSERT INTO audit_events") and not cut:
            cut.append(cursor.connection.info.backend_pid)
            with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (cut[0],))

    with pytest.raises(RecordsUnavailable):
        repository.record_scan(scan, "cli", dry_run=False)
    assert cut, "the recording never reached its audit rows"

    def counted() -> tuple[int, int, int]:
        with session_of(repository) as session:
            return tuple(
                session.scalar(select(func.count()).select_from(table))
                for table in (models.Scan, models.Finding, models.AuditEvent)
            )

    assert counted() == (0, 0, 0)
    record = repository.record_scan(scan, "cli", dry_run=False)
    assert len(record.new) == 500
    assert counted() == (1, 500, 500)
