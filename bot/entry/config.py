"""Settings from the environment, validated once at start-up.

Every problem raises SettingsError with one line that names the variable and what it expects,
so `python -m bot` can stop with that line instead of a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.cron import CronError, parse_cron
from bot.domain.rule import CATEGORIES, SLACK_USER_ID_PATTERN, Thresholds
from bot.domain.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_ORG_ROLE_NAME,
    KEY_ACTIONS,
    LOG_FORMATS,
    ROLE_ARN_PATTERN,
    ROLE_NAME_PATTERN,
    SLACK_CHANNEL_PATTERN,
    SLACK_GROUP_ID_PATTERN,
    SOURCES,
    TAG_SOURCES,
    Settings,
)

MAX_DAYS = 3650  # ten years: anything longer is a typo
MAX_CONCURRENCY = 64
MIN_STUCK_SECONDS = 120
MIN_SCAN_LEASE_SECONDS = 4
DATABASES = ("sqlite", "postgresql")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping (os.environ, or a dict in tests)."""
    reader = _Reader(env)
    idle_days = reader.days("CONSOLE_IDLE_DAYS", 90)
    recent_days = reader.days("KEY_RECENT_DAYS", 45)
    if recent_days > idle_days:
        raise SettingsError(
            f"KEY_RECENT_DAYS ({recent_days}) must not exceed CONSOLE_IDLE_DAYS ({idle_days})"
        )
    org_role_name = reader.matching("AWS_ORG_ROLE_NAME", ROLE_NAME_PATTERN, "an IAM role name")
    thresholds = Thresholds(
        idle_days=idle_days,
        key_recent_days=recent_days,
        key_idle_days=reader.days("KEY_IDLE_DAYS", Thresholds.key_idle_days),
    )
    settings = Settings(
        thresholds=thresholds,
        categories=frozenset(reader.choices("CATEGORIES", CATEGORIES, default=CATEGORIES)),
        owner_tag_keys=tuple(reader.csv("OWNER_TAG_KEYS") or ("owner",)),
        exempt_tag=reader.text("EXEMPT_TAG") or "iam-inactive:exempt",
        ignore_users=frozenset(reader.csv("IGNORE_USERS")),
        tag_source=reader.one_of("TAG_SOURCE", TAG_SOURCES, "bulk"),
        scan_source=reader.one_of("SCAN_SOURCE", SOURCES, "report"),
        role_arns=tuple(reader.matching_csv("AWS_ROLE_ARNS", ROLE_ARN_PATTERN, "IAM role ARNs")),
        # Naming the role has always meant the Organization: deployments that set only
        # AWS_ORG_ROLE_NAME keep scanning every account.
        organization=reader.boolean("AWS_ORGANIZATION", org_role_name is not None),
        org_role_name=org_role_name or DEFAULT_ORG_ROLE_NAME,
        external_id=reader.text("AWS_EXTERNAL_ID"),
        account_concurrency=reader.positive_int("ACCOUNT_CONCURRENCY", 24, most=MAX_CONCURRENCY),
        user_concurrency=reader.positive_int("USER_CONCURRENCY", 8, most=MAX_CONCURRENCY),
        # at most an hour: an assumed role's credentials last that long
        account_timeout_seconds=reader.positive_int("ACCOUNT_TIMEOUT_SECONDS", 600, most=3600),
        aws_fast_parsing=reader.boolean("AWS_FAST_PARSING", True),
        database_url=reader.database_url("DATABASE_URL"),
        port=reader.positive_int("PORT", 3000, most=65535),
        timezone=reader.timezone("TZ"),
        dry_run=reader.boolean("DRY_RUN", False),
        security_hub=reader.boolean("SECURITY_HUB", False),
        slack_bot_token=reader.prefixed("SLACK_BOT_TOKEN", "xoxb-"),
        slack_signing_secret=reader.text("SLACK_SIGNING_SECRET"),
        slack_app_token=reader.prefixed("SLACK_APP_TOKEN", "xapp-"),
        slack_channel=reader.matching("SLACK_CHANNEL", SLACK_CHANNEL_PATTERN, "a channel id"),
        slack_api_url=reader.url("SLACK_API_URL"),
        slack_approvers=frozenset(
            reader.matching_csv("SLACK_APPROVERS", SLACK_USER_ID_PATTERN, "Slack user ids")
        ),
        slack_approver_group=reader.matching(
            "SLACK_APPROVER_GROUP", SLACK_GROUP_ID_PATTERN, "a Slack user group id"
        ),
        scan_cron=reader.cron("SCAN_CRON", Settings.scan_cron),
        digest_cron=reader.cron("DIGEST_CRON", Settings.digest_cron),
        reminder_cron=reader.cron("REMINDER_CRON", Settings.reminder_cron),
        reminder_days=reader.days("REMINDER_DAYS", 3),
        escalate_days=reader.days("ESCALATE_DAYS", 7),
        auto_disable_days=(
            reader.days("AUTO_DISABLE_AFTER_DAYS", 0)
            if reader.text("AUTO_DISABLE_AFTER_DAYS")
            else None
        ),
        log_format=reader.one_of("LOG_FORMAT", LOG_FORMATS, "text"),
        owner_keep_max_days=reader.days("OWNER_KEEP_MAX_DAYS", 180),
        stuck_after_seconds=reader.seconds_stuck("STUCK_AFTER_SECONDS", 600),
        scan_lease_seconds=reader.scan_lease_seconds("SCAN_LEASE_SECONDS"),
        key_actions=reader.one_of("KEY_ACTIONS", KEY_ACTIONS, Settings.key_actions),
        key_reactivate_days=reader.days("KEY_REACTIVATE_DAYS", Settings.key_reactivate_days),
        key_delete_after_days=(
            reader.days("KEY_DELETE_AFTER_DAYS", 0)
            if reader.text("KEY_DELETE_AFTER_DAYS")
            else None
        ),
    )
    if settings.organization and settings.role_arns:
        raise SettingsError(
            "AWS_ROLE_ARNS and AWS_ORGANIZATION each name the accounts to scan: set one (an "
            "Organization's scans would leave AWS_ROLE_ARNS out, its removals would use it)"
        )
    _must_exceed(
        ("AUTO_DISABLE_AFTER_DAYS", settings.auto_disable_days),
        ("ESCALATE_DAYS", settings.escalate_days),
        "the approvers are told of an owner's silence before anything is removed on it",
    )
    _must_exceed(
        ("KEY_DELETE_AFTER_DAYS", settings.key_delete_after_days),
        ("KEY_REACTIVATE_DAYS", settings.key_reactivate_days),
        "a key is deleted only after it can no longer be reactivated",
    )
    return settings


def _must_exceed(later: tuple[str, int | None], earlier: tuple[str, int], why: str) -> None:
    """A step that comes after another (when it is set at all) must be set later than it."""
    (name, days), (other, other_days) = later, earlier
    if days is not None and days <= other_days:
        raise SettingsError(f"{name} ({days}) must exceed {other} ({other_days}): {why}")


class _Reader:
    """Typed reads of environment variables; errors name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def csv(self, name: str) -> list[str]:
        return [item.strip() for item in (self.text(name) or "").split(",") if item.strip()]

    def positive_int(self, name: str, default: int, *, most: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number (got {raw!r})") from None
        if not 1 <= value <= most:
            raise SettingsError(f"{name} must be from 1 to {most} (got {value})")
        return value

    def seconds_stuck(self, name: str, default: int) -> int:
        """Longer than a live removal can take, or the sweep would race it."""
        value = self.positive_int(name, default, most=86400)
        if value < MIN_STUCK_SECONDS:
            raise SettingsError(
                f"{name} must be at least {MIN_STUCK_SECONDS}, longer than a removal in "
                f"progress can take (got {value})"
            )
        return value

    def scan_lease_seconds(self, name: str) -> int:
        """A quarter of it is the renewal interval: a second at least, so that a database
        answering slowly does not cost a live scan its lease."""
        value = self.positive_int(name, Settings.scan_lease_seconds, most=3600)
        if value < MIN_SCAN_LEASE_SECONDS:
            raise SettingsError(
                f"{name} must be at least {MIN_SCAN_LEASE_SECONDS}, four renewals of a second "
                f"(got {value})"
            )
        return value

    def days(self, name: str, default: int) -> int:
        return self.positive_int(name, default, most=MAX_DAYS)

    def database_url(self, name: str) -> str:
        """Checked when the database is opened (`database_url_problem`): SQLAlchemy parses it,
        and the terminal scan reads its settings before it loads SQLAlchemy."""
        return self.text(name) or DEFAULT_DATABASE_URL

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false (got {raw!r})")

    def one_of(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)} (got {raw!r})")
        return raw.lower()

    def choices(self, name: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> list[str]:
        values = [value.lower() for value in self.csv(name)] or list(default)
        unknown = [value for value in values if value not in allowed]
        if unknown:
            raise SettingsError(
                f"{name} accepts {', '.join(allowed)} (unknown: {', '.join(unknown)})"
            )
        return values

    def matching(self, name: str, pattern: re.Pattern[str], what: str) -> str | None:
        raw = self.text(name)
        if raw is not None and not pattern.fullmatch(raw):
            raise SettingsError(f"{name} must be {what} (got {raw!r})")
        return raw

    def matching_csv(self, name: str, pattern: re.Pattern[str], what: str) -> list[str]:
        values = self.csv(name)
        bad = [value for value in values if not pattern.fullmatch(value)]
        if bad:
            raise SettingsError(
                f"{name} must be a comma-separated list of {what} (bad: {bad[0]!r})"
            )
        return values

    def prefixed(self, name: str, prefix: str) -> str | None:
        raw = self.text(name)
        if raw is not None and not raw.startswith(prefix):
            raise SettingsError(f"{name} must start with {prefix}")
        return raw

    def url(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is not None and not raw.startswith(("http://", "https://")):
            raise SettingsError(f"{name} must be an http(s) URL (got {raw!r})")
        if raw is not None and not raw.endswith("/"):
            raw += "/"
        return raw

    def cron(self, name: str, default: str) -> str:
        raw = self.text(name)
        if raw is None:
            return default  # known good (tests/unit/test_cron_defaults.py), and not parsed here
        zone = self.timezone("TZ")
        try:
            trigger = parse_cron(raw, zone)
        except CronError as error:
            raise SettingsError(
                f"{name} must be a crontab line such as '0 6 * * *' ({error}; got {raw!r})"
            ) from None
        if trigger.get_next_fire_time(None, datetime.now(zone)) is None:
            raise SettingsError(f"{name} never fires (got {raw!r}): no such day comes")
        return raw

    def timezone(self, name: str) -> ZoneInfo:
        raw = self.text(name) or "UTC"
        try:
            return ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"{name} must be an IANA time zone such as Europe/Berlin (got {raw!r})"
            ) from None


def _redacted(url: str) -> str:
    """A URL as it may be shown: without a password."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def database_url_problem(raw: str, name: str = "DATABASE_URL") -> str | None:
    """What is wrong with a database URL, as SQLAlchemy reads it; None when nothing is."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    from storage.db import normalize_url

    try:
        url = make_url(normalize_url(raw))
        url.port  # noqa: B018 (parses the port, which may be malformed)
    except (ArgumentError, ValueError):
        return f"{name} is not a database URL (got {_redacted(raw)})"
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return f"{name} must name a SQLite file, such as sqlite:///bot.db"
    if url.get_backend_name() not in DATABASES:
        return (
            f"{name} must be a SQLite or PostgreSQL URL, such as sqlite:///iam-inactive.db "
            f"(got {url.get_backend_name()})"
        )
    return None
