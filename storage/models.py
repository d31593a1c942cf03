"""SQLAlchemy models: scans, findings and the append-only audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import uuid4

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain.clock import as_utc


def partial_unique_index(name: str, *columns: str, where: str) -> Index:
    """Unique over the rows for which `where` holds: the migrations make it so on SQLite and
    PostgreSQL alike, and tests/integration/test_schema.py checks each database's predicate
    against this one. It is declared with SQLite's keyword only: PostgreSQL's would load
    SQLAlchemy's PostgreSQL dialect into every process, a terminal scan on SQLite included. So
    a migration that makes such an index passes `postgresql_where` itself (alembic's
    autogenerate would leave it out, and the index would be unique over every row)."""
    return Index(name, *columns, unique=True, sqlite_where=text(where))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


class PlainText(TypeDecorator[str]):
    """Text from people and from AWS (reasons, outcomes, errors). NUL characters are dropped:
    PostgreSQL's text cannot hold them, and they carry nothing a person meant to say."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace("\x00", "") if isinstance(value, str) else value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}

    if TYPE_CHECKING:  # SQLAlchemy types it FromClause: every model here maps a Table
        __table__: ClassVar[Table]


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # ok, partial (some accounts failed), failed
    accounts: Mapped[list[ScanAccount]] = relationship(
        back_populates="scan", cascade="all, delete-orphan", lazy="selectin"
    )


class ScanAccount(Base):
    __tablename__ = "scan_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(12))
    account_name: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # ok, failed
    error: Mapped[str | None] = mapped_column(PlainText)
    users_seen: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    report_generated_at: Mapped[datetime | None]
    scan: Mapped[Scan] = relationship(back_populates="accounts")


class Finding(Base):
    """One idle console password (carrying the user's idle keys), or one idle access key. At
    most one open row per user's password and per key."""

    __tablename__ = "findings"

    # Opaque, unguessable: this id travels in Slack button values.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid4().hex)
    account_id: Mapped[str] = mapped_column(String(12))
    user_name: Mapped[str] = mapped_column(String(64))
    # IAM's UserId: a user deleted and re-created under the same name is another user.
    user_id: Mapped[str | None] = mapped_column(String(128))
    user_arn: Mapped[str] = mapped_column(String(2048))
    category: Mapped[str] = mapped_column(String(16))
    fully_inactive: Mapped[bool]
    state: Mapped[str] = mapped_column(String(24))
    days_idle: Mapped[int] = mapped_column(Integer)
    user_created: Mapped[datetime]
    password_last_used: Mapped[datetime | None]
    password_last_changed: Mapped[datetime | None]
    newest_key_used: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(320))
    # Risk: administrator-equivalent (None: not known) and why; MFA on (None: not known).
    privileged: Mapped[bool | None]
    privilege: Mapped[str | None] = mapped_column(PlainText)
    mfa_active: Mapped[bool | None]
    facts: Mapped[dict[str, Any]]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    kept_until: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(PlainText)
    # The decision in progress, for messages: who asked, who decided, and the note they gave.
    requested_by: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decision_note: Mapped[str | None] = mapped_column(PlainText)
    owner_slack_id: Mapped[str | None] = mapped_column(String(32))
    # What the removal request was for: the owner (tag value) it concerns, and the dry-run mode.
    requested_owner: Mapped[str | None] = mapped_column(String(320))
    requested_dry_run: Mapped[bool | None]
    # Slack said for certain the owner cannot be asked: only then is the approver's word final.
    owner_unreachable: Mapped[bool | None]
    # When the state last changed: a transient state left this long is moved on by the sweep.
    state_changed_at: Mapped[datetime | None]
    # Where the finding is shown: its line in a channel message (a reply in the thread of
    # `slack_thread_ts` when a large scan was posted there), and the owner's DM.
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32))
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    # Owner follow-up: when the owner was asked, reminded, and the approvers told.
    asked_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # An idle_key finding's key: when it was made (what the credential report names it by) and
    # its id (known from the API, or once the bot acted on it). None on a password finding.
    key_created: Mapped[datetime | None]
    key_id: Mapped[str | None] = mapped_column(String(128))
    # The keys this finding's removal deactivated ({"key_id", "created"}): what Reactivate
    # turns back on.
    deactivated_keys: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # A password finding's idle keys that the Disable request covers (their creation, ISO):
    # consent is for what the people were shown, not for a key found idle since.
    requested_keys: Mapped[list[str] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)

    @property
    def slack_thread(self) -> str | None:
        """The channel thread where this finding is talked about."""
        return self.slack_thread_ts or self.slack_ts

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        partial_unique_index(
            "uq_findings_open_user",
            "account_id",
            "user_name",
            where="closed_at IS NULL AND key_created IS NULL",
        ),
        partial_unique_index(
            "uq_findings_open_key",
            "account_id",
            "user_name",
            "key_created",
            where="closed_at IS NULL AND key_created IS NOT NULL",
        ),
        Index("ix_findings_state", "state"),
        Index("ix_findings_account_user", "account_id", "user_name"),
        Index("ix_findings_slack_message", "slack_channel", "slack_ts"),
    )


class Assessment(Base):
    """One user's verdict (bot.domain.population) from the scan that first gave it (`since`)
    until the scan that gave another or no longer saw the user (`until`; None while it holds):
    a scan that judges as the last one did writes nothing here."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    user_name: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(PlainText)
    since: Mapped[datetime]
    until: Mapped[datetime | None]

    __table_args__ = (
        partial_unique_index(
            "uq_assessments_current", "account_id", "user_name", where="until IS NULL"
        ),
        Index("ix_assessments_account_since", "account_id", "since"),
    )


class AuditEvent(Base):
    """Append-only: who did what to which finding, when, from where, and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user id, or "scanner", "system"
    actor_name: Mapped[str | None] = mapped_column(PlainText)  # their name in Slack then
    surface: Mapped[str] = mapped_column(String(32))  # scan, slack-channel, slack-dm, cli, ...
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(PlainText)
    details: Mapped[dict[str, Any] | None]


class JobRun(Base):
    """A claim on one fire time of one scheduled job: whoever inserts it first runs it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    fire_time: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(PlainText)

    __table_args__ = (UniqueConstraint("job", "fire_time", name="uq_job_runs_job_fire_time"),)


class Lease(Base):
    """Work one process at a time may do (a scan): who holds it, since when, when they last
    renewed it, until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime]
    renewed_at: Mapped[datetime | None]  # None: a lease taken before migration 0009
    expires_at: Mapped[datetime]


class ScanRequest(Base):
    """A scan someone asked for (Slack, the schedule), waiting for the scanner process to claim
    it: who asked, from where, and what came of it."""

    __tablename__ = "scan_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64))  # slack:<user id>, or schedule
    surface: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str | None] = mapped_column(String(12))  # None: every account
    # Where the person hears what came of it (a command's response URL lasts 30 minutes).
    response_url: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(PlainText)

    __table_args__ = (Index("ix_scan_requests_open", "finished_at", "claimed_by"),)
