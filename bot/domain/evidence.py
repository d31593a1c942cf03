"""Evidence for access reviews: every finding of a period with its whole recorded history.

Pure: the period an export covers, its rows (one per audit event, the finding's columns repeated,
so an auditor can filter a spreadsheet by user, action or actor), the JSON document (findings
with their events nested) and the summary of the period. Storage reads the rows; the terminal
and Slack only write out what is built here.

A finding is in a period when it was first seen in it or has any audit event in it; it is
exported with its whole history, events before and after the period included. The summary
counts what happened within the period.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from bot.domain.about import About
from bot.domain.access_keys import finding_key, key_fields, riding_keys
from bot.domain.clock import as_utc, iso
from bot.domain.records import EventView, FindingView
from bot.domain.scan import ACCOUNT_ID
from bot.domain.sheets import sheet
from bot.domain.workflow import CARRIED_OUT, CLOSED_STATES, State

DEFAULT_DAYS = 90
LONGEST_DAYS = 3650

# Stable column order (documented in docs/evidence.md): append, never
# reorder or rename, since auditors' spreadsheets and scripts refer to them.
FINDING_COLUMNS = (
    "finding_id",
    "account_id",
    "user_name",
    "user_arn",
    "privileged",
    "privilege",
    "mfa_active",
    "category",
    "owner",
    "first_seen",
    "last_seen",
    "days_idle",
    "password_last_used",
    "newest_key_used",
    "state",
    "outcome",
    "dry_run",
    "closed_at",
    "resolution",
)
EVENT_COLUMNS = (
    "event_id",
    "event_at",
    "action",
    "actor",
    "surface",
    "from_state",
    "to_state",
    "reason",
    "kept_until",
    "details",
    "aws_request_id",
    "checked_after",
    "actor_name",
)
# Appended for idle access keys (issue 23), after every column above: an idle_key finding's key
# (empty on a password finding), the idle keys riding on a password finding, the keys its
# removal deactivated; of an event, the keys a step on keys acted on (`details["keys"]`).
FINDING_KEY_COLUMNS = (
    "key_id",
    "key_created",
    "key_last_used",
    "key_last_used_service",
    "idle_keys",
    "deactivated_keys",
)
EVENT_KEY_COLUMNS = ("keys",)
COLUMNS = FINDING_COLUMNS + EVENT_COLUMNS + FINDING_KEY_COLUMNS + EVENT_KEY_COLUMNS

# The audit actions that count as someone's decision on a finding (for days to decision).
DECISIONS = frozenset({State.DISABLE_REQUESTED, State.KEPT})


class EvidenceError(ValueError):
    """An export that cannot be made as asked (a bad date or account id); says which."""


class EvidenceFinding(FindingView, Protocol):
    user_arn: str
    last_seen: datetime


class EvidenceEvent(EventView, Protocol):
    id: int
    actor_name: str | None
    surface: str
    from_state: str | None
    to_state: str | None
    details: dict[str, Any] | None


Record = tuple[EvidenceFinding, Sequence[EvidenceEvent]]


@dataclass(frozen=True)
class Period:
    """From `since` (included) to `until` (excluded), both UTC."""

    since: datetime
    until: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    @property
    def last_day(self) -> date:
        return (self.until - timedelta(microseconds=1)).date()

    def describe(self) -> str:
        """Whole days when the period is whole days, else its bounds to the second (a period
        of the last N days from now must not seem to cover its first day's early hours)."""
        if self.since.time() == self.until.time() == time():
            return f"{self.since:%Y-%m-%d} to {self.last_day:%Y-%m-%d} (UTC)"
        return f"{self.since:%Y-%m-%d %H:%M:%S} to {self.until:%Y-%m-%d %H:%M:%S} (UTC)"


def period_of(since: str | None, until: str | None, now: datetime) -> Period:
    """The period the terminal's `--since` / `--until` ask for: whole UTC days, `until` included
    (or a moment, when a time is given). Without `until`: up to now; without `since`: the
    DEFAULT_DAYS before `until`."""
    end = _moment("--until", until, next_day=True) if until else now
    try:
        start = _moment("--since", since) if since else end - timedelta(days=DEFAULT_DAYS)
    except OverflowError:  # DEFAULT_DAYS before year 1's first days
        raise EvidenceError(f"--until ({until}) leaves no {DEFAULT_DAYS} days before it.") from None
    if end <= start:
        raise EvidenceError(f"--until ({until or 'now'}) must be after --since ({since}).")
    return Period(start, end)


def days_asked(words: Sequence[str]) -> int | None:
    """The days `/iam-inactive export [days]` covers; None unless the words are at most one
    whole number from 1 to LONGEST_DAYS."""
    if not words:
        return DEFAULT_DAYS
    if len(words) > 1 or not (words[0].isascii() and words[0].isdigit()):
        return None
    days = int(words[0])
    return days if 1 <= days <= LONGEST_DAYS else None


def last_days(days: int, now: datetime) -> Period:
    return Period(now - timedelta(days=days), now)


def check_account(account_id: str | None) -> str | None:
    if account_id is not None and not ACCOUNT_ID.fullmatch(account_id):
        raise EvidenceError(f"--account takes a 12-digit AWS account id, not {account_id!r}.")
    return account_id


def _moment(option: str, text: str, *, next_day: bool = False) -> datetime:
    try:  # a day, in any of ISO 8601's forms (2026-03-31, 20260331): the whole day
        day = date.fromisoformat(text) + timedelta(days=1 if next_day else 0)
        return datetime.combine(day, time(), UTC)
    except OverflowError:  # the day after 9999-12-31
        raise EvidenceError(f"{option} takes a day before 9999-12-31, not {text!r}.") from None
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EvidenceError(
            f"{option} takes a date (YYYY-MM-DD) or an ISO 8601 time, not {text!r}."
        ) from None
    return as_utc(moment)


@dataclass(frozen=True)
class Summary:
    """What happened in the period; each count is of findings (one with two failures counts
    once), `still_open` of the exported findings neither closed nor kept at the period's end."""

    period: Period
    account_id: str | None
    findings: int
    found: int
    removed: int
    removed_in_dry_run: int
    kept: int
    aborted: int
    failed: int
    resolved: int
    still_open: int
    median_days_to_decision: float | None
    # Idle access keys: key findings deactivated (`removed` counts passwords), and findings
    # whose deactivated keys were turned back on or deleted.
    deactivated: int = 0
    deactivated_in_dry_run: int = 0
    reactivated: int = 0
    keys_deleted: int = 0

    def line(self) -> str:
        where = f"account {self.account_id}" if self.account_id else "all accounts"
        median = self.median_days_to_decision
        decided = "n/a" if median is None else f"{median:g} days"
        keys = (self.deactivated, self.deactivated_in_dry_run, self.reactivated, self.keys_deleted)
        return (
            f"Evidence for {self.period.describe()}, {where}: {self.findings} findings; "
            f"{self.found} found, {self.removed} removed "
            f"(+{self.removed_in_dry_run} in dry run), {self.kept} kept, {self.aborted} aborted, "
            f"{self.failed} failed, {self.resolved} resolved, {self.still_open} still open; "
            f"median days to decision {decided}"
            + (
                f"; idle keys: {keys[0]} deactivated (+{keys[1]} in dry run), {keys[2]} "
                f"reactivated, {keys[3]} deleted."
                if any(keys)
                else "."
            )
        )

    def as_json(self) -> dict[str, Any]:
        counts = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "period"}
        period = {"since": iso(self.period.since), "until": iso(self.period.until)}
        return {**period, **counts, "line": self.line()}


def summarize(records: Sequence[Record], period: Period, account_id: str | None) -> Summary:
    def with_action(action: str, dry_run: bool | None = None, key: bool | None = None) -> int:
        return sum(
            1
            for finding, events in records
            if (dry_run is None or bool(finding.requested_dry_run) is dry_run)
            and (key is None or (finding.key_created is not None) is key)
            and any(e.action == action and e.at in period for e in events)
        )

    waits = []
    for finding, events in records:
        decided = [e.at for e in events if e.action in DECISIONS]
        if decided and decided[0] in period:
            waits.append((decided[0] - finding.first_seen) / timedelta(days=1))
    return Summary(
        period=period,
        account_id=account_id,
        findings=len(records),
        found=sum(1 for finding, _ in records if finding.first_seen in period),
        removed=with_action(State.DISABLED, dry_run=False, key=False),
        removed_in_dry_run=with_action(State.DISABLED, dry_run=True, key=False),
        kept=with_action(State.KEPT),
        aborted=with_action(State.ABORTED),
        failed=with_action(State.FAILED),
        resolved=with_action(State.RESOLVED),
        still_open=sum(1 for record in records if _open_at_end(record, period)),
        median_days_to_decision=round(statistics.median(waits), 1) if waits else None,
        deactivated=with_action(State.DISABLED, dry_run=False, key=True),
        deactivated_in_dry_run=with_action(State.DISABLED, dry_run=True, key=True),
        reactivated=with_action(State.REACTIVATED),
        keys_deleted=with_action(State.KEYS_DELETED),
    )


def _open_at_end(record: Record, period: Period) -> bool:
    """Neither closed nor kept at the end of the period, as its audit log says."""
    finding, events = record
    reached = [e.to_state for e in events if e.to_state and e.at < period.until]
    state = reached[-1] if reached else finding.state
    return state not in CLOSED_STATES | {State.KEPT}


# What became of the keys a removal deactivated, by the state that says it (a step under way
# has not changed them yet).
KEYS_THEN = {State.REACTIVATED: "reactivated", State.KEYS_DELETED: "deleted"}


def outcome(finding: FindingView) -> str:
    """How the finding ended (or stands): what an auditor filters on. A password is removed, an
    idle key deactivated; either's deactivated keys may since have been reactivated or
    deleted."""
    if finding.state in CARRIED_OUT:
        done = "deactivated" if finding.key_created is not None else "removed"
        if finding.requested_dry_run:
            return f"{done} (dry run)"
        later = KEYS_THEN.get(State(finding.state))
        if later is None:
            return done
        return later if finding.key_created is not None else f"{done}, keys {later}"
    if finding.state in (State.KEPT, State.ABORTED, State.FAILED, State.RESOLVED):
        return str(finding.state)
    return "open"


def finding_fields(finding: EvidenceFinding) -> dict[str, Any]:
    return {
        "finding_id": finding.id,
        "account_id": finding.account_id,
        "user_name": finding.user_name,
        "user_arn": finding.user_arn,
        "privileged": finding.privileged,
        "privilege": finding.privilege,
        "mfa_active": finding.mfa_active,
        "category": finding.category,
        "owner": finding.owner,
        "first_seen": iso(finding.first_seen),
        "last_seen": iso(finding.last_seen),
        "days_idle": finding.days_idle,
        "password_last_used": iso(finding.password_last_used),
        "newest_key_used": iso(finding.newest_key_used),
        "state": finding.state,
        "outcome": outcome(finding),
        "dry_run": finding.requested_dry_run,
        "closed_at": iso(finding.closed_at),
        "resolution": finding.resolution,
        **key_fields(finding_key(finding)),
        "idle_keys": riding_keys(finding) or None,
        "deactivated_keys": finding.deactivated_keys or None,
    }


def event_fields(event: EvidenceEvent) -> dict[str, Any]:
    details = event.details or {}
    keys = _keys_acted_on(details)
    return {
        "event_id": event.id,
        "event_at": iso(event.at),
        "action": event.action,
        "actor": event.actor,
        "surface": event.surface,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason": event.reason,
        "kept_until": details.get("kept_until"),
        "details": details or None,
        "aws_request_id": details.get("aws_request_id") or _request_ids(keys),
        "checked_after": details.get("checked_after"),
        "actor_name": event.actor_name,
        "keys": keys,
    }


def _keys_acted_on(details: dict[str, Any]) -> list[Any] | None:
    """The keys a step acted on: `details["keys"]`, or the one key whose record the details are
    (an idle key's own deactivation)."""
    if "keys" in details:
        return list(details["keys"] or ()) or None
    return [details] if "key_id" in details and "created" in details else None


def _request_ids(keys: list[Any] | None) -> str | None:
    """A step on keys alone: each key's AWS request id (UpdateAccessKey's, DeleteAccessKey's)."""
    found = [key.get("aws_request_id") for key in keys or () if isinstance(key, dict)]
    return " ".join(filter(None, found)) or None


def as_json(records: Sequence[Record], summary: Summary, about: About) -> str:
    """What the export is, the summary, then each finding with its events nested; text exactly
    as recorded (the lossless form)."""
    document = {
        "about": about.as_json(summary),
        "summary": summary.as_json(),
        "columns": {
            "finding": FINDING_COLUMNS + FINDING_KEY_COLUMNS,
            "event": EVENT_COLUMNS + EVENT_KEY_COLUMNS,
        },
        "findings": [
            {**finding_fields(finding), "events": [event_fields(e) for e in events]}
            for finding, events in records
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def as_csv(records: Sequence[Record], summary: Summary, about: About, bom: bool = True) -> str:
    """What the export is (rows beginning with #), the column names, then one row per audit
    event with its finding's columns (a finding without events: one row), as
    bot.domain.sheets.sheet writes them."""
    rows = (
        {**finding_fields(finding), **(event_fields(event) if event else {})}
        for finding, events in records
        for event in events or (None,)
    )
    return sheet(about.csv_rows(summary), COLUMNS, rows, bom=bom)
