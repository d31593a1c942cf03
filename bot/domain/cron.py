"""Cron schedules: parsing the settings' crontab lines, and naming a fire time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # apscheduler loads when a schedule is parsed: a terminal scan parses none
    from apscheduler.triggers.cron import CronTrigger

LOOKBACK = timedelta(hours=2)
# crontab's days of the week, Sunday first (0, and 7 too); APScheduler's own numbers start on
# Monday, so the day-of-week field reaches it as names.
CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class CronError(ValueError):
    """Not a crontab line."""


def parse_cron(expression: str, zone: tzinfo) -> CronTrigger:
    """A crontab line (5 fields), or 6 fields with seconds first (for fast test schedules)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) not in (5, 6):
        raise CronError(f"expected 5 crontab fields, got {len(fields)}")
    *second, minute, hour, day, month, day_of_week = fields
    try:
        return CronTrigger(
            second=second[0] if second else 0,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=crontab_days(day_of_week),
            timezone=zone,
        )
    except ValueError as error:
        raise CronError(f"not a valid crontab line: {error}") from None


def crontab_days(field: str) -> str:
    """A crontab day-of-week field (numbers with Sunday as 0 or 7, names, ranges, steps, lists)
    as the names of the days it means, for APScheduler."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 0, 6
        else:
            start, _, end = span.partition("-")
            first = _day(start)
            last = _day(end) if end else (6 if step else first)
        if not step.isdigit() and step or first > last:
            raise ValueError(f"not a day-of-week field: {field!r}")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(CRONTAB_DAYS[day] for day in sorted(days))


def _day(value: str) -> int:
    if value.isdigit() and int(value) <= 7:
        return int(value)
    if value[:3] in CRONTAB_DAYS and len(value) == 3:
        return CRONTAB_DAYS.index(value)
    raise ValueError(f"not a day of the week: {value!r}")


def latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The most recent fire time at or before `now`: the key every replica agrees on."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - LOOKBACK)
    while moment is not None and moment <= now:
        latest = moment
        # A microsecond on in UTC: in local wall time, the night the clocks go back would lose
        # which of the two 02:05s this is, and step back an hour, for ever.
        after = moment.astimezone(UTC) + timedelta(microseconds=1)
        moment = trigger.get_next_fire_time(moment, after)
    return latest
