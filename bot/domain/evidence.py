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

from bot.domain.clock import as_utc, iso
from bot.domain.records import EventView, FindingView
from bot.domain.scan import ACCOUNT_ID
from bot.domain.sheets import MARK, cell, sheet
from bot.domain.workflow import CLOSED_STATES, State

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
COLUMNS = FINDING_COLUMNS + EVENT_COLUMNS

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
        return f"{self.since:%Y-%m-%d} to {self.last_day:%Y-%m-%d} (UTC)"


def period_of(since: str | None, until: str | None, now: datetime) -> Period:
    """The period the terminal's `--since` / `--until` ask for: whole UTC days, `until` included
    (or a moment, when a time is given). Without `until`: up to now; without `since`: the
    DEFAULT_DAYS before `until`."""
    end = _moment("--until", until, next_day=True) if until else now
    start = _moment("--since", since) if since else end - timedelta(days=DEFAULT_DAYS)
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
    if account_id is not None and not ACCOUNT_ID.match(account_id):
        raise EvidenceError(f"--account takes a 12-digit AWS account id, not {account_id!r}.")
    return account_id


def _moment(option: str, text: str, *, next_day: bool = False) -> datetime:
    try:  # a day, in any of ISO 8601's forms (2026-03-31, 20260331): the whole day
        day = date.fromisoformat(text) + timedelta(days=1 if next_day else 0)
        return datetime.combine(day, time(), UTC)
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

    def line(self) -> str:
        where = f"account {self.account_id}" if self.account_id else "all accounts"
        median = self.median_days_to_decision
        decided = "n/a" if median is None else f"{median:g} days"
        return (
            f"Evidence for {self.period.describe()}, {where}: {self.findings} findings; "
            f"{self.found} found, {self.removed} removed "
            f"(+{self.removed_in_dry_run} in dry run), {self.kept} kept, {self.aborted} aborted, "
            f"{self.failed} failed, {self.resolved} resolved, {self.still_open} still open; "
            f"median days to decision {decided}."
        )

    def as_json(self) -> dict[str, Any]:
        counts = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "period"}
        period = {"since": iso(self.period.since), "until": iso(self.period.until)}
        return {**period, **counts, "line": self.line()}


def summarize(records: Sequence[Record], period: Period, account_id: str | None) -> Summary:
    def with_action(action: str, dry_run: bool | None = None) -> int:
        return sum(
            1
            for finding, events in records
            if (dry_run is None or bool(finding.requested_dry_run) is dry_run)
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
        removed=with_action(State.DISABLED, dry_run=False),
        removed_in_dry_run=with_action(State.DISABLED, dry_run=True),
        kept=with_action(State.KEPT),
        aborted=with_action(State.ABORTED),
        failed=with_action(State.FAILED),
        resolved=with_action(State.RESOLVED),
        still_open=sum(1 for record in records if _open_at_end(record, period)),
        median_days_to_decision=round(statistics.median(waits), 1) if waits else None,
    )


def _open_at_end(record: Record, period: Period) -> bool:
    """Neither closed nor kept at the end of the period, as its audit log says."""
    finding, events = record
    reached = [e.to_state for e in events if e.to_state and e.at < period.until]
    state = reached[-1] if reached else finding.state
    return state not in CLOSED_STATES | {State.KEPT}


def outcome(finding: FindingView) -> str:
    """How the finding ended (or stands): what an auditor filters on."""
    if finding.state == State.DISABLED:
        return "removed (dry run)" if finding.requested_dry_run else "removed"
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
    }


def event_fields(event: EvidenceEvent) -> dict[str, Any]:
    details = event.details or {}
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
        "aws_request_id": details.get("aws_request_id"),
        "checked_after": details.get("checked_after"),
        "actor_name": event.actor_name,
    }


# The controls whose evidence this is (docs/evidence.md says what in the file serves which).
CONTROLS = (
    "CIS AWS Foundations 1.12 (v1.4.0 to v3.0.0) / 2.11 (v6.0.0): unused credentials disabled",
    "NIST SP 800-53 AC-2(3): disable accounts",
    "SOC 2 CC6.2, CC6.3: access is removed when no longer needed",
    "ISO/IEC 27001:2022 A.5.18: access rights are reviewed and removed",
)


class Scope(Protocol):
    """What an export's summary says of its scope: the period, the account filter, the line."""

    @property
    def period(self) -> Period: ...
    @property
    def account_id(self) -> str | None: ...
    def line(self) -> str: ...


@dataclass(frozen=True)
class About:
    """What an export is and covers, written at its head: the file says it, not a side channel."""

    generated_at: datetime
    tool: str  # name and version
    accounts: tuple[str, ...]  # the accounts the period's scans covered
    idle_days: int
    key_recent_days: int
    dry_run: bool
    kind: str = "evidence"  # or population (bot.domain.population)

    def as_json(self, summary: Scope) -> dict[str, Any]:
        return {
            "export": f"iam-inactive {self.kind}",
            "generated_at": iso(self.generated_at),
            "tool": self.tool,
            "period": {"since": iso(summary.period.since), "until": iso(summary.period.until)},
            "account_filter": summary.account_id,
            "accounts_scanned": list(self.accounts),
            "thresholds": {"idle_days": self.idle_days, "key_recent_days": self.key_recent_days},
            "dry_run": self.dry_run,
            "controls": list(CONTROLS),
        }

    def csv_rows(self, summary: Scope) -> list[list[str]]:
        """`# name`, value rows: a reader skips the rows whose first cell begins with #."""
        facts = self.as_json(summary)
        rows: list[list[Any]] = [
            [f"# iam-inactive {self.kind} export", READING],
            ["# generated_at", facts["generated_at"]],
            ["# tool", self.tool],
            ["# period", facts["period"]["since"], facts["period"]["until"]],
            ["# account_filter", summary.account_id or "all accounts"],
            ["# accounts_scanned", " ".join(self.accounts)],
            ["# idle_days", self.idle_days],
            ["# key_recent_days", self.key_recent_days],
            ["# dry_run", self.dry_run],
            *(["# control", control] for control in CONTROLS),
            ["# summary", summary.line()],
        ]
        return [[cell(value) for value in row] for row in rows]


READING = (
    "Rows whose first cell begins with # describe the export; the column names follow. "
    f"A cell that begins with {MARK} had one {MARK} put before it (a formula, a number or a "
    f"leading {MARK} as typed): take one off to get the recorded text. Times are UTC."
)


def as_json(records: Sequence[Record], summary: Summary, about: About) -> str:
    """What the export is, the summary, then each finding with its events nested; text exactly
    as recorded (the lossless form)."""
    document = {
        "about": about.as_json(summary),
        "summary": summary.as_json(),
        "columns": {"finding": FINDING_COLUMNS, "event": EVENT_COLUMNS},
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
