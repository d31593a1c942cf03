"""The whole population: every IAM user of every account scanned in a period, with its verdict,
so that a reviewer can show every user was assessed, not only the findings (docs/evidence.md).

Pure. A verdict is stable text (the same user judged the same way reads the same at every
scan), so storage keeps verdicts as intervals and a steady scan writes only what changed
(`changes`); a period's population is each account's users at its latest scan that read it
(`population_rows`), written with the evidence export's head rows and cell rules.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.domain.about import About
from bot.domain.access_keys import riding_keys
from bot.domain.clock import iso
from bot.domain.evidence import Period, outcome
from bot.domain.records import FindingView
from bot.domain.rule import NO_PASSWORD
from bot.domain.scan import AccountScan
from bot.domain.sheets import sheet
from bot.domain.workflow import State

FINDING = "finding: {category}"
FINDING_PREFIX = FINDING.format(category="")
# The rule says why a finding closes ("console password removed"); of a user never found, the
# fact is that it has none.
NO_CONSOLE_PASSWORD = "no console password"
NOT_SCANNED = "not scanned: {error}"
NO_USERS = "no IAM users"
# An account whose latest scan of the period ran before verdicts were recorded (migration 0010).
NOT_RECORDED = "users not recorded: scanned before iam-inactive recorded every user's verdict"

# Stable column order (documented in docs/evidence.md): append, never reorder or rename.
POPULATION_COLUMNS = (
    "account_id",
    "account_name",
    "user_name",
    "verdict",
    "verdict_since",
    "last_assessed",
    "scan_id",
    "finding_id",
    "finding_outcome",
    "kept_until",
    # Appended for idle access keys (issue 23): how many of the user's Active keys were idle
    # (its own findings, or riding on its password's), and the idle_key findings open then.
    "idle_keys",
    "key_finding_ids",
)


def verdicts(account: AccountScan) -> dict[str, str]:
    """Every user an account's scan saw, and its verdict."""
    said = {
        name: NO_CONSOLE_PASSWORD if reason == NO_PASSWORD else reason
        for name, reason in account.cleared.items()
    }
    for candidate in account.candidates:
        said[candidate.user_name] = FINDING.format(category=candidate.category)
    return said


@dataclass(frozen=True)
class Changes:
    """What a scan changes in an account's recorded verdicts: the intervals that end (their
    ids) and the verdicts that begin (by user name)."""

    ended: list[int] = field(default_factory=list)
    begun: dict[str, str] = field(default_factory=dict)


def changes(current: Mapping[str, tuple[int, str]], seen: Mapping[str, str]) -> Changes:
    """`current`: each user's verdict still holding (interval id, verdict); `seen`: this scan's.
    A user no longer seen, or judged otherwise, ends its interval; a user new or judged
    otherwise begins one."""
    found = Changes()
    for name, (interval, verdict) in current.items():
        if seen.get(name) != verdict:
            found.ended.append(interval)
    for name, verdict in seen.items():
        held = current.get(name)
        if held is None or held[1] != verdict:
            found.begun[name] = verdict
    return found


class AccountAssessed(Protocol):
    """An account's latest scan of the period: the latest that read it, else the latest that
    tried (scan_accounts joined with its scan)."""

    @property
    def account_id(self) -> str: ...
    @property
    def account_name(self) -> str | None: ...
    @property
    def status(self) -> str: ...  # ok, failed
    @property
    def error(self) -> str | None: ...
    @property
    def users_seen(self) -> int: ...
    @property
    def scan_id(self) -> int: ...
    @property
    def started_at(self) -> datetime: ...


class UserAssessed(Protocol):
    """One user's verdict holding at its account's scan: since when."""

    @property
    def account_id(self) -> str: ...
    @property
    def user_name(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def since(self) -> datetime: ...


def population_rows(
    accounts: Iterable[AccountAssessed],
    users: Iterable[UserAssessed],
    findings: Mapping[tuple[str, str], Sequence[FindingView]],
) -> list[dict[str, Any]]:
    """One row per user per account, by account and user name: `users` at their account's scan,
    with the findings open then (`findings` by account and user name: its password's, or each
    idle key's) for a finding's verdict.
    An account not read in the period, or read with no users, is one row saying so."""
    by_account: dict[str, list[UserAssessed]] = {}
    for user in users:
        by_account.setdefault(user.account_id, []).append(user)
    rows = []
    for account in sorted(accounts, key=lambda a: a.account_id):
        base = {
            "account_id": account.account_id,
            "account_name": account.account_name,
            "last_assessed": iso(account.started_at),
            "scan_id": account.scan_id,
        }
        seen = sorted(by_account.get(account.account_id, ()), key=lambda u: u.user_name)
        if account.status != "ok" or not seen:
            rows.append({**base, "verdict": _account_verdict(account)})
        for user in seen:
            found = findings.get((user.account_id, user.user_name), ())
            if not user.verdict.startswith(FINDING_PREFIX):
                found = ()
            rows.append(
                {
                    **base,
                    "user_name": user.user_name,
                    "verdict": user.verdict,
                    "verdict_since": iso(user.since),
                    **_finding_fields(found),
                }
            )
    return rows


def _account_verdict(account: AccountAssessed) -> str:
    if account.status != "ok":
        return NOT_SCANNED.format(error=account.error or "unknown error")
    return NOT_RECORDED if account.users_seen else NO_USERS


def _finding_fields(found: Sequence[FindingView]) -> dict[str, Any]:
    """The user's password finding (else its first idle key's), and its idle keys."""
    if not found:
        return {}
    ordered = sorted(
        found, key=lambda f: (f.key_created is not None, f.key_created or f.first_seen)
    )
    finding, keys = ordered[0], [f for f in ordered if f.key_created is not None]
    kept = finding.kept_until if finding.state == State.KEPT else None
    return {
        "finding_id": finding.id,
        "finding_outcome": outcome(finding),
        "kept_until": iso(kept),
        "idle_keys": len(keys) + sum(len(riding_keys(f)) for f in found),
        "key_finding_ids": " ".join(f.id for f in keys) or None,
    }


@dataclass(frozen=True)
class PopulationSummary:
    """How many users of how many accounts were assessed, and how each was judged."""

    period: Period
    account_id: str | None
    accounts: int
    not_scanned: int  # accounts no scan of the period could read
    users: int
    by_verdict: dict[str, int]

    def line(self) -> str:
        where = f"account {self.account_id}" if self.account_id else "all accounts"
        findings = sum(n for v, n in self.by_verdict.items() if v.startswith(FINDING_PREFIX))
        return (
            f"Population for {self.period.describe()}, {where}: {self.users} users assessed "
            f"in {self.accounts - self.not_scanned} accounts ({findings} findings); "
            f"accounts not scanned: {self.not_scanned}."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "since": iso(self.period.since),
            "until": iso(self.period.until),
            "account_id": self.account_id,
            "accounts": self.accounts,
            "not_scanned": self.not_scanned,
            "users": self.users,
            "by_verdict": self.by_verdict,
            "line": self.line(),
        }


def summarize_population(
    rows: Sequence[Mapping[str, Any]], period: Period, account_id: str | None
) -> PopulationSummary:
    users = [row for row in rows if row.get("user_name") is not None]
    failed = NOT_SCANNED.format(error="")
    not_scanned = {r["account_id"] for r in rows if r["verdict"].startswith(failed)}
    return PopulationSummary(
        period=period,
        account_id=account_id,
        accounts=len({row["account_id"] for row in rows}),
        not_scanned=len(not_scanned),
        users=len(users),
        by_verdict=dict(sorted(Counter(row["verdict"] for row in users).items())),
    )


def population_json(
    rows: Sequence[Mapping[str, Any]], summary: PopulationSummary, about: About
) -> str:
    """The lossless form: text exactly as recorded."""
    document = {
        "about": about.as_json(summary),
        "summary": summary.as_json(),
        "columns": POPULATION_COLUMNS,
        "users": [{column: row.get(column) for column in POPULATION_COLUMNS} for row in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def population_csv(
    rows: Sequence[Mapping[str, Any]], summary: PopulationSummary, about: About, bom: bool = True
) -> str:
    """The evidence export's head rows, the column names, then one row per user per account,
    every cell as bot.domain.sheets writes it."""
    return sheet(about.csv_rows(summary), POPULATION_COLUMNS, rows, bom=bom)
