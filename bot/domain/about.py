"""What an export is and covers, written at its head (the evidence export's and the
population's): the file says it, not a side channel. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.clock import iso
from bot.domain.sheets import MARK, cell

# The controls whose evidence this is (docs/evidence.md says what in the file serves which).
CONTROLS = (
    "CIS AWS Foundations 1.12 (v1.4.0 to v3.0.0) / 2.11 (v6.0.0): unused credentials disabled",
    "NIST SP 800-53 AC-2(3): disable accounts",
    "SOC 2 CC6.2, CC6.3: access is removed when no longer needed",
    "ISO/IEC 27001:2022 A.5.18: access rights are reviewed and removed",
)


class Span(Protocol):
    """The period an export covers, as its head reads it (bot.domain.evidence.Period)."""

    @property
    def since(self) -> datetime: ...
    @property
    def until(self) -> datetime: ...


class Scope(Protocol):
    """What an export's summary says of its scope: the period, the account filter, the line."""

    @property
    def period(self) -> Span: ...
    @property
    def account_id(self) -> str | None: ...
    def line(self) -> str: ...


@dataclass(frozen=True)
class About:
    """What an export is and covers, written at its head: the file says it, not a side channel."""

    generated_at: datetime
    tool: str  # name and version
    accounts: tuple[str, ...]  # the accounts the period's scans covered
    idle_days: int
    key_recent_days: int
    dry_run: bool
    kind: str = "evidence"  # or population (bot.domain.population)
    # Idle access keys (issue 23): KEY_IDLE_DAYS, KEY_ACTIONS, KEY_REACTIVATE_DAYS and
    # KEY_DELETE_AFTER_DAYS (None: never) as configured when exporting.
    key_idle_days: int = 45
    key_actions: str = "deactivate"
    key_reactivate_days: int = 30
    key_delete_after_days: int | None = None

    def as_json(self, summary: Scope) -> dict[str, Any]:
        return {
            "export": f"iam-inactive {self.kind}",
            "generated_at": iso(self.generated_at),
            "tool": self.tool,
            "period": {"since": iso(summary.period.since), "until": iso(summary.period.until)},
            "account_filter": summary.account_id,
            "accounts_scanned": list(self.accounts),
            "thresholds": {
                "idle_days": self.idle_days,
                "key_recent_days": self.key_recent_days,
                "key_idle_days": self.key_idle_days,
                "key_reactivate_days": self.key_reactivate_days,
                "key_delete_after_days": self.key_delete_after_days,
            },
            "key_actions": self.key_actions,
            "dry_run": self.dry_run,
            "controls": list(CONTROLS),
        }

    def csv_rows(self, summary: Scope) -> list[list[str]]:
        """`# name`, value rows: a reader skips the rows whose first cell begins with #."""
        facts = self.as_json(summary)
        rows: list[list[Any]] = [
            [f"# iam-inactive {self.kind} export", READING],
            ["# generated_at", facts["generated_at"]],
            ["# tool", self.tool],
            ["# period", facts["period"]["since"], facts["period"]["until"]],
            ["# account_filter", summary.account_id or "all accounts"],
            ["# accounts_scanned", " ".join(self.accounts)],
            ["# idle_days", self.idle_days],
            ["# key_recent_days", self.key_recent_days],
            ["# key_idle_days", self.key_idle_days],
            ["# key_actions", self.key_actions],
            ["# key_reactivate_days", self.key_reactivate_days],
            ["# key_delete_after_days", self.key_delete_after_days or "off"],
            ["# dry_run", self.dry_run],
            *(["# control", control] for control in CONTROLS),
            ["# summary", summary.line()],
        ]
        return [[cell(value) for value in row] for row in rows]


READING = (
    "Rows whose first cell begins with # describe the export; the column names follow. "
    f"A cell that begins with {MARK} had one {MARK} put before it (a formula, a number or a "
    f"leading {MARK} as typed): take one off to get the recorded text. Times are UTC."
)
