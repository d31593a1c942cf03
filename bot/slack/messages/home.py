"""The app's Home tab: what waits on each person (owners), what is open (approvers), and what
the bot does (everyone else)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.domain.digest import KEEPS_EXPIRING_WITHIN
from bot.domain.home import LastScan, OpenCount, days_since
from bot.domain.records import FindingView
from bot.slack.ids import COMMAND, ActionId, BlockId
from bot.slack.messages.blocks import (
    MAX_SECTION_TEXT,
    context,
    day,
    dry_run_note,
    listed,
    mrkdwn,
    owner_label,
)
from bot.slack.messages.finding import (
    PRIVILEGED_MARK,
    KeyRules,
    counted,
    finding_facts,
    kept_until,
    named,
    reactivate_button,
)
from bot.slack.messages.owner import owner_answers
from bot.slack.messages.text import escape, literal, mention

ENDING_DAYS = KEEPS_EXPIRING_WITHIN.days
MAX_HOME_BLOCKS = 100  # Slack's limit for a Home view
MORE_HINT = f" (see `{COMMAND} list`)"
# Owners may not `list`; each finding waiting on them is also in their DM with the bot.
MORE_FOR_OWNERS = " (each is also in your DM with the bot)"


@dataclass(frozen=True)
class OwnerPart:
    """What an owner has: the findings asking for their answer, their keeps, and the findings
    whose deactivated keys they may turn back on (bot.domain.home.reactivatable)."""

    waiting: Sequence[FindingView]  # riskiest first
    keeps: Sequence[FindingView]
    reactivatable: Sequence[FindingView] = ()  # riskiest first


@dataclass(frozen=True)
class ApproverPart:
    open_counts: Mapping[str, OpenCount]
    last_scans: Mapping[str, LastScan]
    waiting: Sequence[FindingView]  # findings waiting on their owners, riskiest first
    expiring: Sequence[FindingView]  # keeps ending soon, soonest first


@dataclass(frozen=True)
class About:
    """What everyone may know about the bot."""

    channel: str | None
    idle_days: int
    key_idle_days: int
    approvers: Sequence[str]
    approver_group: str | None
    exempt_tag: str
    owner_keep_max_days: int


def home_view(
    *,
    about: About,
    owner: OwnerPart | None,
    approver: ApproverPart | None,
    now: datetime,
    zone: tzinfo,
    dry_run: bool,
    keys: KeyRules,
    note: str | None = None,
) -> dict[str, Any]:
    """The Home view for one person: each part they hold a role in, and the bot's own
    description for those who hold none; never more than Slack's MAX_HOME_BLOCKS."""
    top: list[Block] = [_section(note)] if note else []
    top += dry_run_note(dry_run)
    rest: list[Block] = []
    if approver is not None:
        rest += _approver_blocks(approver, now, zone)
    if owner is None and approver is None:
        rest += _about_blocks(about, keys)
    if owner is not None:
        rest = [DividerBlock(), *rest] if rest else rest
        room = MAX_HOME_BLOCKS - len(top) - len(rest)
        top += _owner_blocks(owner, now, zone, keys, room)
    return {"type": "home", "blocks": [block.to_dict() for block in top + rest]}


def _owner_blocks(
    part: OwnerPart, now: datetime, zone: tzinfo, keys: KeyRules, room: int
) -> list[Block]:
    """Each finding waiting on the owner, and each they may reactivate, takes two blocks (its
    facts and its buttons): as many as fit in `room` with the fixed blocks around them (waiting
    ones first), and how many more there are."""
    keeps = _listing(
        f"Your keeps ({len(part.keeps)})",
        [_keep_line(row, zone) for row in part.keeps],
        hint=f" (see `{COMMAND} show {escape('<user>')}`)",  # owners may show, not list
    )
    # Besides the findings: each list's header and "and N more" line, and the keeps.
    fixed = 3 + (2 if part.reactivatable else 0)
    pairs = max(0, (room - fixed) // 2)
    waiting = part.waiting[:pairs]
    reactivatable = part.reactivatable[: pairs - len(waiting)]
    blocks: list[Block] = [HeaderBlock(text="Waiting on you")]
    for row in waiting:
        asked = days_since(row.asked_at, now)
        facts = f"{finding_facts(row, zone)}\nAsked {asked} days ago by {mention(row.requested_by)}"
        blocks += [_section(facts), owner_answers("home", row)]
    if not part.waiting:
        blocks.append(_section("Nothing waits on your answer now."))
    blocks += _more(len(part.waiting) - len(waiting))
    if part.reactivatable:
        blocks.append(HeaderBlock(text="Access keys you can turn back on"))
        for row in reactivatable:
            blocks += [_section(_reactivatable_line(row, zone, keys)), reactivate_button(row, zone)]
        blocks += _more(len(part.reactivatable) - len(reactivatable))
    return [*blocks, _section(keeps)]


def _more(left_out: int) -> list[Block]:
    return [context(f"…and {left_out} more{MORE_FOR_OWNERS}")] if left_out > 0 else []


def _reactivatable_line(row: FindingView, zone: tzinfo, keys: KeyRules) -> str:
    count = counted(len(row.deactivated_keys or ()), "access key")
    return (
        f"{named(row, zone)} in {literal(row.account_id)}: {count} deactivated "
        f"{day(row.closed_at, zone)}, confirmed by {mention(row.decided_by)} · "
        f"*Reactivate* until {day(keys.reactivate_until(row), zone)}"
    )


def _approver_blocks(part: ApproverPart, now: datetime, zone: tzinfo) -> list[Block]:
    accounts = sorted(set(part.open_counts) | set(part.last_scans))
    account_lines = [
        _account_line(account, part.open_counts.get(account), part.last_scans.get(account), zone)
        for account in accounts
    ]
    waiting_lines = [
        f"{PRIVILEGED_MARK if row.privileged else ''}{named(row, zone)} in "
        f"{literal(row.account_id)} · {owner_label(row)} · waiting "
        f"{days_since(row.asked_at, now)} days · idle {row.days_idle} days"
        for row in part.waiting
    ]
    return [
        HeaderBlock(text="For approvers"),
        _section(_listing("Open findings by account", account_lines, empty="no scan yet")),
        _section(_listing(f"Waiting on owners ({len(part.waiting)})", waiting_lines)),
        _section(
            _listing(
                f"Keeps ending in the next {ENDING_DAYS} days ({len(part.expiring)})",
                [_keep_line(row, zone) for row in part.expiring],
            )
        ),
        ActionsBlock(
            block_id=BlockId.HOME_APPROVER,
            elements=[
                ButtonElement(
                    text="Scan now", action_id=ActionId.HOME_SCAN, value="all", style="primary"
                ),
                ButtonElement(text="Post digest", action_id=ActionId.HOME_DIGEST, value="now"),
            ],
        ),
    ]


def _about_blocks(about: About, keys: KeyRules) -> list[Block]:
    where = f"<#{escape(about.channel)}>" if about.channel else "the findings channel"
    who = [mention(user) for user in sorted(about.approvers)]
    if about.approver_group:
        who.append(f"the members of <!subteam^{escape(about.approver_group)}>")
    approvers = ", ".join(who) if who else "nobody yet (ask your Slack admins)"
    undo = (
        f"A deactivated key can be turned back on with *Reactivate* for {keys.reactivate_days} "
        "days."
        if keys.deactivate
        else "Access keys are reported, never deactivated (KEY_ACTIONS=off)."
    )
    text = (
        "*What I do*\nI look for AWS IAM users whose console password has not been used for "
        f"{about.idle_days} days, and access keys unused for {about.key_idle_days} days, post "
        f"them in {where} with *Disable* and *Keep*, and ask each IAM user's owner by DM before "
        f"a password is removed or a key deactivated. {undo} Every decision is recorded.\n\n"
        f"*Approvers*: {approvers}\n\n"
        "*Keeping a password or a key*: ask an approver to keep it (with a reason and a period), "
        "answer "
        f"*I still need it* when you are asked as its owner (up to {about.owner_keep_max_days} "
        f"days), or have the IAM user tagged {literal(about.exempt_tag)}, which exempts it from "
        "every scan."
    )
    return [HeaderBlock(text="About iam-inactive"), _section(text)]


def _account_line(
    account: str, count: OpenCount | None, scan: LastScan | None, zone: tzinfo
) -> str:
    name = f" {literal(scan.account_name, 64)}" if scan and scan.account_name else ""
    line = f"{literal(account)}{name}: "
    if count is None:
        line += "no open findings"
    else:
        line += f"*{count.total} open* ({count.new} new this week, {count.old} open 30+ days)"
    if scan is None:
        return line
    at = scan.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if scan.status == "ok":
        return f"{line} · last scan {at}, ok"
    error = f": {literal(scan.error, 200)}" if scan.error else ""
    return f"{line} · :warning: last scan {at} {escape(scan.status)}{error}"


def _keep_line(row: FindingView, zone: tzinfo) -> str:
    reason = f": {literal(row.decision_note, 200)}" if row.decision_note else ""
    return (
        f"{named(row, zone)} in {literal(row.account_id)} · kept {kept_until(row, zone)} by "
        f"{mention(row.decided_by)}{reason}"
    )


def _listing(
    title: str, lines: Sequence[str], *, empty: str = "none", hint: str = MORE_HINT
) -> str:
    head = f"*{title}*\n"
    return head + (listed(lines, MAX_SECTION_TEXT - len(head), hint=hint) or empty)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=mrkdwn(text))
