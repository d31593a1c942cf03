"""Whether a user is a finding, with everything the bot knows: the rule, exemptions, the
reported categories, the owner and the user's identity.

The scan and the live re-check right before a removal both decide here, so a user the scan
would not report is never removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.clock import iso
from bot.domain.rule import (
    DIFFERENT_USER,
    USER_DELETED,
    Candidate,
    Cleared,
    UserCredentials,
    evaluate,
    exemption,
    owner_of,
)
from bot.domain.settings import Settings

NOT_REPORTED = "category {category} is not reported"


@dataclass(frozen=True)
class IamIdentity:
    """Who a user is in IAM besides its credentials: its UserId, its tags, and whether it is
    privileged (None when that was not looked at: only the bulk call tells)."""

    user_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    privileged: bool | None = None
    privilege: str | None = None  # why


@dataclass(frozen=True)
class LiveUser:
    """A user as IAM describes it right now (GetUser and the credential calls)."""

    credentials: UserCredentials
    identity: IamIdentity


def screen(candidate: Candidate, identity: IamIdentity, settings: Settings) -> Candidate | Cleared:
    """A user the rule finds idle, once exemptions and reported categories are applied; the
    candidate then carries its owner, UserId and privilege."""
    name = candidate.user_name
    exempt = exemption(name, identity.tags, settings.exempt_tag, settings.ignore_users)
    if exempt:
        return Cleared(exempt)
    if candidate.category not in settings.categories:
        return Cleared(NOT_REPORTED.format(category=candidate.category))
    user_id = identity.user_id or candidate.user_id
    return replace(
        candidate,
        owner=owner_of(name, identity.tags, settings.owner_tag_keys),
        privileged=identity.privileged,
        privilege=identity.privilege,
        credentials=replace(candidate.credentials, user_id=user_id),
    )


def recheck(
    live: LiveUser | None, recorded_user_id: str | None, now: datetime, settings: Settings
) -> Candidate | Cleared:
    """The verdict right before a removal: the same user as found, and still a finding."""
    if live is None:
        return Cleared(USER_DELETED)
    live_id = live.identity.user_id
    if recorded_user_id and live_id and live_id != recorded_user_id:
        return Cleared(DIFFERENT_USER)
    verdict = evaluate(live.credentials, now, settings.thresholds)
    if isinstance(verdict, Cleared):
        return verdict
    return screen(verdict, live.identity, settings)


def recheck_facts(verdict: Candidate, live: LiveUser) -> dict[str, Any]:
    """What the live re-check saw of a user still idle, recorded with the removal it allows."""
    credentials = verdict.credentials
    return {
        "user_id": live.identity.user_id,
        "category": verdict.category,
        "days_idle": verdict.days_idle,
        "password_last_used": iso(credentials.password_last_used),
        "newest_key_used": iso(credentials.newest_key_use),
        "owner": verdict.owner,
    }


def same_owner(recorded: str | None, current: str | None) -> bool:
    """Owner tags name people by email or Slack id; an email's case does not matter."""
    return (recorded or "").casefold() == (current or "").casefold()
