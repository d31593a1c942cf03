"""psycopg's connection, waiting a bounded time for the server's every answer.

PostgreSQL's statement_timeout is the server's: a server that hangs (its host's TCP still
answering, so no keepalive or `tcp_user_timeout` notices), or a proxy in between that does,
never cancels the statement, and the thread waiting for its answer would wait forever.

Imported only for PostgreSQL URLs (SQLite deployments do not load psycopg). The bound is applied
through `Connection.wait`, psycopg's one wait for the server after connecting (queries, fetches,
commits, rollbacks, the pool's pings), and its `timeout` (psycopg 3.3, pinned in
requirements.txt); tests/integration/test_hung_database.py fails if that stops working.
"""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen

RV = TypeVar("RV")


class AnswerBoundConnection(psycopg.Connection[Any]):
    """A connection that gives up on an answer after `answer_within` seconds (None: never):
    it is closed (its statement may still be running on a server that hangs; it ends with its
    connection) and the wait raises an OperationalError, an outage to the bot."""

    answer_within: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        if timeout is not None or self.answer_within is None:
            return super().wait(gen, interval, timeout)  # psycopg's own bounded waits
        try:
            return super().wait(gen, interval, self.answer_within)
        except psycopg.errors._WaitTimeout:  # no other error of psycopg's says "no answer"
            self.close()  # mid-protocol: nothing more can be read or sent on it
            raise psycopg.OperationalError(
                f"the database did not answer within {self.answer_within:g} s"
            ) from None


def connect(answer_within: float | None, *cargs: Any, **cparams: Any) -> AnswerBoundConnection:
    """What SQLAlchemy's dialect would connect (its arguments), answer-bound."""
    connection = AnswerBoundConnection.connect(*cargs, **cparams)
    connection.answer_within = answer_within
    return connection
