"""The Home tab's builder: Slack's limits, escaping, and the one order of findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.digest import keeps_ending
from bot.domain.home import LastScan, OpenCount, riskiest_first
from bot.domain.workflow import State
from bot.slack.messages.home import MAX_HOME_BLOCKS, About, ApproverPart, OwnerPart, home_view
from tests.support.slack_rules import view_problem
from tests.unit.test_messages import HOSTILE, KEYS, SHOWN, row

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
ABOUT = About("C0FINDINGS", 90, 45, ["U0APPROVER"], "S0GROUP", "iam-inactive:exempt", 180)


def test_findings_are_ordered_as_everywhere_the_riskiest_first():
    rows = [
        row("b", days_idle=100),
        row("a", days_idle=300),
        row("c", days_idle=100),
        row("admin", days_idle=95, privileged=True, mfa_active=True),
    ]
    assert [r.user_name for r in riskiest_first(rows)] == ["admin", "a", "b", "c"]


@pytest.mark.parametrize("waiting", [0, 1, 49, 200])
def test_every_home_stays_within_slacks_limits(waiting):
    rows = [
        row(f"{n:03d}" + "x" * 60, state=State.AWAITING_OWNER, owner_slack_id="U0OWNER")
        for n in range(waiting)
    ]
    kept = [row(f"k{n}", state=State.KEPT, decision_note="why " * 125) for n in range(300)]
    scans_by_account = {
        f"{n:012d}": LastScan(NOW, "failed", "n" * 128, "e" * 3000) for n in range(300)
    }
    counts = {f"{n:012d}": OpenCount(10, 1, 2) for n in range(300)}
    view = home_view(
        about=ABOUT,
        owner=OwnerPart(rows, kept),
        approver=ApproverPart(counts, scans_by_account, rows, kept),
        now=NOW,
        zone=UTC,
        dry_run=True,
        keys=KEYS,
        note="x" * 5000,
    )
    assert view_problem(view) is None and len(view["blocks"]) <= MAX_HOME_BLOCKS


def test_text_from_people_and_aws_on_home_is_data_never_markup():
    hostile = row(
        HOSTILE[:60],
        state=State.KEPT,
        decided_by="U0APPROVER",
        decision_note=HOSTILE,
        kept_until=NOW,
    )
    view = home_view(
        about=ABOUT,
        owner=OwnerPart([], [hostile]),
        approver=ApproverPart(
            {"111122223333": OpenCount(1, 1, 0)},
            {"111122223333": LastScan(NOW, "failed", HOSTILE, HOSTILE)},
            [],
            [hostile],
        ),
        now=NOW,
        zone=UTC,
        dry_run=False,
        keys=KEYS,
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "<!channel>" not in text and "<@U0X>" not in text and "<https" not in text
    assert SHOWN in text


def test_keeps_ending_soon_are_those_still_running_soonest_first():
    rows = [
        row("later", state=State.KEPT, kept_until=NOW + timedelta(days=10)),
        row("ended", state=State.KEPT, kept_until=NOW - timedelta(days=1)),  # the scan reopens it
        row("soon", state=State.KEPT, kept_until=NOW + timedelta(days=2)),
        row("far", state=State.KEPT, kept_until=NOW + timedelta(days=30)),
        row("open", kept_until=NOW + timedelta(days=1)),
    ]
    assert [r.user_name for r in keeps_ending(rows, NOW)] == ["soon", "later"]


def test_an_owners_long_list_of_keeps_points_to_show_which_owners_may_use():
    kept = [row(f"k{n}", state=State.KEPT, decision_note="why " * 125) for n in range(60)]
    view = home_view(
        about=ABOUT,
        owner=OwnerPart([], kept),
        approver=None,
        now=NOW,
        zone=UTC,
        dry_run=False,
        keys=KEYS,
    )
    text = json.dumps(view)
    assert (
        "more (see `/iam-inactive show &lt;user&gt;`)" in text
        or "more (see `/iam-inactive show <user>`)" in text
    )
    assert "/iam-inactive list" not in text
