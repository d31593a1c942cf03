"""The bot's settings as one typed, immutable object, read by every layer.

Loading them from the environment, with one-line errors, is the entry points' job
(bot/entry/config.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.rule import CATEGORIES, Thresholds

DEFAULT_DATABASE_URL = "sqlite:///iam-inactive.db"
# The role deploy/member-role.yaml creates in each account (tests/unit/test_deploy_templates.py
# keeps the two equal).
DEFAULT_ORG_ROLE_NAME = "iam-inactive"
# Each is matched whole (`fullmatch`), in ASCII (IAM's `\w` is [A-Za-z0-9_]; Python's takes
# every script's letters and digits).
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:iam::([0-9]{12}):role/[\w+=,.@/-]+", re.ASCII)
ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
SLACK_GROUP_ID_PATTERN = re.compile(r"S[A-Z0-9]{2,}")
SLACK_CHANNEL_PATTERN = re.compile(r"[CGD][A-Z0-9]{2,}")
TAG_SOURCES = ("bulk", "per-user")
LOG_FORMATS = ("text", "json")
SOURCES = ("report", "api")
# What Disable does to idle access keys: deactivate them (reversibly), or leave them alone
# (they are still found and shown).
KEY_ACTIONS = ("deactivate", "off")


def account_of_role(role_arn: str) -> str:
    """The account a role of AWS_ROLE_ARNS is in (the settings hold only ARNs the pattern takes)."""
    match = ROLE_ARN_PATTERN.fullmatch(role_arn)
    assert match is not None, role_arn
    return match.group(1)


@dataclass(frozen=True)
class Settings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    categories: frozenset[str] = frozenset(CATEGORIES)
    owner_tag_keys: tuple[str, ...] = ("owner",)
    exempt_tag: str = "iam-inactive:exempt"
    ignore_users: frozenset[str] = frozenset()
    tag_source: str = "bulk"
    scan_source: str = "report"
    role_arns: tuple[str, ...] = ()
    # Discover the accounts through Organizations and assume org_role_name in each.
    organization: bool = False
    org_role_name: str = DEFAULT_ORG_ROLE_NAME
    external_id: str | None = None
    account_concurrency: int = 24
    user_concurrency: int = 8
    # An account's scan that runs longer fails alone (the others are recorded without it).
    account_timeout_seconds: int = 600
    # Read AWS's answers with the bot's faster parsing (bot/aws/fast.py); false: botocore's own.
    aws_fast_parsing: bool = True
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000  # HTTP mode
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    dry_run: bool = False
    # Publish findings to Security Hub in the bot's own account and region (bot/aws/securityhub).
    security_hub: bool = False
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_channel: str | None = None
    slack_api_url: str | None = None
    slack_approvers: frozenset[str] = frozenset()
    slack_approver_group: str | None = None
    # Slack takes about one message a second in a channel and answers more with 429: posts to a
    # channel are spaced this far apart (fixed in production; tests and benches shorten it).
    slack_post_interval: float = 1.0
    scan_cron: str = "0 6 * * *"
    digest_cron: str = "0 9 * * mon"
    reminder_cron: str = "0 10 * * *"
    reminder_days: int = 3
    escalate_days: int = 7
    auto_disable_days: int | None = None
    owner_keep_max_days: int = 180
    stuck_after_seconds: int = 600  # a transient state untouched this long is moved on
    # How long a scan's lease outlives its last renewal (renewed 4 times in that time): what a
    # scan killed mid-way blocks the next one for, at most.
    scan_lease_seconds: int = 120
    log_format: str = "text"
    key_actions: str = "deactivate"
    # How long the owner and approvers may turn a deactivated key back on (Reactivate).
    key_reactivate_days: int = 30
    # Keys still inactive this many days after the bot deactivated them are deleted (None: never).
    key_delete_after_days: int | None = None

    @property
    def deactivates_keys(self) -> bool:
        return self.key_actions == "deactivate"

    @property
    def scan_lease_time(self) -> timedelta:
        return timedelta(seconds=self.scan_lease_seconds)
