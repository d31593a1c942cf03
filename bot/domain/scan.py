"""What a scan found, account by account: the AWS side produces it, storage records it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.assessment import AccountKeys
from bot.domain.rule import Candidate

ACCOUNT_ID = re.compile(r"^\d{12}$")  # an AWS account id, as people type it


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
