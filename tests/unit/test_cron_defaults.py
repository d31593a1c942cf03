"""The schedules' defaults are crontab lines the scheduler reads, so that settings may take a
default as it is without parsing it (and without loading the scheduler to do so)."""

from __future__ import annotations

from datetime import UTC

import pytest

from bot.domain.cron import parse_cron
from bot.domain.settings import Settings


@pytest.mark.parametrize("name", ["scan_cron", "digest_cron", "reminder_cron"])
def test_every_default_schedule_parses(name):
    assert parse_cron(getattr(Settings, name), UTC) is not None
