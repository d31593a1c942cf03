"""A scan as every entry point runs it: scan AWS, then record the result in one transaction.

Kept free of Slack so the terminal scan loads nothing it does not use."""

from __future__ import annotations

import boto3

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
    return result, repository.record_scan(result, trigger, dry_run=settings.dry_run)
