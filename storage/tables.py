"""The schema as SQLAlchemy Core tables: scans, findings, the append-only audit log, and what
processes share. The ORM's classes (storage.models) map these; what a scan needs (its lease
and its recording) uses them alone, so a terminal scan does not load the ORM (a tenth of a
small account's scan)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect

from bot.domain.clock import as_utc

metadata = MetaData()


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


def _required(name: str, *kind: Any, **options: Any) -> Column[Any]:
    return Column(name, *kind, nullable=False, **options)


scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("started_at", UTCDateTime),
    _required("finished_at", UTCDateTime),
    _required("source", String(16)),
    _required("trigger", String(32)),
    _required("status", String(16)),  # ok, partial (some accounts failed), failed
)

scan_accounts = Table(
    "scan_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("scan_id", ForeignKey("scans.id", ondelete="CASCADE"), index=True),
    _required("account_id", String(12)),
    Column("account_name", String(128)),
    _required("status", String(16)),  # ok, failed
    Column("error", PlainText),
    _required("users_seen", Integer, default=0),
    _required("findings", Integer, default=0),
    Column("report_generated_at", UTCDateTime),
)

# One idle console password (carrying the user's idle keys), or one idle access key. At most
# one open row per user's password and per key.
findings = Table(
    "findings",
    metadata,
    # Opaque, unguessable: this id travels in Slack button values.
    Column("id", String(32), primary_key=True, default=lambda: uuid4().hex),
    _required("account_id", String(12)),
    _required("user_name", String(64)),
    # IAM's UserId: a user deleted and re-created under the same name is another user.
    Column("user_id", String(128)),
    _required("user_arn", String(2048)),
    _required("category", String(16)),
    _required("fully_inactive", Boolean),
    _required("state", String(24)),
    _required("days_idle", Integer),
    _required("user_created", UTCDateTime),
    Column("password_last_used", UTCDateTime),
    Column("password_last_changed", UTCDateTime),
    Column("newest_key_used", UTCDateTime),
    Column("owner", String(320)),
    # Risk: administrator-equivalent (None: not known) and why; MFA on (None: not known).
    Column("privileged", Boolean),
    Column("privilege", PlainText),
    Column("mfa_active", Boolean),
    _required("facts", JSON),
    _required("first_seen", UTCDateTime),
    _required("last_seen", UTCDateTime),
    Column("kept_until", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("resolution", PlainText),
    # The decision in progress, for messages: who asked, who decided, and the note they gave.
    Column("requested_by", String(32)),
    Column("decided_by", String(32)),
    Column("decision_note", PlainText),
    Column("owner_slack_id", String(32)),
    # What the removal request was for: the owner (tag value) it concerns, and the dry-run mode.
    Column("requested_owner", String(320)),
    Column("requested_dry_run", Boolean),
    # Slack said for certain the owner cannot be asked: only then is the approver's word final.
    Column("owner_unreachable", Boolean),
    # When the state last changed: a transient state left this long is moved on by the sweep.
    Column("state_changed_at", UTCDateTime),
    # Where the finding is shown: its line in a channel message (a reply in the thread of
    # `slack_thread_ts` when a large scan was posted there), and the owner's DM.
    Column("slack_channel", String(32)),
    Column("slack_ts", String(32)),
    Column("slack_thread_ts", String(32)),
    Column("dm_channel", String(32)),
    Column("dm_ts", String(32)),
    # Owner follow-up: when the owner was asked, reminded, and the approvers told.
    Column("asked_at", UTCDateTime),
    Column("reminded_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    # An idle_key finding's key: when it was made (what the credential report names it by) and
    # its id (known from the API, or once the bot acted on it). None on a password finding.
    Column("key_created", UTCDateTime),
    Column("key_id", String(128)),
    # The keys this finding's removal deactivated ({"key_id", "created"}): what Reactivate
    # turns back on.
    Column("deactivated_keys", JSON),
    # A password finding's idle keys that the Disable request covers (their creation, ISO):
    # consent is for what the people were shown, not for a key found idle since.
    Column("requested_keys", JSON),
    # Counts the finding's steps: a step checks it, so a concurrent one fails instead of both
    # landing (storage.steps).
    _required("version", Integer),
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

# One user's verdict (bot.domain.population) from the scan that first gave it (`since`) until
# the scan that gave another or no longer saw the user (`until`; None while it holds): a scan
# that judges as the last one did writes nothing here.
assessments = Table(
    "assessments",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("account_id", String(12)),
    _required("user_name", String(64)),
    _required("verdict", PlainText),
    _required("since", UTCDateTime),
    Column("until", UTCDateTime),
    partial_unique_index(
        "uq_assessments_current", "account_id", "user_name", where="until IS NULL"
    ),
    Index("ix_assessments_account_since", "account_id", "since"),
)

# Append-only: who did what to which finding, when, from where, and why.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("finding_id", ForeignKey("findings.id"), index=True),
    _required("at", UTCDateTime),
    _required("actor", String(64)),  # a Slack user id, or "scanner", "system"
    Column("actor_name", PlainText),  # their name in Slack then
    _required("surface", String(32)),  # scan, slack-channel, slack-dm, cli, ...
    _required("action", String(32)),
    Column("from_state", String(24)),
    Column("to_state", String(24)),
    Column("reason", PlainText),
    Column("details", JSON),
)

# A claim on one fire time of one scheduled job: whoever inserts it first runs it.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("job", String(64)),
    _required("fire_time", UTCDateTime),
    _required("claimed_by", String(128)),
    _required("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("outcome", PlainText),
    UniqueConstraint("job", "fire_time", name="uq_job_runs_job_fire_time"),
)

# Work one process at a time may do (a scan): who holds it, since when, when they last renewed
# it, until when.
leases = Table(
    "leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(200)),
    _required("started_at", UTCDateTime),
    Column("renewed_at", UTCDateTime),  # None: a lease taken before migration 0009
    _required("expires_at", UTCDateTime),
)

# A scan someone asked for (Slack, the schedule), waiting for the scanner process to claim it:
# who asked, from where, and what came of it.
scan_requests = Table(
    "scan_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("requested_by", String(64)),  # slack:<user id>, or schedule
    _required("surface", String(32)),
    Column("account_id", String(12)),  # None: every account
    # Where the person hears what came of it (a command's response URL lasts 30 minutes).
    Column("response_url", Text),
    _required("requested_at", UTCDateTime),
    Column("claimed_by", String(200)),
    Column("claimed_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("outcome", PlainText),
    Index("ix_scan_requests_open", "finished_at", "claimed_by"),
)
