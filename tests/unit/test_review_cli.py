"""Review of the settings: values accepted that then misbehave, contradictions not answered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.cron import parse_cron
from bot.entry.config import SettingsError, load_settings

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
    """With both, scans go through the Organization and AWS_ROLE_ARNS is silently ignored for
    them (bot/aws/accounts.py resolve_targets) while removals still use its roles."""
    with pytest.raises(SettingsError, match="AWS_ROLE_ARNS"):
        load_settings(
            {
                "AWS_ORGANIZATION": "true",
                "AWS_ROLE_ARNS": "arn:aws:iam::111122223333:role/iam-inactive",
            }
        )
