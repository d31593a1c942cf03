"""The one source of "now": every service takes a Clock, entry points pass `utc_now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A time in UTC; one without a zone is taken to be UTC already (AWS and SQLite drop it)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """A time as people's tools read it: ISO 8601 in UTC, or None."""
    return as_utc(moment).isoformat() if moment else None


def parse_iso(text: str) -> datetime:
    """A time `iso` wrote, back."""
    return as_utc(datetime.fromisoformat(text))
