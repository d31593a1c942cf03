"""The weekly digest message (the chart beside it is drawn by bot/slack/chart.py)."""

from __future__ import annotations

from datetime import tzinfo

from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock

from bot.domain.digest import DigestFacts, trend_text
from bot.slack.messages.blocks import (
    MAX_SECTION_TEXT,
    Message,
    checked,
    day,
    dry_run_note,
    listed,
    mrkdwn,
    owner_label,
)
from bot.slack.messages.finding import MFA_LABELS, named
from bot.slack.messages.text import literal

MORE_IN_LIST = " (`/iam-inactive list` shows them all)"
MORE_ON_HOME = " (the Home tab shows each account's last scan)"


def digest_message(facts: DigestFacts, zone: tzinfo, dry_run: bool) -> Message:
    week = facts.week_actions
    in_dry_run = facts.disabled_in_dry_run
    week_line = " · ".join(
        f"{action} {count}"
        + (f" (+{in_dry_run} in dry run)" if action == "disabled" and in_dry_run else "")
        for action, count in week.items()
    )
    keys = facts.week_keys
    keys_line = (
        f"found {keys.found} · deactivated {keys.deactivated} · reactivated {keys.reactivated}"
        + (f" · deleted {keys.deleted}" if keys.deleted else "")
    )
    blocks: list[Block] = [
        HeaderBlock(text="Weekly digest: idle AWS console passwords and access keys"),
        SectionBlock(
            fields=[
                mrkdwn(f"*Open now*\n{facts.open_total}"),
                mrkdwn(f"*This week*\n{week_line}"),
                mrkdwn(f"*Idle access keys this week*\n{keys_line}"),
                mrkdwn("*Idle for*\n" + _counts(facts.open_by_age)),
                mrkdwn(
                    "*By account*\n"
                    + listed(
                        [f"{literal(k)}: {v}" for k, v in facts.open_by_account.items()]
                        or ["none"],
                        1900,
                    )
                ),
            ]
        ),
        SectionBlock(text=mrkdwn(f"*Open findings, last 8 weeks*\n{trend_text(facts.trend)}")),
    ]
    sections = [
        (
            "*Top risks: privileged users with idle credentials*",
            [
                f"• {named(row, zone)} ({literal(row.account_id)}): "
                f"{literal(row.privilege, 200)}, "
                f"{MFA_LABELS[row.mfa_active]}, idle {row.days_idle} days"
                for row in facts.top_risks
            ],
            MORE_IN_LIST,
        ),
        (
            "*Waiting for owners*",
            [
                f"• {named(row, zone)} ({literal(row.account_id)}): {owner_label(row)}, {days} days"
                for row, days in facts.waiting_on_owners
            ],
            MORE_IN_LIST,
        ),
        (
            "*Keeps expiring within 14 days*",
            [
                f"• {named(row, zone)} ({literal(row.account_id)}) on {day(row.kept_until, zone)}"
                for row in facts.keeps_expiring
            ],
            MORE_IN_LIST,
        ),
        (
            "*Scan failures this week*",
            [
                f"• {day(when, zone)} {literal(account)}: {literal(error or 'failed', 200)}"
                for when, account, error in facts.failed_scans
            ],
            MORE_ON_HOME,
        ),
    ]
    for title, lines, hint in sections:
        if lines:
            shown = listed(lines, MAX_SECTION_TEXT - len(title) - 1, most=25, hint=hint)
            blocks.append(SectionBlock(text=mrkdwn(f"{title}\n{shown}")))
    blocks += dry_run_note(dry_run)
    summary = (
        f"Weekly digest: {facts.open_total} open, {week.get('disabled', 0)} disabled this week, "
        f"{keys.deactivated} idle access keys deactivated"
    )
    return checked(summary, blocks)


def _counts(counts: dict[str, int]) -> str:
    return "\n".join(f"{label}: {count}" for label, count in counts.items()) or "none"
