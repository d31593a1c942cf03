"""What the app's Home tab shows each person: the facts, in the order that matters, without I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot.domain.deadlines import reactivation_refusal
from bot.domain.records import FindingView
from bot.domain.risk import by_risk
from bot.domain.workflow import Intent, State, may

NEW_WITHIN = timedelta(days=7)  # an open finding first seen this recently is new
OLD_AFTER = timedelta(days=30)  # an open finding this old has waited too long for a decision


F = TypeVar("F", bound=FindingView)


@dataclass(frozen=True)
class OpenCount:
    """An account's open findings, by how long they have been open."""

    total: int
    new: int  # first seen within NEW_WITHIN
    old: int  # first seen OLD_AFTER ago or earlier


@dataclass(frozen=True)
class LastScan:
    """How an account's last scan went."""

    at: datetime
    status: str  # ok, failed
    account_name: str | None = None
    error: str | None = None


def riskiest_first(rows: Iterable[F]) -> list[F]:
    """Every list of findings on the Home tab is in the order used everywhere (`by_risk`)."""
    return sorted(rows, key=by_risk)


def waiting_on(rows: Iterable[F], user_id: str) -> list[F]:
    """The findings whose owner's answer is asked of this person now (only they may give it)."""
    return riskiest_first(
        row for row in rows if row.state == State.AWAITING_OWNER and row.owner_slack_id == user_id
    )


def kept(rows: Iterable[F]) -> list[F]:
    return riskiest_first(row for row in rows if row.state == State.KEPT)


def days_since(moment: datetime | None, now: datetime) -> int:
    return max(0, (now - moment).days) if moment else 0


def offers_reactivate(row: FindingView, now: datetime, window_days: int) -> bool:
    """Whether Reactivate is offered on this finding now: the workflow allows it from its state,
    and its deactivated keys may still be turned back on (`reactivation_refusal`)."""
    return may(Intent.REACTIVATE, row.state) and (
        reactivation_refusal(row, now, window_days) is None
    )


def reactivatable(rows: Iterable[F], now: datetime, window_days: int) -> list[F]:
    """The findings whose deactivated keys their owner may turn back on now (their Home)."""
    return riskiest_first(row for row in rows if offers_reactivate(row, now, window_days))
