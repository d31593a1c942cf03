"""The ORM's classes, mapped onto storage.tables, for reading: every write is a statement on the
tables (storage.steps, storage.bulk, storage.coordination, storage.repository's notes). The
annotations type the columns for readers and mypy; the columns themselves are the tables' (a
test keeps the two alike: tests/integration/test_schema.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from storage import tables


class Base(DeclarativeBase):
    metadata = tables.metadata

    if TYPE_CHECKING:  # SQLAlchemy types it FromClause: every model here maps a Table
        __table__: ClassVar[Table]


class Scan(Base):
    __table__ = tables.scans

    id: Mapped[int]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    source: Mapped[str]
    trigger: Mapped[str]
    status: Mapped[str]
    accounts: Mapped[list[ScanAccount]] = relationship(back_populates="scan", lazy="selectin")


class ScanAccount(Base):
    __table__ = tables.scan_accounts

    id: Mapped[int]
    scan_id: Mapped[int]
    account_id: Mapped[str]
    account_name: Mapped[str | None]
    status: Mapped[str]
    error: Mapped[str | None]
    users_seen: Mapped[int]
    findings: Mapped[int]
    report_generated_at: Mapped[datetime | None]
    scan: Mapped[Scan] = relationship(back_populates="accounts")


class Finding(Base):
    """One idle console password (carrying the user's idle keys), or one idle access key."""

    __table__ = tables.findings

    id: Mapped[str]
    account_id: Mapped[str]
    user_name: Mapped[str]
    user_id: Mapped[str | None]
    user_arn: Mapped[str]
    category: Mapped[str]
    fully_inactive: Mapped[bool]
    state: Mapped[str]
    days_idle: Mapped[int]
    user_created: Mapped[datetime]
    password_last_used: Mapped[datetime | None]
    password_last_changed: Mapped[datetime | None]
    newest_key_used: Mapped[datetime | None]
    owner: Mapped[str | None]
    privileged: Mapped[bool | None]
    privilege: Mapped[str | None]
    mfa_active: Mapped[bool | None]
    facts: Mapped[dict[str, Any]]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    kept_until: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None]
    requested_by: Mapped[str | None]
    decided_by: Mapped[str | None]
    decision_note: Mapped[str | None]
    owner_slack_id: Mapped[str | None]
    requested_owner: Mapped[str | None]
    requested_dry_run: Mapped[bool | None]
    owner_unreachable: Mapped[bool | None]
    state_changed_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None]
    slack_ts: Mapped[str | None]
    slack_thread_ts: Mapped[str | None]
    dm_channel: Mapped[str | None]
    dm_ts: Mapped[str | None]
    asked_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    key_created: Mapped[datetime | None]
    key_id: Mapped[str | None]
    deactivated_keys: Mapped[list[dict[str, Any]] | None]
    requested_keys: Mapped[list[str] | None]
    version: Mapped[int]


class Assessment(Base):
    __table__ = tables.assessments

    id: Mapped[int]
    account_id: Mapped[str]
    user_name: Mapped[str]
    verdict: Mapped[str]
    since: Mapped[datetime]
    until: Mapped[datetime | None]


class AuditEvent(Base):
    __table__ = tables.audit_events

    id: Mapped[int]
    finding_id: Mapped[str | None]
    at: Mapped[datetime]
    actor: Mapped[str]
    actor_name: Mapped[str | None]
    surface: Mapped[str]
    action: Mapped[str]
    from_state: Mapped[str | None]
    to_state: Mapped[str | None]
    reason: Mapped[str | None]
    details: Mapped[dict[str, Any] | None]


class JobRun(Base):
    __table__ = tables.job_runs

    id: Mapped[int]
    job: Mapped[str]
    fire_time: Mapped[datetime]
    claimed_by: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None]


class Lease(Base):
    __table__ = tables.leases

    name: Mapped[str]
    holder: Mapped[str | None]
    started_at: Mapped[datetime]
    renewed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]


class ScanRequest(Base):
    __table__ = tables.scan_requests

    id: Mapped[int]
    requested_by: Mapped[str]
    surface: Mapped[str]
    account_id: Mapped[str | None]
    response_url: Mapped[str | None]
    requested_at: Mapped[datetime]
    claimed_by: Mapped[str | None]
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None]
