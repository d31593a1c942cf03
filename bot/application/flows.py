"""What each button, form and command does, as one function a listener calls.

Each checks who may act (bot.application.access), takes the step (bot.application.decisions),
tells the people involved, and returns what the listener shows next. Refusals are raised and
turned into the person's line in one place (handlers.answering).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.application.access import Refused
from bot.application.consent import ask_new_owner, ask_owner, look_up_owner
from bot.application.home import owner_keys, publish_home
from bot.application.scan_queue import ask_for_scan
from bot.application.services import Services
from bot.domain.records import Actor, FindingView, Surface, thread_of
from bot.domain.rule import CATEGORIES
from bot.domain.scan import ACCOUNT_ID, scannable_accounts
from bot.domain.workflow import (
    KEEP_BY,
    ROLE_ON_SURFACE,
    Intent,
    TransitionError,
    disable_refusal,
    may,
)
from bot.slack.client import ApproversUnknown, OwnerContact
from bot.slack.messages.blocks import Message
from bot.slack.messages.command import history_message, list_page
from bot.slack.messages.finding import KeyRules, credential, named
from bot.slack.messages.modals import confirm_modal, keep_modal, unkeep_modal
from bot.slack.messages.text import literal, mention


@dataclass(frozen=True)
class DisablePlan:
    """A Disable press, looked at before anything is recorded: who pressed, who owns the IAM
    user, and, when the owner cannot be asked, the final confirmation to open first (Slack's
    trigger lasts 3 s), made for the request as it will be recorded `at`."""

    finding: FindingView
    approver: Actor
    owner: OwnerContact
    at: datetime
    form: dict[str, Any] | None


def plan_disable(services: Services, finding_id: str | None, user_id: str) -> DisablePlan:
    """An approver pressed Disable: may they, and can the owner be asked? A lookup Slack could
    not answer is refused here, before anything changes."""
    finding, approver = services.access.acting_on(
        finding_id, user_id, Surface.CHANNEL, Intent.REQUEST_DISABLE
    )
    refusal = disable_refusal(finding, services.settings.deactivates_keys)
    if refusal:
        raise TransitionError(refusal)
    owner = look_up_owner(services, finding.owner)
    at = services.clock()
    form = None
    if not owner.reachable:
        form = _final_confirmation(services, finding, owner.why_not, step=at)
    return DisablePlan(finding, approver, owner, at, form)


def record_request(services: Services, plan: DisablePlan) -> FindingView:
    """Record the request planned (a form opened for it says `plan.at`)."""
    return services.decisions.request_disable(
        plan.finding.id,
        plan.approver,
        plan.finding.owner,
        owner_unreachable=not plan.owner.reachable,
        at=plan.at,
    )


def ask_for_consent(services: Services, plan: DisablePlan) -> str:
    """The owner can be asked: record the request and ask them. Returns the approver's line."""
    finding = record_request(services, plan)
    return ask_owner(services, finding, plan.owner, plan.approver)


def final_confirmation_closed(
    services: Services, finding_id: str | None, user_id: str, seen_step: datetime | None
) -> None:
    """The approver closed the final confirmation without submitting it: the request made for
    it is cancelled, and the finding offers Disable and Keep again. (A Decide now form, on a
    finding still waiting for its owner, changes nothing when closed.)"""
    finding = services.repository.finding(finding_id or "")
    if finding is None or not may(Intent.CANCEL_REQUEST, finding.state):
        return  # nothing was requested for this form
    if finding.state_changed_at != seen_step:
        return  # a newer request than the one this form was for
    finding, approver = services.access.acting_on(
        finding_id, user_id, Surface.CHANNEL, Intent.CANCEL_REQUEST
    )
    services.announcer.refresh(services.decisions.cancel_request(finding.id, approver))


def keep_form(
    services: Services, finding_id: str | None, user_id: str, surface: Surface
) -> dict[str, Any]:
    """Keep in the channel, or "I still need it" in the owner's DM: ask why and for how long."""
    finding, _person = services.access.acting_on(finding_id, user_id, surface, _keep(surface))
    settings = services.settings
    return keep_modal(finding, surface, settings.owner_keep_max_days, settings.timezone)


def decide_now_form(services: Services, finding_id: str | None, user_id: str) -> dict[str, Any]:
    """After escalation, an approver may decide without the owner."""
    finding, _approver = services.access.acting_on(
        finding_id, user_id, Surface.CHANNEL, Intent.DECIDE_NOW
    )
    owner = mention(finding.owner_slack_id) if finding.owner_slack_id else "The owner"
    return _final_confirmation(services, finding, f"{owner} did not answer")


def owner_confirms(
    services: Services, finding_id: str | None, user_id: str, surface: Surface = Surface.DM
) -> None:
    """The owner's Confirm removal, in their DM or on their Home tab."""
    _confirm(services, finding_id, user_id, surface, Intent.OWNER_CONFIRM, "owner confirmed")


def approver_confirms(
    services: Services, finding_id: str | None, user_id: str, why: str, seen_step: datetime | None
) -> None:
    """The approver's final confirmation form (the owner cannot be asked, or did not answer),
    for the finding as the form showed it (`seen_step`)."""
    final = f"approver's confirmation is final: {why}"
    _confirm(
        services, finding_id, user_id, Surface.CHANNEL, Intent.APPROVER_CONFIRM, final, seen_step
    )


def _confirm(
    services: Services,
    finding_id: str | None,
    user_id: str,
    surface: Surface,
    intent: Intent,
    why: str,
    seen_step: datetime | None = None,
) -> None:
    finding, actor = services.access.acting_on(finding_id, user_id, surface, intent)
    removal = services.decisions.confirm_and_remove(
        finding.id, intent, actor, why, seen_step=seen_step
    )
    services.announcer.refresh(removal.finding)
    if removal.ask_new_owner:
        line = ask_new_owner(services, removal.finding)
        channel = removal.finding.slack_channel if surface == Surface.CHANNEL else None
        services.announcer.tell(channel, user_id, f"{removal.summary} {line}")
    else:
        services.announcer.tell_outcome(removal.finding, removal.summary)
    publish_home(services, user_id)


def reactivate(services: Services, finding_id: str | None, user_id: str, surface: Surface) -> None:
    """Reactivate, on a removal that deactivated access keys: an approver in the channel, or
    the owner in their DM or on their Home, within KEY_REACTIVATE_DAYS."""
    finding, actor = services.access.acting_on(finding_id, user_id, surface, Intent.REACTIVATE)
    outcome = services.decisions.keys.reactivate(finding.id, actor)
    services.announcer.refresh(outcome.finding)
    services.announcer.tell_outcome(outcome.finding, outcome.summary)
    publish_home(services, user_id)


def keep(
    services: Services,
    finding_id: str | None,
    user_id: str,
    surface: Surface,
    reason: str,
    days: int | None,
) -> None:
    """The Keep form: record the keep, then update the finding's line and tell the people
    involved."""
    finding, actor = services.access.acting_on(finding_id, user_id, surface, _keep(surface))
    kept = services.decisions.keep(finding.id, actor, reason, days)
    services.announcer.refresh(kept)
    what = credential(kept, services.settings.timezone)
    services.announcer.tell_outcome(kept, f"Kept the {what}: {literal(reason)}")
    publish_home(services, user_id)


def unkeep_form(services: Services, finding_id: str | None, user_id: str) -> dict[str, Any]:
    """End keep, pressed in `show`: ask the approver why."""
    finding, _approver = services.access.acting_on(
        finding_id, user_id, Surface.COMMAND, Intent.UNKEEP
    )
    return unkeep_modal(finding, services.settings.timezone)


def unkeep(services: Services, finding_id: str | None, user_id: str, reason: str) -> str:
    """An approver ends a keep: the finding is open again at once, its line offers Disable and
    Keep again, and the people involved hear it. Returns the line for the approver."""
    line = _unkeep(services, finding_id, user_id, reason)
    publish_home(services, user_id)
    return line


def _unkeep(services: Services, finding_id: str | None, user_id: str, reason: str) -> str:
    finding, approver = services.access.acting_on(
        finding_id, user_id, Surface.COMMAND, Intent.UNKEEP
    )
    reopened = services.decisions.unkeep(finding.id, approver, reason)
    services.announcer.refresh(reopened)
    name = named(reopened, services.settings.timezone)
    line = f"Ended the keep of {name} ({literal(reopened.account_id)}): {literal(reason)}"
    services.announcer.announce(f"{mention(user_id)} {line}", thread_ts=thread_of(reopened))
    return line


def unkeep_user(services: Services, user_id: str, user_name: str, reason: str) -> str:
    """`/iam-inactive unkeep <user> <reason>`: end the keeps of every account's IAM user of
    this name."""
    services.access.require_approver(user_id, Surface.COMMAND)
    kept = [
        row
        for row in services.repository.findings_for_user(user_name)
        if row.closed_at is None and may(Intent.UNKEEP, row.state)
    ]
    if not kept:
        raise Refused(f"No kept finding for IAM user {literal(user_name)}, so nothing was done.")
    lines = [_unkeep(services, row.id, user_id, reason) for row in kept]
    publish_home(services, user_id)  # once, with every keep ended
    return "\n".join(lines)


def is_list_filter(filter_: str) -> bool:
    return not filter_ or filter_ in CATEGORIES or bool(ACCOUNT_ID.fullmatch(filter_))


def open_findings_page(services: Services, user_id: str, filter_: str, page: int) -> Message:
    """One page of open findings, filtered by category or account (see `is_list_filter`)."""
    services.access.require_viewer(user_id)
    rows = services.repository.open_findings(
        category=filter_ if filter_ in CATEGORIES else None,
        account_id=filter_ if ACCOUNT_ID.fullmatch(filter_ or "") else None,
    )
    return list_page(rows, filter_, page, services.settings.timezone)


def user_history(services: Services, user_id: str, user_name: str) -> Message:
    """`show`: every account's IAM user of this name to those who see every finding; anyone
    else sees only those they own, known as their Home tab knows them (`owner_keys`)."""
    access, repository = services.access, services.repository
    group_unknown: ApproversUnknown | None = None
    try:
        sees_all = access.sees_all(user_id)
    except ApproversUnknown as unknown:  # they may still see their own
        sees_all, group_unknown = False, unknown
    owners, unread = (None, None) if sees_all else owner_keys(services, user_id)
    rows = repository.findings_for_user(user_name, owned_by=owners)
    if not sees_all and not rows:
        if group_unknown is not None:
            raise group_unknown
        unsure = unread and (
            f"I could not read your Slack profile ({unread}), so I could not look for IAM users "
            "whose owner tag holds your email."
        )
        access.refuse_viewer(user_id, unsure)
    findings = [(row, repository.history(row.id)) for row in rows]
    named = rows[0].user_name if rows else user_name  # as IAM spells it, not as typed
    return history_message(named, findings, services.settings.timezone)


def scan_for(
    services: Services,
    user_id: str,
    account: str | None,
    tell: Callable[[str], None],
    surface: Surface = Surface.COMMAND,
    response_url: str | None = None,
) -> None:
    """An approver's scan from Slack, queued for the scanner process: `tell` hears at once
    whether it will start; the scanner tells them (through `response_url`, or on their Home)
    when it starts and what it found. One account is scanned only if the bot is known to scan
    it (`scannable_accounts`): a typo is refused before anything is recorded."""
    services.access.require_approver(user_id, surface)
    if account is not None:
        _require_scannable(services, account)
    ask_for_scan(
        services, f"slack:{user_id}", surface, account, response_url=response_url, tell=tell
    )


def _require_scannable(services: Services, account: str) -> None:
    if not ACCOUNT_ID.fullmatch(account):
        raise Refused("`scan` takes an optional 12-digit account id.")
    settings, shown = services.settings, literal(account)
    known = scannable_accounts(settings, services.repository.last_scans())
    if account in known:
        return
    if settings.role_arns and not settings.organization:
        raise Refused(
            f"I do not scan account {shown} (AWS_ROLE_ARNS names the accounts I scan), "
            "so no scan was queued."
        )
    joined = " (and finds accounts that joined the Organization)" if settings.organization else ""
    why = (
        "No scan is recorded yet, so I cannot tell whether I scan"
        if not known
        else "I have not scanned"
    )
    raise Refused(
        f"{why} account {shown}, so no scan was queued. `scan` alone scans every account{joined}; "
        "after it, `scan` takes any account it covered."
    )


def post_digest_for(
    services: Services,
    user_id: str,
    started: Callable[[str], None],
    surface: Surface = Surface.COMMAND,
) -> str:
    """An approver's digest from Slack: `started` is told it began; returns what came of it
    (Slack may not take the message: the failure is recorded)."""
    services.access.require_approver(user_id, surface)
    started("Posting the digest to the channel.")
    channel = f"<#{services.settings.slack_channel}>"
    if services.announcer.post_digest() is None:
        return f"Slack did not take the digest in {channel}; please try again in a moment."
    return f"Posted the digest to {channel}."


def _keep(surface: Surface) -> Intent:
    """Keep in the channel is the approvers'; in the owner's DM it is "I still need it"."""
    return KEEP_BY[ROLE_ON_SURFACE[surface]]


def _final_confirmation(
    services: Services, finding: FindingView, why: str, step: datetime | None = None
) -> dict[str, Any]:
    settings = services.settings
    keys = KeyRules.of(settings, services.clock())
    return confirm_modal(finding, why, settings.timezone, settings.dry_run, keys, step)
