"""Evidence for access reviews: the decision record of a period and its whole population, for
the terminal and for an approver's DM (rows, neutralisation and the summaries are
bot.domain.evidence's and bot.domain.population's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import __version__
from bot.application.access import Refused
from bot.application.services import Services
from bot.domain.about import About
from bot.domain.clock import Clock, utc_now
from bot.domain.evidence import (
    Period,
    Record,
    Summary,
    as_csv,
    as_json,
    last_days,
    summarize,
)
from bot.domain.population import (
    PopulationSummary,
    population_csv,
    population_json,
    summarize_population,
)
from bot.domain.records import Surface
from bot.domain.settings import Settings
from storage.evidence import EvidenceSnapshot
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
        return _filename(self.about, self.summary.period, extension)


@dataclass(frozen=True)
class PopulationExport:
    """Every user of every account scanned in the period, with its verdict."""

    rows: Sequence[dict[str, Any]]
    summary: PopulationSummary
    about: About

    def csv(self, bom: bool = True) -> str:
        return population_csv(self.rows, self.summary, self.about, bom=bom)

    def json(self) -> str:
        return population_json(self.rows, self.summary, self.about)

    def filename(self, extension: str) -> str:
        return _filename(self.about, self.summary.period, extension)


def _filename(about: About, period: Period, extension: str) -> str:
    return f"iam-inactive-{about.kind}-{period.since:%Y-%m-%d}-to-{period.last_day}.{extension}"


def export(
    repository: Repository,
    settings: Settings,
    period: Period,
    account_id: str | None = None,
    clock: Clock = utc_now,
) -> Export:
    with repository.evidence_snapshot() as snapshot:
        records = snapshot.evidence(period.since, period.until, account_id)
        about = _about(snapshot, settings, period, account_id, clock(), "evidence")
    return Export(records, summarize(records, period, account_id), about)


def population(
    repository: Repository,
    settings: Settings,
    period: Period,
    account_id: str | None = None,
    clock: Clock = utc_now,
) -> PopulationExport:
    with repository.evidence_snapshot() as snapshot:
        rows = snapshot.population(period.since, period.until, account_id)
        about = _about(snapshot, settings, period, account_id, clock(), "population")
    return PopulationExport(rows, summarize_population(rows, period, account_id), about)


def _about(
    snapshot: EvidenceSnapshot,
    settings: Settings,
    period: Period,
    account_id: str | None,
    now: datetime,
    kind: str,
) -> About:
    return About(
        generated_at=now,
        tool=f"iam-inactive {__version__}",
        accounts=tuple(snapshot.accounts_scanned(period.since, period.until, account_id)),
        idle_days=settings.thresholds.idle_days,
        key_recent_days=settings.thresholds.key_recent_days,
        dry_run=settings.dry_run,
        kind=kind,
        key_idle_days=settings.thresholds.key_idle_days,
        key_actions=settings.key_actions,
        key_reactivate_days=settings.key_reactivate_days,
        key_delete_after_days=settings.key_delete_after_days,
    )


def send_to_dm(services: Services, user_id: str, days: int) -> str:
    """An approver's export of the last `days` days, the evidence and the population as two CSV
    files in one message in their DM with the bot; returns the summary lines. Refused, with
    nothing sent, to anyone else or without the scope Slack needs for files."""
    services.access.require_approver(user_id, Surface.COMMAND)
    period = last_days(days, services.clock())
    repository, settings, clock = services.repository, services.settings, services.clock
    made = export(repository, settings, period, clock=clock)
    everyone = population(repository, settings, period, clock=clock)
    lines = f"{made.summary.line()}\n{everyone.summary.line()}"
    dm = services.client.conversations_open(users=user_id)["channel"]["id"]
    files = [
        {"content": each.csv(), "filename": each.filename("csv"), "title": title}
        for each, title in ((made, "iam-inactive evidence"), (everyone, "iam-inactive population"))
    ]
    try:
        services.client.files_upload_v2(channel=dm, file_uploads=files, initial_comment=lines)
    except SlackApiError as error:
        if error.response.get("error") == "missing_scope":
            raise Refused(NO_FILE_SCOPE) from None
        raise
    return f"Sent the evidence and population CSV files to your DM.\n{lines}"
