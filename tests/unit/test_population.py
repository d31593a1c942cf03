"""The population's pure parts: verdicts as stable text, the changes a scan makes to recorded
verdicts, and the rows of a period (bot.domain.population)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.evidence import Period
from bot.domain.population import (
    NO_USERS,
    NOT_RECORDED,
    Changes,
    changes,
    population_rows,
    summarize_population,
    verdicts,
)
from bot.domain.rule import NO_PASSWORD, Candidate, UserCredentials
from bot.domain.scan import AccountScan, AccountTarget

T = datetime(2026, 6, 1, tzinfo=UTC)


def candidate(name: str, category: str) -> Candidate:
    facts = UserCredentials("111122223333", name, f"arn:{name}", T, True, None, None)
    return Candidate(facts, category, fully_inactive=False, days_idle=100)


def test_verdicts_name_findings_by_category_and_a_missing_password_as_a_fact():
    account = AccountScan(
        AccountTarget("111122223333"),
        candidates=[candidate("ann", "dormant"), candidate("ben", "keys_only")],
        cleared={"cat": NO_PASSWORD, "dan": "exempt: tag iam-inactive:exempt"},
    )
    assert verdicts(account) == {
        "cat": "no console password",
        "dan": "exempt: tag iam-inactive:exempt",
        "ann": "finding: dormant",
        "ben": "finding: keys_only",
    }


def test_a_steady_scan_changes_nothing_and_a_changed_one_only_what_changed():
    current = {"ann": (1, "finding: dormant"), "ben": (2, "no console password")}
    assert changes(current, {"ann": "finding: dormant", "ben": "no console password"}) == Changes()
    found = changes(current, {"ann": "password used in the last 90 days", "cat": "x"})
    assert found == Changes(
        ended=[1, 2], begun={"ann": "password used in the last 90 days", "cat": "x"}
    )


@dataclass(frozen=True)
class Account:
    account_id: str
    status: str = "ok"
    error: str | None = None
    users_seen: int = 0
    account_name: str | None = None
    scan_id: int = 7
    started_at: datetime = T


@dataclass(frozen=True)
class User:
    account_id: str
    user_name: str
    verdict: str
    since: datetime = T


def test_rows_by_account_and_user_with_accounts_not_read_or_empty_said():
    rows = population_rows(
        [
            Account("333333333333", users_seen=4),
            Account("222222222222"),
            Account("111111111111", status="failed", error="AccessDenied"),
            Account("444444444444"),
        ],
        [User("444444444444", "zed", "no console password"), User("444444444444", "amy", "x")],
        {},
    )
    assert [(r["account_id"], r.get("user_name"), r["verdict"]) for r in rows] == [
        ("111111111111", None, "not scanned: AccessDenied"),
        ("222222222222", None, NO_USERS),
        ("333333333333", None, NOT_RECORDED),
        ("444444444444", "amy", "x"),
        ("444444444444", "zed", "no console password"),
    ]
    summary = summarize_population(rows, Period(T, T.replace(day=2)), None)
    assert (summary.accounts, summary.not_scanned, summary.users) == (4, 1, 2)
    assert summary.by_verdict == {"no console password": 1, "x": 1}
