"""Every user's verdict, scan after scan, as intervals (storage.tables.assessments): recorded
with the scan, in its transaction, and read back as a period's population (storage.evidence)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from bot.domain.population import changes, verdicts
from bot.domain.scan import AccountScan
from storage.bulk import insert_rows, update_rows
from storage.tables import assessments as _assessment


def record(connection: Connection, account: AccountScan, now: datetime) -> None:
    """An account the scan read: its users' verdicts brought up to date, set-based (one read,
    at most one update and one insert). A failed account's verdicts stay as they were."""
    account_id = account.target.account_id
    current = {
        name: (interval, verdict)
        for interval, name, verdict in connection.execute(
            select(_assessment.c.id, _assessment.c.user_name, _assessment.c.verdict).where(
                _assessment.c.account_id == account_id, _assessment.c.until.is_(None)
            )
        )
    }
    found = changes(current, verdicts(account))
    update_rows(connection, _assessment, "id", [{"id": i, "until": now} for i in found.ended])
    insert_rows(
        connection,
        _assessment,
        [
            {"account_id": account_id, "user_name": name, "verdict": verdict, "since": now}
            for name, verdict in found.begun.items()
        ],
    )
