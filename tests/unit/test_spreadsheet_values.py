"""What the evidence's cells and summary line claim, as a spreadsheet or a reader takes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.evidence import last_days, period_of
from bot.domain.sheets import MARK, text_cell

# Text the docs promise stays text (`user_name`, `owner`, `reason` "As text, always"), that
# Excel (and LibreOffice for the ISO date and the booleans) converts on opening a CSV: IAM user
# names may be `1-2`, `2026-01-01` or `true` ([\w+=,.@-]); an owner tag `12:30` or `1/2`; a keep
# reason anything.
COERCED = ["1-2", "2026-01-01", "true", "FALSE", "12:30", "1/2", "(100)", "$100", "1 1/2"]


@pytest.mark.parametrize("text", COERCED)
def test_text_a_spreadsheet_reads_as_a_date_time_truth_value_or_money_is_marked(text):
    assert text_cell(text) == MARK + text


NOW = datetime(2026, 6, 6, 14, 23, tzinfo=UTC)


def test_the_slack_exports_summary_line_says_the_hour_its_last_days_begin():
    """`/iam-inactive export 90` at 14:23 covers from 14:23 UTC 90 days ago; its summary line
    (in the file's head, the DM and the filename) says whole days `2026-03-08 to 2026-06-06`,
    so events on 2026-03-08 before 14:23 look covered and are not in the file."""
    period = last_days(90, NOW)
    assert period.since == datetime(2026, 3, 8, 14, 23, tzinfo=UTC)
    assert period.describe() == "2026-03-08 14:23:00 to 2026-06-06 14:23:00 (UTC)"


def test_a_period_is_described_in_whole_days_only_when_it_is_whole_days():
    assert period_of(None, None, NOW).describe().startswith("2026-03-08 14:23:00 to ")
    whole_days = period_of("2026-03-01", "2026-03-31", NOW)
    assert whole_days.describe() == "2026-03-01 to 2026-03-31 (UTC)"


@pytest.mark.parametrize(
    "name", ["alice", "ci-deployer", "svc.terraform", "user1", "2fa-admin", "mar-ops", "may"]
)
def test_text_a_spreadsheet_keeps_as_text_is_written_as_it_is(name):
    assert text_cell(name) == name
