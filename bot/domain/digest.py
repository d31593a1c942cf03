"""The weekly digest: the week's decisions, what is open and for how long, who is being waited
on, keeps about to expire, scan failures, the week's idle access keys (found, deactivated,
reactivated, deleted), and the trend of open findings week by week.

`summarize` is pure (rows in, DigestFacts out); the Slack side renders it, text and chart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVar

from bot.domain.access_keys import riding_keys
from bot.domain.records import FindingView
from bot.domain.risk import by_risk
from bot.domain.workflow import CARRIED_OUT, AuditAction, State

WEEK = timedelta(days=7)  # the digest's period, as a calendar week in its time zone
# Removals made in a dry run, counted apart from those carried out (the audit action is the same).
DISABLED_IN_DRY_RUN = "disabled in a dry run"
WEEKS_OF_TREND = 8
KEEPS_EXPIRING_WITHIN = timedelta(days=14)
F = TypeVar("F", bound=FindingView)
# An idle key is a finding from KEY_IDLE_DAYS (45 by default), a password from IDLE_DAYS (90).
AGE_BUCKETS = (
    (0, "under 90 days"),
    (90, "90-179 days"),
    (180, "180-364 days"),
    (365, "a year or more"),
)
WEEK_ACTIONS = (
    AuditAction.OPENED,
    State.DISABLED,
    State.KEPT,
    State.ABORTED,
    State.RESOLVED,
)


@dataclass(frozen=True)
class WeekPoint:
    week_end: datetime
    open_findings: int


@dataclass(frozen=True)
class KeyWeek:
    """Idle access keys in the digest's week, counted as keys (a password finding carries its
    user's idle keys; a key finding is one key)."""

    found: int = 0  # by findings first seen this week
    deactivated: int = 0
    reactivated: int = 0
    deleted: int = 0


def week_start(now: datetime, zone: tzinfo) -> datetime:
    """The start of the digest's week: the same time of day a calendar week before `now`, in the
    digest's time zone. Digests on a weekly cron so cover each moment once, across a clock
    change (7 x 24 hours would leave out, or count twice, the hour the clocks move)."""
    return (now.astimezone(zone) - WEEK).astimezone(UTC)


@dataclass(frozen=True)
class DigestFacts:
    week_actions: dict[str, int]  # the week's decisions, by audit action (`disabled`: carried out)
    open_total: int
    open_by_age: dict[str, int]
    open_by_account: dict[str, int]
    top_risks: list[FindingView]  # open privileged findings, the riskiest first
    waiting_on_owners: list[tuple[FindingView, int]]  # the finding, days waited
    keeps_expiring: list[FindingView]
    failed_scans: list[tuple[datetime, str, str | None]]  # when, account, error
    trend: list[WeekPoint]  # oldest first, the current week last
    week_keys: KeyWeek
    disabled_in_dry_run: int = 0  # removals made in a dry run this week (not in `disabled`)


def summarize(
    now: datetime,
    findings: Sequence[FindingView],
    week_actions: dict[str, int],
    failed_scans: Sequence[tuple[datetime, str, str | None]],
    since: datetime | None = None,
) -> DigestFacts:
    """`findings`: every finding open now or closed within the trend window; `since`: the
    week's start (`week_start`; 7 days before `now` if not given)."""
    open_now = [row for row in findings if row.closed_at is None]
    ages = Counter(_age_bucket(row.days_idle) for row in open_now)
    waiting = [
        (row, (now - row.asked_at).days if row.asked_at else 0)
        for row in open_now
        if row.state == State.AWAITING_OWNER
    ]
    return DigestFacts(
        week_actions={action: week_actions.get(action, 0) for action in WEEK_ACTIONS},
        disabled_in_dry_run=week_actions.get(DISABLED_IN_DRY_RUN, 0),
        open_total=len(open_now),
        open_by_age={label: ages[label] for _days, label in AGE_BUCKETS if ages[label]},
        open_by_account=dict(sorted(Counter(row.account_id for row in open_now).items())),
        top_risks=sorted((row for row in open_now if row.privileged), key=by_risk),
        waiting_on_owners=sorted(waiting, key=lambda pair: -pair[1]),
        keeps_expiring=keeps_ending(open_now, now),
        failed_scans=list(failed_scans),
        trend=open_per_week(findings, now),
        week_keys=keys_of_week(findings, since or now - WEEK),
    )


def keys_of_week(findings: Iterable[FindingView], since: datetime) -> KeyWeek:
    """What became of idle access keys in the week from `since`, from the findings' records: a
    removal's keys count as deactivated when it was carried out this week (whatever came of them
    since), as reactivated or deleted when that was its last step, this week."""
    found = deactivated = reactivated = deleted = 0
    for row in findings:
        if row.first_seen >= since:
            found += 1 if row.key_created is not None else len(riding_keys(row))
        keys = len(row.deactivated_keys or ())
        if row.state in CARRIED_OUT and row.closed_at is not None and row.closed_at >= since:
            deactivated += keys
        changed_this_week = row.state_changed_at is not None and row.state_changed_at >= since
        if changed_this_week and row.state == State.REACTIVATED:
            reactivated += keys
        if changed_this_week and row.state == State.KEYS_DELETED:
            deleted += keys
    return KeyWeek(found, deactivated, reactivated, deleted)


def keeps_ending(rows: Iterable[F], now: datetime) -> list[F]:
    """Keeps still running that end within KEEPS_EXPIRING_WITHIN, soonest first: shown to
    approvers (the digest, the Home tab) so that none reopens by surprise."""
    ending = [
        row
        for row in rows
        if row.state == State.KEPT
        and row.kept_until is not None
        and now <= row.kept_until <= now + KEEPS_EXPIRING_WITHIN
    ]
    return sorted(ending, key=lambda row: (row.kept_until, by_risk(row)))


def open_per_week(findings: Sequence[FindingView], now: datetime) -> list[WeekPoint]:
    """How many findings were open at the end of each of the last WEEKS_OF_TREND weeks."""
    points = []
    for weeks_back in range(WEEKS_OF_TREND - 1, -1, -1):
        end = now - timedelta(weeks=weeks_back)
        count = sum(
            1
            for row in findings
            if row.first_seen <= end and (row.closed_at is None or row.closed_at > end)
        )
        points.append(WeekPoint(end, count))
    return points


def trend_text(trend: Sequence[WeekPoint]) -> str:
    """The trend as text, for every reader and where no image can be uploaded."""
    bars = "▁▂▃▄▅▆▇█"
    top = max((point.open_findings for point in trend), default=0) or 1
    spark = "".join(bars[round(point.open_findings / top * (len(bars) - 1))] for point in trend)
    counts = " → ".join(str(point.open_findings) for point in trend)
    change = trend[-1].open_findings - trend[-2].open_findings if len(trend) > 1 else 0
    return f"{spark}  {counts} ({change:+d} on last week)"


def _age_bucket(days_idle: int) -> str:
    label = AGE_BUCKETS[0][1]
    for threshold, name in AGE_BUCKETS:
        if days_idle >= threshold:
            label = name
    return label
