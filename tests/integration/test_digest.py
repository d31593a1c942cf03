"""The weekly digest says what the records say: a dry run's removals are not counted as carried
out, and digests on a weekly cron cover each moment once, across a clock change."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.aws.demo import seed_users
from bot.domain.workflow import State
from bot.entry.bootstrap import build_services
from bot.slack.ids import ActionId
from storage.db import make_engine
from storage.repository import Repository
from tests.integration.conftest import (
    _ENGINES,
    IDLE_DORMANT,
    KEYS_ONLY,
    LEFT,
    OWNED,
    RECENT_LOGIN,
    start_bot,
)
from tests.support.bot_harness import CHANNEL, OWNER, bot_settings, idle_scan


def text_of(view: dict) -> str:
    return json.dumps(view, ensure_ascii=False)


def last_digest(standin):
    digests = [c for c in standin.posted(CHANNEL) if "Weekly digest" in c.text_of_blocks()]
    assert digests, "no digest posted"
    return digests[-1]


def digest_text(standin) -> str:
    """The text of the last digest posted to the findings channel: its blocks, its text."""
    call = last_digest(standin)
    texts = []
    for block in call.blocks():
        texts += [field["text"] for field in block.get("fields") or ()]
        texts += [block["text"]["text"]] if isinstance(block.get("text"), dict) else []
        texts += [element.get("text", "") for element in block.get("elements") or ()]
    return "\n".join(texts + [str(call.params.get("text"))])


def week_count(text: str, action: str) -> int:
    """The count the digest's 'This week' line gives an action (`disabled 1`)."""
    line = text.split("*This week*\n", 1)[1].splitlines()[0]
    found = re.search(rf"(?:^|· ){action} (\d+)", line)
    assert found, f"no {action!r} count in the digest's week: {line}"
    return int(found.group(1))


# --- the weekly digest -------------------------------------------------------------------------


def test_digest_does_not_report_a_dry_run_removal_as_disabled_once_dry_run_is_off(
    standin, database_file, aws_session, now
):
    """The README suggests a first week with DRY_RUN=true: the first digest after it counts that
    week's dry-run removals apart, as the audit log says nothing was removed."""
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, RECENT_LOGIN, OWNED, LEFT), now)
    dry = start_bot(standin, database_file, aws_session, dry_run=True)
    assert dry.command("scan").status_code == 200
    owned = dry.finding("owned")
    dry.click(ActionId.DISABLE, owned.id)
    dry.home_click(ActionId.OWNER_CONFIRM, owned.id, OWNER)
    finding = dry.finding("owned")
    assert finding.state == State.DISABLED and finding.requested_dry_run is True
    events = dry.repository.history(finding.id)
    (disabled,) = [event for event in events if event.action == "disabled"]
    assert disabled.reason.startswith("dry run")  # the record: nothing was removed

    real = start_bot(standin, database_file, aws_session, dry_run=False)
    standin.clear()
    assert real.command("digest").status_code == 200
    text = digest_text(standin)
    assert week_count(text, "disabled") == 0 and "(+1 in dry run)" in text, text


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_every_event_is_in_exactly_one_weekly_digest_across_a_dst_change(
    standin, database_file, aws_session
):
    """DIGEST_CRON fires Mondays 09:00 in TZ; when the clocks go back the two Monday 09:00s are
    7 days and 1 hour apart: a finding opened in that hour is in the second digest."""
    zone = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 19, 9, 0, tzinfo=zone).astimezone(UTC)  # CEST: 07:00 UTC
    second = datetime(2026, 10, 26, 9, 0, tzinfo=zone).astimezone(UTC)  # CET: 08:00 UTC
    opened_at = datetime(2026, 10, 19, 9, 30, tzinfo=zone).astimezone(UTC)
    assert first < opened_at < second

    settings = bot_settings(standin, database_file, timezone=zone)
    engine = make_engine(database_file)
    _ENGINES.append(engine)
    repository = Repository(engine)
    counts = []
    for at in (first, second):
        if at == second:  # between the two digests, as it happened
            found = idle_scan({"111122223333": 1}, opened_at)
            repository.record_scan(found, "test", dry_run=False)
        clock = FixedClock(at)
        services = build_services(settings, repository, aws_session, clock, answer_first=False)
        standin.clear()
        assert services.announcer.post_digest()
        counts.append(week_count(digest_text(standin), "opened"))
    assert sum(counts) == 1, f"the digests of {first} and {second} counted {counts}"
