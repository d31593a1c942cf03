"""Cron schedules: parsing the settings' crontab lines, and naming a fire time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # apscheduler loads when a schedule is parsed: a terminal scan parses none
    from apscheduler.triggers.cron import CronTrigger

LOOKBACK = timedelta(hours=2)


class CronError(ValueError):
    """Not a crontab line."""


def parse_cron(expression: str, zone: tzinfo) -> CronTrigger:
    """A crontab line (5 fields), or 6 fields with seconds first (for fast test schedules)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(expression, timezone=zone)
        if len(fields) == 6:
            second, minute, hour, day, month, day_of_week = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=day_of_week,
                timezone=zone,
            )
    except ValueError as error:
        raise CronError(f"not a valid crontab line: {error}") from None
    raise CronError(f"expected 5 crontab fields, got {len(fields)}")


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
