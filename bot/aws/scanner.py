"""A scan: every account concurrently, the rule applied, owners and exemptions attached.

`scan_accounts` talks to AWS and returns a ScanResult (recording it is the application's job).
One account's failure is recorded for that account and never empties or aborts the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import boto3

from bot.aws import iam as aws
from bot.aws.accounts import iam_in, resolve_targets
from bot.aws.details import AwsManagedPolicies
from bot.aws.fast import aws_session
from bot.domain.assessment import AccountKeys, assess, has_idle_key
from bot.domain.clock import Clock
from bot.domain.rule import USER_DELETED, Candidate, Cleared, UserCredentials, evaluate
from bot.domain.scan import DISCOVERY, NOT_SCANNED, AccountScan, AccountTarget, ScanResult
from bot.domain.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def scan_accounts(
    settings: Settings,
    base_session: boto3.Session | None = None,
    *,
    clock: Clock,
    progress: Progress | None = None,
    only_account: str | None = None,
    stop: threading.Event | None = None,
) -> ScanResult:
    """Scan every configured account (or just `only_account`); never raises for AWS errors.
    Once `stop` is set, accounts not yet begun are not scanned (those under way finish)."""
    base = base_session or aws_session(settings.aws_fast_parsing)
    started = clock()
    report = progress or (lambda _message: None)

    def finished(accounts: list[AccountScan]) -> ScanResult:
        return ScanResult(started, clock(), settings.scan_source, accounts)

    try:
        targets = resolve_targets(settings, base)
    except Exception as error:  # discovery failed: nothing to scan, say why
        log.warning("account discovery failed: %s", aws.describe_error(error))
        return finished([AccountScan(AccountTarget(DISCOVERY), error=aws.describe_error(error))])
    if only_account is not None:
        targets = [target for target in targets if target.account_id == only_account]
        if not targets:
            return finished([AccountScan(AccountTarget(only_account), error=NOT_SCANNED)])

    aws_policies = AwsManagedPolicies()

    def scan_one(target: AccountTarget) -> AccountScan:
        if stop is not None and stop.is_set():
            return AccountScan(target, error="the scan was stopped")
        report(f"scanning {_label(target)}")
        try:
            result = _scan_account(settings, base, target, started, clock, aws_policies)
        except Exception as error:  # one account's failure must not stop the others
            log.warning("scan of %s failed: %s", target.account_id, aws.describe_error(error))
            result = AccountScan(target, error=aws.describe_error(error))
        report(_account_summary(result))
        return result

    workers = max(1, min(settings.account_concurrency, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="account") as pool:
        return finished(list(pool.map(scan_one, targets)))


def _scan_account(
    settings: Settings,
    base: boto3.Session,
    target: AccountTarget,
    now: datetime,
    clock: Clock,
    aws_policies: AwsManagedPolicies,
) -> AccountScan:
    seconds = settings.account_timeout_seconds
    out_of_time = _out_of_time_after(clock() + timedelta(seconds=seconds), clock, seconds)
    iam = iam_in(target, base, settings.external_id, before_each_request=out_of_time)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tags") as side:
        # Bulk tags cost a call per 1,000 users whatever the candidates: fetch them meanwhile.
        bulk = (
            side.submit(aws.identities_of_all_users, iam, aws_policies)
            if settings.tag_source == "bulk"
            else None
        )
        users, generated_at = _users_of(iam, settings, target, now)
        passwords = {user.user_name: evaluate(user, now, settings.thresholds) for user in users}
        # Only users with something idle need their identity (tags, UserId, privilege).
        idle = [
            user
            for user in users
            if isinstance(passwords[user.user_name], Candidate) or has_idle_key(user, now, settings)
        ]
        if bulk is not None:
            identities = bulk.result()
        else:
            identities = {
                user.user_name: identity
                for user in idle
                if (identity := aws.identity_of_user(iam, user.user_name)) is not None
            }

    cleared = {name: v.reason for name, v in passwords.items() if isinstance(v, Cleared)}
    # In the report but not among IAM's users now, or made again under its name since: deleted
    # since (AWS serves a report for up to 4 hours); what the report says is of nobody there now.
    gone = {
        user.user_name
        for user in idle
        if user.user_name not in identities or identities[user.user_name].made_after(user)
    }
    cleared.update(dict.fromkeys(gone, USER_DELETED))
    verdicts = {}
    candidates: list[Candidate] = []
    for user in idle:
        name = user.user_name
        if name in gone:
            continue
        identity = identities[name]
        verdicts[name] = verdict = assess(user, passwords[name], identity, now, settings)
        candidates.extend(verdict.findings)
        if verdict.cleared is not None:
            cleared[name] = verdict.cleared
    other_keys = {
        u.user_name: u.keys
        for u in users
        if u.keys and u.user_name not in verdicts and u.user_name not in gone
    }
    keys = AccountKeys(verdicts, other_keys, now, settings)
    return AccountScan(target, candidates, cleared, len(users), generated_at, None, keys)


def _out_of_time_after(deadline: datetime, clock: Clock, seconds: int) -> Callable[[], None]:
    """What stops the account's requests once its time is up, so that its scan fails then and
    the scan goes on to record the others, whatever the account is waiting on (a report never
    ready, throttling retried, an endpoint that does not answer)."""

    def check() -> None:
        if clock() >= deadline:
            raise aws.AccountTimeout(
                f"the account's scan took longer than {seconds} s (ACCOUNT_TIMEOUT_SECONDS)"
            )

    return check


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
    return f"{_label(result.target)}: {result.users_seen} users, {len(result.candidates)} findings"
