"""Evidence for access reviews: the decision record of a period, for the terminal and for an
approver's DM (rows, neutralisation and the summary are bot.domain.evidence's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot import __version__
from bot.application.access import Refused
from bot.application.services import Services
from bot.domain.clock import Clock, utc_now
from bot.domain.evidence import (
    About,
    Period,
    Record,
    Summary,
    as_csv,
    as_json,
    last_days,
    summarize,
)
from bot.domain.records import Surface
from bot.domain.settings import Settings
from storage.repository import Repository

NO_FILE_SCOPE = (
    "I cannot send files: this Slack app lacks the `files:write` scope, so nothing was sent. "
    "A Slack admin can add it (see manifest.yml) and reinstall the app; meanwhile "
    "`python -m bot export` makes the same file."
)


@dataclass(frozen=True)
class Export:
    records: Sequence[Record]
    summary: Summary
    about: About

    def csv(self, bom: bool = True) -> str:
        return as_csv(self.records, self.summary, self.about, bom=bom)

    def json(self) -> str:
        return as_json(self.records, self.summary, self.about)

    def filename(self, extension: str) -> str:
        period = self.summary.period
        return f"iam-inactive-evidence-{period.since:%Y-%m-%d}-to-{period.last_day}.{extension}"


def export(
    repository: Repository,
    settings: Settings,
    period: Period,
    account_id: str | None = None,
    clock: Clock = utc_now,
) -> Export:
    records = repository.evidence(period.since, period.until, account_id)
    scanned = repository.accounts_scanned(period.since, period.until)
    about = About(
        generated_at=clock(),
        tool=f"iam-inactive {__version__}",
        accounts=tuple(a for a in scanned if account_id in (None, a)),
        idle_days=settings.thresholds.idle_days,
        key_recent_days=settings.thresholds.key_recent_days,
        dry_run=settings.dry_run,
    )
    return Export(records, summarize(records, period, account_id), about)


def send_to_dm(services: Services, user_id: str, days: int) -> str:
    """An approver's export of the last `days` days, as a CSV file in their DM with the bot;
    returns the summary line. Refused, with nothing sent, to anyone else or without the scope
    Slack needs for files."""
    services.access.require_approver(user_id, Surface.COMMAND)
    period = last_days(days, services.clock())
    made = export(services.repository, services.settings, period, clock=services.clock)
    line = made.summary.line()
    dm = services.client.conversations_open(users=user_id)["channel"]["id"]
    try:
        services.client.files_upload_v2(
            channel=dm,
            content=made.csv(),
            filename=made.filename("csv"),
            title="iam-inactive evidence",
            initial_comment=line,
        )
    except SlackApiError as error:
        if error.response.get("error") == "missing_scope":
            raise Refused(NO_FILE_SCOPE) from None
        raise
    return f"Sent the CSV file to your DM. {line}"
