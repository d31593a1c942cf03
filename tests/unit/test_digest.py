"""The weekly digest: the facts it sums up (pure), and what lands in the channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain import digest
from bot.domain.workflow import State
from bot.slack.chart import trend_chart
from bot.slack.messages.blocks import MAX_BLOCKS
from bot.slack.messages.digest import digest_message
from tests.unit.test_messages import row

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_summary_of_open_waiting_expiring_and_failures():
    findings = [
        row("a", days_idle=100, first_seen=NOW - timedelta(days=30)),
        row("b", days_idle=400, account_id="444455556666", first_seen=NOW - timedelta(days=3)),
        row(
            "c",
            state=State.AWAITING_OWNER,
            asked_at=NOW - timedelta(days=5),
            owner_slack_id="U0C",
            first_seen=NOW - timedelta(days=20),
        ),
        row(
            "d",
            state=State.KEPT,
            kept_until=NOW + timedelta(days=3),
            first_seen=NOW - timedelta(days=60),
        ),
        row(
            "e",
            state=State.KEPT,
            kept_until=NOW + timedelta(days=90),
            first_seen=NOW - timedelta(days=60),
        ),
        row(
            "f",
            state=State.DISABLED,
            first_seen=NOW - timedelta(days=40),
            closed_at=NOW - timedelta(days=2),
        ),
    ]
    failures = [(NOW - timedelta(days=1), "777788889999", "AccessDenied")]
    facts = digest.summarize(NOW, findings, {"opened": 2, "disabled": 1, "refused": 4}, failures)
    assert facts.open_total == 5
    assert facts.week_actions == {
        "opened": 2,
        "disabled": 1,
        "kept": 0,
        "aborted": 0,
        "resolved": 0,
    }
    assert facts.open_by_age == {"90-179 days": 4, "a year or more": 1}
    assert facts.open_by_account == {"111122223333": 4, "444455556666": 1}
    assert [(r.user_name, days) for r, days in facts.waiting_on_owners] == [("c", 5)]
    assert [r.user_name for r in facts.keeps_expiring] == ["d"]
    assert [point.open_findings for point in facts.trend][-3:] == [5, 5, 5]
    assert facts.trend[-1].week_end == NOW


def test_trend_counts_what_was_open_at_each_week_end():
    findings = [
        row(
            "old", first_seen=NOW - timedelta(weeks=10), closed_at=NOW - timedelta(weeks=3, days=1)
        ),
        row("new", first_seen=NOW - timedelta(weeks=1, days=1)),
    ]
    counts = [point.open_findings for point in digest.open_per_week(findings, NOW)]
    assert counts == [1, 1, 1, 1, 0, 0, 1, 1]
    assert digest.trend_text(digest.open_per_week(findings, NOW)).endswith(
        "1 → 1 (+0 on last week)"
    )


def test_chart_is_a_png():
    chart = trend_chart(digest.open_per_week([row("a")], NOW))
    assert chart.startswith(b"\x89PNG") and len(chart) > 1000


def test_digest_message_reads_at_a_glance_within_limits():
    many = [
        row(
            f"u{i:03d}", state=State.AWAITING_OWNER, asked_at=NOW - timedelta(days=i), owner="x@y.z"
        )
        for i in range(300)
    ]
    facts = digest.summarize(NOW, many, {}, [])
    message = digest_message(facts, UTC, dry_run=False)
    text = json.dumps(message.blocks)
    assert len(message.blocks) <= MAX_BLOCKS
    assert "Waiting for owners" in text and "u299" in text  # longest wait first
    assert "…and 275 more (`/iam-inactive list` shows them all)" in json.dumps(
        message.blocks, ensure_ascii=False
    )  # 25 shown
    assert all(len(json.dumps(b)) < 3500 for b in message.blocks)


def test_the_digest_names_the_top_risks_first():
    findings = [
        row("reader", days_idle=900, privileged=False, mfa_active=False),
        row(
            "admin-mfa", days_idle=300, privileged=True, privilege="IAMFullAccess", mfa_active=True
        ),
        row("admin", days_idle=120, privileged=True, privilege="AdministratorAccess <!here>"),
        row("gone", privileged=True, privilege="PowerUserAccess", closed_at=NOW),
    ]
    facts = digest.summarize(NOW, findings, {}, [])
    assert [r.user_name for r in facts.top_risks] == ["admin", "admin-mfa"]
    text = json.dumps(digest_message(facts, UTC, dry_run=False).blocks)
    section = next(
        block["text"]["text"]
        for block in digest_message(facts, UTC, dry_run=False).blocks
        if block.get("text", {}).get("text", "").startswith("*Top risks")
    )
    assert section.splitlines()[1:] == [
        "• `admin` (`111122223333`): `AdministratorAccess &lt;!here&gt;`, MFA not known,"
        " idle 120 days",
        "• `admin-mfa` (`111122223333`): `IAMFullAccess`, MFA on, idle 300 days",
    ]
    assert "reader" not in text and "gone" not in text


def section(message, title: str) -> str:
    (text,) = [
        block["text"]["text"]
        for block in message.blocks
        if block["type"] == "section" and block.get("text", {}).get("text", "").startswith(title)
    ]
    return text


def test_the_digest_points_to_the_home_tab_for_scan_failures_not_to_list():
    """40 accounts whose role was removed: 25 failures are shown, and `list` (open findings
    only) would not show the others."""
    failures = [
        (NOW - timedelta(days=1), f"{number:012d}", "AccessDenied: sts:AssumeRole")
        for number in range(40)
    ]
    facts = digest.summarize(NOW, [], {}, failures)
    message = digest_message(facts, UTC, dry_run=False)
    failed = section(message, "*Scan failures this week*")
    assert "…and 15 more" in failed, json.dumps(message.blocks, ensure_ascii=False)
    assert "/iam-inactive list" not in failed and "Home tab" in failed, failed
