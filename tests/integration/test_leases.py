"""The scan lease on PostgreSQL, where two processes take it at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from storage import models
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.integration.conftest import session_of
from tests.integration.test_storage import T0


@pytest.mark.postgres
def test_a_lease_released_while_it_is_being_taken_is_taken_not_reported_held(postgres_url):
    """Between the statement that finds the lease held and the one that reads its holder,
    the holder releases it (READ COMMITTED sees that): the lease is then free to take."""
    engine = make_engine(postgres_url)
    migrate(engine)
    repository = Repository(engine)
    assert repository.take_lease("scan", "sweep (a:1)", T0, T0 + timedelta(hours=1)) is None
    released = []

    @event.listens_for(engine, "before_cursor_execute")
    def release_first(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT LEASES.HOLDER") and not released:
            released.append(True)
            Repository(make_engine(postgres_url)).release_lease("scan", "sweep (a:1)")

    assert repository.take_lease("scan", "cli (b:2)", T0, T0 + timedelta(hours=1)) is None
    assert released == [True]
    with session_of(repository) as session:
        assert session.get(models.Lease, "scan").holder == "cli (b:2)"
    engine.dispose()
