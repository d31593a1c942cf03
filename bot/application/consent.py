"""Asking an IAM user's owner for consent, and what happens when they cannot be asked.

The owner's consent is skipped only on a definite answer from Slack: there is no owner, no
such Slack user, or a deactivated account. Any other failure changes nothing and says so.
"""

from __future__ import annotations

from slack_sdk.errors import SlackClientError

from bot.application.access import Refused
from bot.application.removal import Removal
from bot.application.services import Services
from bot.domain.records import (
    Actor,
    FindingNotes,
    FindingView,
    Role,
    Surface,
    SystemActor,
    thread_of,
)
from bot.slack.client import OwnerContact, slack_error
from bot.slack.messages.text import literal, mention


def look_up_owner(services: Services, owner: str | None) -> OwnerContact:
    """The owner's Slack account, or a definite answer that it cannot be asked; Refused when
    Slack could not answer (nothing has been changed then)."""
    try:
        return services.owners.contact(owner)
    except (SlackClientError, OSError) as error:  # 5xx, ratelimited, timeouts, dropped links
        who = literal(owner or "")
        raise Refused(
            f"I could not look up the owner {who} in Slack ({slack_error(error)}), so nothing "
            "was changed. Please try again in a moment."
        ) from None


def ask_owner(services: Services, finding: FindingView, owner: OwnerContact, by: Actor) -> str:
    """Record that the owner is asked, DM them, and say so (a line for whoever asked)."""
    assert owner.slack_id is not None  # only a reachable owner is asked, and one has an id
    finding = services.decisions.await_owner(finding.id, owner.slack_id, by)
    # An earlier owner's DM is theirs no more: it keeps saying where things stood for them, and
    # the reminder, the redraws and the outcome go to the DM this owner gets (once it arrives).
    services.repository.note([finding.id], FindingNotes(dm_channel=None, dm_ts=None))
    services.announcer.refresh(finding, dm=False)
    if services.announcer.dm_owner(finding):
        return f"Asked {mention(owner.slack_id)} to confirm by DM."
    return f"Recorded, but I could not DM {mention(owner.slack_id)}; the reminder will try again."


def ask_new_owner(services: Services, finding: FindingView) -> str:
    """The re-check found another owner: ask them, or, when they cannot be asked, withdraw the
    request so that an approver decides again. Returns what happened, in one line."""
    try:
        owner = look_up_owner(services, finding.requested_owner)
    except Refused as refusal:
        owner = OwnerContact(None, False, str(refusal))
    if owner.reachable:
        system = Actor(SystemActor.SYSTEM, Role.SYSTEM, Surface.DM)
        line = ask_owner(services, finding, owner, system)
    else:
        withdrawn = services.decisions.withdraw(
            finding.id, f"the new owner cannot be asked: {owner.why_not}; decide again"
        )
        services.announcer.refresh(withdrawn)
        line = f"{owner.why_not}, so the request was withdrawn; an approver can decide again."
    services.announcer.announce(line, thread_ts=thread_of(finding))
    return line


def after_removal(services: Services, removal: Removal, prefix: str = "") -> None:
    """A removal the bot took on its own ended: the finding's line and thread show how, the
    people involved are told, and a new owner found by the re-check is asked."""
    services.announcer.settled(removal.finding, removal.summary, prefix=prefix)
    services.announcer.tell_outcome(removal.finding, f"{prefix}{removal.summary}")
    if removal.ask_new_owner:
        ask_new_owner(services, removal.finding)
