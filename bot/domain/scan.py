"""What a scan found, account by account: the AWS side produces it, storage records it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.assessment import AccountKeys
from bot.domain.home import LastScan
from bot.domain.rule import Candidate
from bot.domain.settings import Settings, account_of_role

# An AWS account id, as people type it: to be matched whole (`fullmatch`: `$` would take a
# final newline), and in ASCII digits (`\d` takes every script's, full-width ones among them).
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# The error recorded for a scan of one account that is not among those scans cover (a typo, or an
# account that left the Organization): nothing of it was read.
NOT_SCANNED = "this account is not among the scanned accounts"
# What a scan whose account discovery failed records in place of accounts (one "account" that
# carries the error): it concerns no account, and a later scan that covered accounts supersedes it.
DISCOVERY = "unknown"


@dataclass(frozen=True)
class AccountTarget:
    account_id: str
    role_arn: str | None = None  # None: the current credentials already act in this account
    name: str | None = None


@dataclass(frozen=True)
class AccountScan:
    target: AccountTarget
    candidates: list[Candidate] = field(default_factory=list)
    # Every user seen that is not a candidate, and why: it explains findings that close.
    cleared: dict[str, str] = field(default_factory=dict)
    users_seen: int = 0
    report_generated_at: datetime | None = None
    error: str | None = None
    # The users as judged, asked about single keys when recording (None: not known).
    keys: AccountKeys | None = None

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
    def candidates(self) -> list[Candidate]:
        return [candidate for account in self.accounts for candidate in account.candidates]

    @property
    def failed_accounts(self) -> list[AccountScan]:
        return [account for account in self.accounts if not account.ok]

    @property
    def status(self) -> str:
        if not self.failed_accounts:
            return "ok"
        return "failed" if len(self.failed_accounts) == len(self.accounts) else "partial"


def scannable_accounts(settings: Settings, last_scans: Mapping[str, LastScan]) -> frozenset[str]:
    """The accounts the bot scans, as far as it knows without asking AWS: with AWS_ROLE_ARNS
    (and no AWS_ORGANIZATION), those its roles are in. Otherwise they are found by scanning (the
    Organization's members, or the account of the bot's credentials): every account a scan
    covered, unless its latest scan found it no longer among the scanned accounts (it left the
    Organization), and none before the first scan."""
    if settings.role_arns and not settings.organization:
        return frozenset(account_of_role(arn) for arn in settings.role_arns)
    return frozenset(account for account, last in last_scans.items() if last.error != NOT_SCANNED)
