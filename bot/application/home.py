"""The app's Home tab: built for one person from the records, and published to them.

Publishing is best effort: the Home tab only shows what is recorded, so a Home that Slack
would not take is logged, and never undoes or blocks the decision that asked for it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackClientError

from bot.application.presence import pause_line
from bot.application.services import Services
from bot.domain import home
from bot.domain.digest import keeps_ending
from bot.domain.records import FindingView
from bot.domain.workflow import State
from bot.slack.client import ApproversUnknown, email_of, slack_error
from bot.slack.messages.finding import KeyRules
from bot.slack.messages.home import About, ApproverPart, OwnerPart, home_view

log = logging.getLogger(__name__)


def publish_home(services: Services, user_id: str, note: str | None = None) -> None:
    """Show this person their Home as the records stand now, with `note` on top (what came of
    a button they pressed there). Never raises: a failure is logged."""
    try:
        view = build_home(services, user_id, note)
        services.client.views_publish(user_id=user_id, view=view)
    except Exception:  # best effort by design (see the module's docstring)
        log.exception("the Home tab of %s was not published", user_id)


def build_home(services: Services, user_id: str, note: str | None = None) -> dict[str, Any]:
    settings, now = services.settings, services.clock()
    notes = [note] if note else []
    try:
        approver = services.approvers.allows(user_id)
    except ApproversUnknown as unknown:
        approver = False
        notes.append(str(unknown))
    paused = services.announcer.presence.paused() if approver else None
    if paused and settings.slack_channel:  # until the bot is invited (bot.application.presence)
        notes.append(pause_line(settings.slack_channel, paused.holder))
    keys = KeyRules.of(settings, now)
    owned, unsure = _owned(services, user_id, now - timedelta(days=keys.reactivate_days))
    notes += [unsure] if unsure else []
    about = About(
        channel=settings.slack_channel,
        idle_days=settings.thresholds.idle_days,
        key_idle_days=settings.thresholds.key_idle_days,
        approvers=sorted(settings.slack_approvers),
        approver_group=settings.slack_approver_group,
        exempt_tag=settings.exempt_tag,
        owner_keep_max_days=settings.owner_keep_max_days,
    )
    reactivatable = home.reactivatable(owned, now, keys.reactivate_days)
    owner = OwnerPart(home.waiting_on(owned, user_id), home.kept(owned), reactivatable)
    return home_view(
        about=about,
        owner=owner if owned else None,
        approver=_approver_part(services, now) if approver else None,
        now=now,
        zone=settings.timezone,
        dry_run=settings.dry_run,
        keys=keys,
        note="\n".join(notes) or None,
    )


def owner_keys(services: Services, user_id: str) -> tuple[list[str], str | None]:
    """What an owner tag of this person's IAM users holds: their Slack user id or their email
    (one users.info call, rather than a lookup per owner tag). When Slack cannot say their
    email, their id alone, and why (`slack_error`)."""
    try:
        email = email_of(services.client, user_id)
    except (SlackClientError, OSError) as error:
        return [user_id], slack_error(error)
    return ([user_id, email] if email else [user_id]), None


def _owned(
    services: Services, user_id: str, disabled_since: datetime
) -> tuple[list[FindingView], str | None]:
    """The person's open findings, and those disabled since `disabled_since` (their keys may be
    reactivated); and, when Slack cannot say their email, why others may be missing."""
    keys, unread = owner_keys(services, user_id)
    unsure = (
        f"I could not read your Slack profile ({unread}), so IAM users whose owner tag holds "
        "your email may be missing here. Open this tab again in a moment."
    )
    return services.repository.findings_owned_by(keys, disabled_since), unsure if unread else None


def _approver_part(services: Services, now: datetime) -> ApproverPart:
    repository = services.repository
    return ApproverPart(
        open_counts=repository.open_by_account(now),
        last_scans=repository.last_scans(),
        waiting=home.riskiest_first(repository.findings_in_state(State.AWAITING_OWNER)),
        expiring=keeps_ending(repository.findings_in_state(State.KEPT), now),
    )
