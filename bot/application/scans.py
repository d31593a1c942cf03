"""A scan as the bot runs it: scan AWS, record the result, and (from Slack or the schedule)
post what is new and update the lines of findings that closed."""

from __future__ import annotations

import boto3

from bot.application.services import Services
from bot.aws.scanner import Progress, scan_accounts
from bot.domain.clock import Clock
from bot.domain.scan import ScanResult
from bot.domain.settings import Settings
from storage.repository import Repository, ScanRecord


def run_scan(
    settings: Settings,
    repository: Repository,
    base_session: boto3.Session | None,
    *,
    clock: Clock,
    trigger: str,
    progress: Progress | None = None,
    only_account: str | None = None,
) -> tuple[ScanResult, ScanRecord]:
    """Scan and record: the seam the terminal, Slack and the scheduler all call."""
    result = scan_accounts(
        settings, base_session, clock=clock, progress=progress, only_account=only_account
    )
    return result, repository.record_scan(result, trigger)


def scan_and_announce(
    services: Services, trigger: str, only_account: str | None = None
) -> tuple[ScanResult, ScanRecord]:
    """Scan, record, post what is new, and update the lines of findings that closed."""
    result, record = run_scan(
        services.settings,
        services.repository,
        services.aws_session,
        clock=services.clock,
        trigger=trigger,
        only_account=only_account,
    )
    services.announcer.post_scan(result, record)
    for finding in record.resolved:  # their lines say why they closed
        services.announcer.refresh(finding)
    return result, record


def scan_summary_line(result: ScanResult, record: ScanRecord) -> str:
    """One line for the person who asked for the scan."""
    failed = len(result.failed_accounts)
    return (
        f"Scan done: {len(record.to_announce)} new findings, {len(record.resolved)} resolved"
        + (f", {failed} account(s) failed" if failed else "")
        + "."
    )
