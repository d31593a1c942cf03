"""What the bot records: who acted, from where, what happened, and the fields a step changes.

`FindingView` is what the pure code reads of a recorded finding; storage's row has these columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

# A finding's id as buttons and forms carry it (a uuid4's hex, storage.models.Finding.id), to be
# matched whole (`fullmatch`: `$` would take a final newline, and a tampered value be looked up).
FINDING_ID = re.compile(r"[0-9a-f]{32}")


class Surface(StrEnum):
    """Where a step came from."""

    SCAN = "scan"
    CHANNEL = "slack-channel"
    DM = "slack-dm"
    HOME = "slack-home"  # the app's Home tab
    COMMAND = "slack-command"
    SLACK = "slack"
    SCHEDULE = "schedule"
    RECOVERY = "recovery"


class SystemActor(StrEnum):
    """Actors that are not people (people are recorded by their Slack user id)."""

    SCANNER = "scanner"
    SYSTEM = "system"
    SCHEDULER = "scheduler"
    BOT = "bot"


class Role(StrEnum):
    """What someone acts as; the workflow policy says which role may take which step."""

    APPROVER = "approver"
    OWNER = "owner"
    SCHEDULER = "scheduler"
    SYSTEM = "system"  # the scan, the removal itself, recovery after a restart


@dataclass(frozen=True)
class Actor:
    """Who takes a step, as what, and from where."""

    id: str  # a Slack user id, or a SystemActor
    role: Role
    surface: Surface
    # A person's name in Slack when they acted: the record reads right after they leave.
    name: str | None = None


SCANNER = Actor(SystemActor.SCANNER, Role.SYSTEM, Surface.SCAN)


# A lease is renewed this many times in its time: a holder whose process died shows as silent
# after one missed renewal, long before others may take the lease over.
RENEWALS_PER_LEASE = 4


@dataclass(frozen=True)
class Holder:
    """Who holds a lease (a running scan), since when, when they last renewed it, and when it
    lapses unless they renew it again."""

    holder: str
    since: datetime
    renewed_at: datetime
    expires_at: datetime

    @property
    def renew_every(self) -> timedelta:
        return (self.expires_at - self.renewed_at) / RENEWALS_PER_LEASE

    def silent(self, at: datetime) -> bool:
        """Its holder is half an interval late with a renewal: its process is likely gone (a
        database the holder cannot reach looks the same), and the lease lapses at
        `expires_at` unless it is renewed meanwhile."""
        return at - self.renewed_at > self.renew_every * 1.5


@dataclass(frozen=True)
class QueuedScan:
    """A scan someone asked for, as the scanner process claims it."""

    id: int
    requested_by: str  # slack:<user id>, or schedule
    surface: str
    account_id: str | None  # None: every account
    response_url: str | None
    requested_at: datetime


class UnknownFinding(LookupError):
    """No finding has this id."""


class RecordsUnavailable(RuntimeError):
    """The bot's database cannot be reached (or is locked) right now; try again later."""


class StepUnsettled(RecordsUnavailable):
    """The database stopped answering while a step was being committed: it may have been
    recorded or not, which shows once the database is back (and the sweep goes on from there)."""


class LeaseLost(RuntimeError):
    """This process no longer holds the scan lease (another took it over, or its renewals did
    not reach the database in time): it records and posts nothing more."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class _Fields:
    """Typed fields to write to a finding; a field left UNSET is not touched. A misspelt field
    is a TypeError when the object is made, not a silently empty column."""

    def values(self) -> dict[str, Any]:
        """The fields that are set, by column name."""
        return {
            field.name: getattr(self, field.name)
            for field in fields(self)  # type: ignore[arg-type]
            if getattr(self, field.name) is not UNSET
        }


@dataclass(frozen=True)
class FindingChanges(_Fields):
    """What a workflow step sets besides the state (written only through the checked step)."""

    requested_by: str | None = UNSET
    decided_by: str | None = UNSET
    decision_note: str | None = UNSET
    owner_slack_id: str | None = UNSET
    asked_at: datetime | None = UNSET
    reminded_at: datetime | None = UNSET
    escalated_at: datetime | None = UNSET
    kept_until: datetime | None = UNSET
    resolution: str | None = UNSET
    requested_owner: str | None = UNSET
    requested_dry_run: bool | None = UNSET
    owner_unreachable: bool | None = UNSET
    key_id: str | None = UNSET
    deactivated_keys: list[dict[str, Any]] | None = UNSET
    requested_keys: list[str] | None = UNSET


@dataclass(frozen=True)
class FindingNotes(_Fields):
    """Facts about a finding that decide nothing: where it is shown, when the owner was asked (their
    DM arrived) and reminded."""

    slack_channel: str | None = UNSET
    slack_ts: str | None = UNSET
    slack_thread_ts: str | None = UNSET
    dm_channel: str | None = UNSET
    dm_ts: str | None = UNSET
    asked_at: datetime | None = UNSET
    reminded_at: datetime | None = UNSET


NO_CHANGES = FindingChanges()


class FindingView(Protocol):
    """A recorded finding as message builders, the digest and the policy read it."""

    id: str
    account_id: str
    user_name: str
    user_id: str | None
    user_arn: str
    category: str
    fully_inactive: bool
    state: str
    days_idle: int
    user_created: datetime
    password_last_used: datetime | None
    password_last_changed: datetime | None
    newest_key_used: datetime | None
    owner: str | None
    privileged: bool | None
    privilege: str | None
    mfa_active: bool | None
    facts: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    kept_until: datetime | None
    closed_at: datetime | None
    resolution: str | None
    requested_by: str | None
    decided_by: str | None
    decision_note: str | None
    owner_slack_id: str | None
    requested_owner: str | None
    requested_dry_run: bool | None
    owner_unreachable: bool | None
    slack_channel: str | None
    slack_ts: str | None
    slack_thread_ts: str | None
    dm_channel: str | None
    dm_ts: str | None
    asked_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    state_changed_at: datetime | None
    key_created: datetime | None
    key_id: str | None
    deactivated_keys: list[dict[str, Any]] | None
    requested_keys: list[str] | None
    version: int  # counts its steps: a step checks it (storage.tables.findings)


def thread_of(finding: FindingView) -> str | None:
    """The channel thread where this finding is talked about: its message's, or the thread its
    message is a reply in (a large scan is posted in a thread)."""
    return finding.slack_thread_ts or finding.slack_ts


class EventView(Protocol):
    """An audit event as the history message reads it."""

    at: datetime
    actor: str
    action: str
    reason: str | None
