"""A scan: every account concurrently, the rule applied, owners and exemptions attached.

`scan_accounts` talks to AWS and returns a ScanResult; `run_scan` also records it. One account's
failure is recorded for that account and never empties or aborts the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from bot import aws
from bot.accounts import AccountTarget, resolve_targets, session_for
from bot.rule import Cleared, Finding, UserCredentials, evaluate, exemption, owner_of
from bot.settings import Settings

if TYPE_CHECKING:
    from storage.repository import Repository, ScanRecord

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AccountScan:
    target: AccountTarget
    findings: list[Finding] = field(default_factory=list)
    # Every user seen that is not a finding, and why: it explains findings that close.
    cleared: dict[str, str] = field(default_factory=dict)
    users_seen: int = 0
    report_generated_at: datetime | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ScanResult:
    started_at: datetime
    finished_at: datetime
    source: str
    accounts: list[AccountScan]

    @property
    def findings(self) -> list[Finding]:
        return [finding for account in self.accounts for finding in account.findings]

    @property
    def failed_accounts(self) -> list[AccountScan]:
        return [account for account in self.accounts if not account.ok]

    @property
    def status(self) -> str:
        if not self.failed_accounts:
            return "ok"
        return "failed" if len(self.failed_accounts) == len(self.accounts) else "partial"


def scan_accounts(
    settings: Settings,
    base_session: boto3.Session | None = None,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    only_account: str | None = None,
) -> ScanResult:
    """Scan every configured account (or just `only_account`); never raises for AWS errors."""
    base = base_session or boto3.Session()
    started = now or datetime.now(UTC)
    report = progress or (lambda _message: None)
    try:
        targets = resolve_targets(settings, base)
    except Exception as error:  # discovery failed: nothing to scan, say why
        log.warning("account discovery failed: %s", aws.describe_error(error))
        failed = AccountScan(AccountTarget(account_id="unknown"), error=aws.describe_error(error))
        return ScanResult(started, datetime.now(UTC), settings.scan_source, [failed])
    if only_account is not None:
        targets = [target for target in targets if target.account_id == only_account]
        if not targets:
            missing = AccountScan(
                AccountTarget(only_account), error="this account is not among the scanned accounts"
            )
            return ScanResult(started, datetime.now(UTC), settings.scan_source, [missing])

    def scan_one(target: AccountTarget) -> AccountScan:
        report(f"scanning {_label(target)}")
        try:
            result = _scan_account(settings, base, target, started)
        except Exception as error:  # one account's failure must not stop the others
            log.warning("scan of %s failed: %s", target.account_id, aws.describe_error(error))
            result = AccountScan(target, error=aws.describe_error(error))
        report(_account_summary(result))
        return result

    workers = max(1, min(settings.account_concurrency, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="account") as pool:
        accounts = list(pool.map(scan_one, targets))
    return ScanResult(started, datetime.now(UTC), settings.scan_source, accounts)


def run_scan(
    settings: Settings,
    repository: Repository,
    base_session: boto3.Session | None = None,
    *,
    trigger: str,
    progress: Progress | None = None,
    only_account: str | None = None,
) -> tuple[ScanResult, ScanRecord]:
    """Scan and record: the seam the CLI, Slack and the scheduler all call."""
    result = scan_accounts(settings, base_session, progress=progress, only_account=only_account)
    return result, repository.record_scan(result, trigger)


def _scan_account(
    settings: Settings, base: boto3.Session, target: AccountTarget, now: datetime
) -> AccountScan:
    iam = aws.iam_client(session_for(target, base, settings.external_id))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tags") as side:
        # Bulk tags cost a call per 1,000 users whatever the findings: fetch them meanwhile.
        bulk_tags = (
            side.submit(aws.tags_of_all_users, iam) if settings.tag_source == "bulk" else None
        )
        users, generated_at = _users_of(iam, settings, target, now)
        verdicts = {user.user_name: evaluate(user, now, settings.thresholds) for user in users}
        candidates = [verdict for verdict in verdicts.values() if isinstance(verdict, Finding)]
        if bulk_tags is not None:
            tags = bulk_tags.result()
        else:
            tags = {
                finding.user_name: aws.tags_of_user(iam, finding.user_name)
                for finding in candidates
            }

    cleared = {name: v.reason for name, v in verdicts.items() if isinstance(v, Cleared)}
    findings = []
    for finding in candidates:
        user_tags = tags.get(finding.user_name, {})
        exempt = exemption(finding.user_name, user_tags, settings.exempt_tag, settings.ignore_users)
        if exempt:
            cleared[finding.user_name] = exempt
        elif finding.category in settings.categories:
            findings.append(
                finding.with_owner(owner_of(finding.user_name, user_tags, settings.owner_tag_keys))
            )
        else:
            cleared[finding.user_name] = f"category {finding.category} is not reported"
    return AccountScan(target, findings, cleared, len(users), generated_at)


def _users_of(
    iam: Any, settings: Settings, target: AccountTarget, now: datetime
) -> tuple[list[UserCredentials], datetime | None]:
    if settings.scan_source == "api":
        users = aws.scan_users_via_api(
            iam, target.account_id, now, settings.thresholds, settings.user_concurrency
        )
        return users, None
    report = aws.fetch_credential_report(iam)
    return report.users, report.generated_at


def _label(target: AccountTarget) -> str:
    return f"{target.account_id} ({target.name})" if target.name else target.account_id


def _account_summary(result: AccountScan) -> str:
    if result.error:
        return f"{_label(result.target)}: FAILED: {result.error}"
    return f"{_label(result.target)}: {result.users_seen} users, {len(result.findings)} findings"
