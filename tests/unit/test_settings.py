"""Settings: defaults, and one clear line for every bad value."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import __version__
from bot.domain.cron import parse_cron
from bot.entry.config import SettingsError, database_url_problem, load_settings


def test_defaults_match_the_product_spec():
    settings = load_settings({})
    assert (settings.thresholds.idle_days, settings.thresholds.key_recent_days) == (90, 45)
    assert settings.categories == {"dormant", "keys_only", "idle_key"}
    assert settings.thresholds.key_idle_days == 45
    assert (settings.key_actions, settings.key_reactivate_days) == ("deactivate", 30)
    assert settings.key_delete_after_days is None
    assert settings.owner_tag_keys == ("owner",)
    assert settings.exempt_tag == "iam-inactive:exempt"
    assert settings.database_url == "sqlite:///iam-inactive.db"
    assert settings.dry_run is False
    assert settings.aws_fast_parsing is True
    assert str(settings.timezone) == "UTC"
    assert (settings.scan_cron, settings.digest_cron) == ("0 6 * * *", "0 9 * * mon")
    assert (settings.reminder_days, settings.escalate_days, settings.auto_disable_days) == (
        3,
        7,
        None,
    )


def test_values_are_read_and_normalized():
    settings = load_settings(
        {
            "CONSOLE_IDLE_DAYS": "120",
            "KEY_RECENT_DAYS": "30",
            "CATEGORIES": "Dormant",
            "OWNER_TAG_KEYS": "owner, contact",
            "AWS_ROLE_ARNS": "arn:aws:iam::111122223333:role/audit",
            "SLACK_APPROVERS": "U01,U02",
            "SLACK_API_URL": "http://127.0.0.1:9000/api",
            "DRY_RUN": "yes",
            "AWS_FAST_PARSING": "false",
            "TZ": "Europe/Berlin",
        }
    )
    assert settings.thresholds.idle_days == 120
    assert settings.categories == {"dormant"}
    assert settings.owner_tag_keys == ("owner", "contact")
    assert settings.role_arns == ("arn:aws:iam::111122223333:role/audit",)
    assert settings.slack_approvers == {"U01", "U02"}
    assert settings.slack_api_url == "http://127.0.0.1:9000/api/"
    assert settings.dry_run is True
    assert settings.aws_fast_parsing is False


@pytest.mark.parametrize(
    ("env", "organization", "role"),
    [
        ({}, False, "iam-inactive"),  # deploy/member-role.yaml's name, ready for the switch
        ({"AWS_ORGANIZATION": "true"}, True, "iam-inactive"),
        ({"AWS_ORG_ROLE_NAME": "audit"}, True, "audit"),  # as before AWS_ORGANIZATION existed
        ({"AWS_ORGANIZATION": "false", "AWS_ORG_ROLE_NAME": "audit"}, False, "audit"),
    ],
)
def test_the_organization_is_scanned_when_asked_or_when_its_role_is_named(env, organization, role):
    settings = load_settings(env)
    assert (settings.organization, settings.org_role_name) == (organization, role)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONSOLE_IDLE_DAYS": "abc"}, "CONSOLE_IDLE_DAYS must be a whole number"),
        ({"KEY_RECENT_DAYS": "0"}, "KEY_RECENT_DAYS must be from 1 to 3650"),
        ({"CONSOLE_IDLE_DAYS": "1000000"}, "CONSOLE_IDLE_DAYS must be from 1 to 3650"),
        ({"OWNER_KEEP_MAX_DAYS": "0"}, "OWNER_KEEP_MAX_DAYS must be from 1 to 3650"),
        ({"ACCOUNT_CONCURRENCY": "1000"}, "ACCOUNT_CONCURRENCY must be from 1 to 64"),
        ({"ACCOUNT_TIMEOUT_SECONDS": "0"}, "ACCOUNT_TIMEOUT_SECONDS must be from 1 to 3600"),
        ({"ACCOUNT_TIMEOUT_SECONDS": "7200"}, "ACCOUNT_TIMEOUT_SECONDS must be from 1 to 3600"),
        ({"PORT": "abc"}, "PORT must be a whole number"),
        ({"PORT": "99999"}, "PORT must be from 1 to 65535"),
        ({"SLACK_API_URL": "ftp://slack"}, "SLACK_API_URL must be an http(s) URL"),
        ({"KEY_RECENT_DAYS": "100"}, "KEY_RECENT_DAYS (100) must not exceed CONSOLE_IDLE_DAYS"),
        ({"CATEGORIES": "dormant,stale"}, "CATEGORIES accepts dormant, keys_only, idle_key"),
        ({"KEY_ACTIONS": "delete"}, "KEY_ACTIONS must be one of deactivate, off"),
        ({"KEY_IDLE_DAYS": "0"}, "KEY_IDLE_DAYS must be from 1 to 3650"),
        ({"KEY_REACTIVATE_DAYS": "x"}, "KEY_REACTIVATE_DAYS must be a whole number"),
        ({"KEY_DELETE_AFTER_DAYS": "-1"}, "KEY_DELETE_AFTER_DAYS must be from 1 to 3650"),
        ({"KEY_DELETE_AFTER_DAYS": "30"}, "KEY_DELETE_AFTER_DAYS (30) must exceed"),
        ({"AWS_ROLE_ARNS": "arn:aws:iam::12:role/x"}, "AWS_ROLE_ARNS must be a comma-separated"),
        ({"AWS_ORG_ROLE_NAME": "bad role"}, "AWS_ORG_ROLE_NAME must be an IAM role name"),
        ({"AWS_ORGANIZATION": "all"}, "AWS_ORGANIZATION must be true or false"),
        ({"DRY_RUN": "maybe"}, "DRY_RUN must be true or false"),
        ({"AWS_FAST_PARSING": "fast"}, "AWS_FAST_PARSING must be true or false"),
        ({"TZ": "Mars/Olympus"}, "TZ must be an IANA time zone"),
        ({"SLACK_BOT_TOKEN": "xoxp-123"}, "SLACK_BOT_TOKEN must start with xoxb-"),
        ({"SLACK_APPROVERS": "alice"}, "SLACK_APPROVERS must be a comma-separated list of Slack"),
        ({"SLACK_CHANNEL": "#general"}, "SLACK_CHANNEL must be a channel id"),
        ({"SCAN_SOURCE": "magic"}, "SCAN_SOURCE must be one of report, api"),
        ({"SCAN_CRON": "daily"}, "SCAN_CRON must be a crontab line such as '0 6 * * *'"),
        ({"DIGEST_CRON": "0 25 * * *"}, "DIGEST_CRON must be a crontab line"),
        ({"REMINDER_DAYS": "soon"}, "REMINDER_DAYS must be a whole number"),
        ({"AUTO_DISABLE_AFTER_DAYS": "-1"}, "AUTO_DISABLE_AFTER_DAYS must be from 1 to 3650"),
        ({"AUTO_DISABLE_AFTER_DAYS": "7"}, "AUTO_DISABLE_AFTER_DAYS (7) must exceed ESCALATE_DAYS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json"),
    ],
)
def test_bad_values_stop_with_one_line_naming_the_variable(env, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_token_values_never_appear_in_errors():
    with pytest.raises(SettingsError) as caught:
        load_settings({"SLACK_BOT_TOKEN": "xoxp-very-secret"})
    assert "very-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("garbage", "DATABASE_URL is not a database URL"),
        ("mysql://db/bot", "DATABASE_URL must be a SQLite or PostgreSQL URL"),
        ("postgresql://u:pw@h:abc/db", "DATABASE_URL is not a database URL"),
        ("SQLITE:///x.db", "DATABASE_URL must be a SQLite or PostgreSQL URL"),
        ("sqlite:///", "DATABASE_URL must name a SQLite file"),
    ],
)
def test_database_urls_are_checked_as_sqlalchemy_reads_them(url, problem):
    assert problem in (database_url_problem(url) or "")


def test_a_database_password_never_appears_in_errors():
    problem = database_url_problem("postgresql://bot:hunter2@db:abc/bot")
    assert problem and "hunter2" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "postgres://bot:pw@db.internal:5432/bot",  # as platforms hand them out
        "postgresql://bot:pa/ss#wo?rd@db/bot",  # a generated password, unescaped
        "sqlite:////var/lib/bot/bot.db",
    ],
)
def test_database_urls_sqlalchemy_accepts_are_accepted(url):
    assert database_url_problem(url) is None
    assert load_settings({"DATABASE_URL": url}).database_url == url


def test_the_sweep_waits_longer_than_a_removal_can_take():
    with pytest.raises(SettingsError, match="STUCK_AFTER_SECONDS must be at least 120"):
        load_settings({"STUCK_AFTER_SECONDS": "1"})
    assert load_settings({}).stuck_after_seconds == 600


def test_the_version_the_bot_reports_is_the_projects():
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert __version__ == project["project"]["version"]


def test_a_scan_lease_is_two_minutes_and_renewable_every_second_at_least():
    assert load_settings({}).scan_lease_time.total_seconds() == 120
    assert load_settings({"SCAN_LEASE_SECONDS": "8"}).scan_lease_seconds == 8
    with pytest.raises(SettingsError, match="SCAN_LEASE_SECONDS must be at least 4"):
        load_settings({"SCAN_LEASE_SECONDS": "2"})


# 2026-01-05 is a Monday.
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "weekday"),
    [("0 9 * * 1", "Monday"), ("0 9 * * 0", "Sunday"), ("0 9 * * 5", "Friday")],
)
def test_a_numeric_day_of_week_means_what_crontab_means(line, weekday):
    """crontab(5): 0 (or 7) is Sunday, 1 Monday. SCAN_CRON/DIGEST_CRON take 'crontab lines'."""
    settings = load_settings({"DIGEST_CRON": line})
    trigger = parse_cron(settings.digest_cron, settings.timezone)
    fires = trigger.get_next_fire_time(None, MONDAY)
    assert fires.strftime("%A") == weekday


def test_seven_is_sunday_in_a_crontab_line():
    assert load_settings({"DIGEST_CRON": "0 9 * * 7"}).digest_cron == "0 9 * * 7"


@pytest.mark.parametrize("name", ["SCAN_CRON", "DIGEST_CRON", "REMINDER_CRON"])
def test_a_crontab_line_that_never_fires_is_refused(name):
    """February 31st never comes: the scans (or digests, follow-ups) would silently never run."""
    with pytest.raises(SettingsError, match=name):
        load_settings({name: "0 6 31 2 *"})


def test_aws_organization_with_aws_role_arns_is_refused():
    # Scans through the Organization would leave AWS_ROLE_ARNS out; removals would use it.
    with pytest.raises(SettingsError, match="AWS_ROLE_ARNS"):
        load_settings(
            {
                "AWS_ORGANIZATION": "true",
                "AWS_ROLE_ARNS": "arn:aws:iam::111122223333:role/iam-inactive",
            }
        )
