"""Whether a user is a finding, with everything the bot knows: the rule, exemptions, the
reported categories, the owner and the user's identity.

The scan and the live re-check right before a removal both decide here, so a user the scan
would not report is never removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.clock import iso
from bot.domain.rule import (
    DIFFERENT_USER,
    IDLE_KEY,
    KEY_GONE,
    KEY_WITH_PASSWORD,
    KEYS_SAME_SECOND,
    USER_DELETED,
    AccessKeyUse,
    Candidate,
    Cleared,
    UserCredentials,
    evaluate,
    exemption,
    idle_key_candidate,
    key_verdict,
    owner_of,
    same_key,
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
    created: datetime | None = None  # when IAM made the user

    def made_after(self, user: UserCredentials) -> bool:
        """Made after the user `user`'s facts are of (a credential report's row of the same
        name, which AWS serves for up to 4 hours): that user was deleted since. Both times are
        to the second; a second apart at least, so that a fraction dropped is no difference."""
        return self.created is not None and self.created - user.created >= timedelta(seconds=1)


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


@dataclass(frozen=True)
class UserVerdict:
    """What a scan concludes of one user: its findings (the password's, carrying the user's
    idle keys so that one decision covers them, or else each idle key's own), why its password
    is not a finding, and why each other key is not one (by the key's creation time)."""

    findings: list[Candidate]
    cleared: str | None
    keys_cleared: dict[datetime, str]


def assess(
    user: UserCredentials,
    password: Candidate | Cleared,
    identity: IamIdentity,
    now: datetime,
    settings: Settings,
) -> UserVerdict:
    """`password`: the rule's verdict on the user's console password (`evaluate`)."""
    idle, keys_cleared = _keys(user, now, settings)
    cleared = password.reason if isinstance(password, Cleared) else None
    if isinstance(password, Candidate):
        screened = screen(password, identity, settings)
        if isinstance(screened, Candidate):
            keys_cleared.update(dict.fromkeys(_created(idle), KEY_WITH_PASSWORD))
            return UserVerdict([replace(screened, idle_keys=tuple(idle))], None, keys_cleared)
        cleared = screened.reason
    findings = _own_findings(user, idle, identity, now, settings, keys_cleared)
    return UserVerdict(findings, cleared, keys_cleared)


def _own_findings(
    user: UserCredentials,
    idle: list[AccessKeyUse],
    identity: IamIdentity,
    now: datetime,
    settings: Settings,
    keys_cleared: dict[datetime, str],
) -> list[Candidate]:
    """Each idle key as a finding of its own, once per creation time (two keys made in the same
    second cannot be told apart in the credential report); why each other is not, into
    `keys_cleared`."""
    findings, named = [], set()
    for key in idle:
        if key.created in named:
            continue
        named.add(key.created)
        verdict = screen(
            idle_key_candidate(user, key, now, settings.thresholds), identity, settings
        )
        if not isinstance(verdict, Cleared):
            findings.append(verdict)
        elif key.created is not None:  # always: an idle key is dated (key_verdict)
            keys_cleared[key.created] = verdict.reason
    return findings


class AccountKeys:
    """An account's users as its scan judged them, for the few questions recording asks about
    one key: why it is not a finding of its own, and what finding it is when the records say it
    cannot ride on its password's (bot.domain.riding). It holds the verdicts of the users with
    something idle and only the keys of the others (an Organization's scan holds every account's
    at once), and answers the rest on demand."""

    def __init__(
        self,
        verdicts: Mapping[str, UserVerdict],
        other_keys: Mapping[str, tuple[AccessKeyUse, ...]],
        now: datetime,
        settings: Settings,
    ) -> None:
        self._verdicts, self._other_keys = verdicts, other_keys
        self._now, self._settings = now, settings

    def why_not_a_finding(self, user_name: str, created: datetime) -> str | None:
        """Why this key of a user the scan saw is not a finding of its own (None: not seen)."""
        if user_name in self._verdicts:
            return self._verdicts[user_name].keys_cleared.get(created)
        keys = [key for key in self._other_keys.get(user_name, ()) if key.created == created]
        return _why_not_idle(keys[0], self._now, self._settings) if keys else None

    def own_finding(self, user_name: str, created: datetime) -> Candidate | None:
        """A key riding on its password's finding as a finding of its own: the same user, owner
        and privilege, screened as its password was."""
        verdict = self._verdicts.get(user_name)
        password = verdict.findings[0] if verdict and verdict.findings else None
        if password is None or password.key is not None:
            return None
        key = next((key for key in password.idle_keys if key.created == created), None)
        if key is None:
            return None
        alone = idle_key_candidate(password.credentials, key, self._now, self._settings.thresholds)
        return replace(
            alone,
            owner=password.owner,
            privileged=password.privileged,
            privilege=password.privilege,
        )


def has_idle_key(user: UserCredentials, now: datetime, settings: Settings) -> bool:
    """Asked of every user a scan sees: nothing is built for the answer."""
    return any(_why_not_idle(key, now, settings) is None for key in user.keys)


def _keys(
    user: UserCredentials, now: datetime, settings: Settings
) -> tuple[list[AccessKeyUse], dict[datetime, str]]:
    """The user's idle keys, and why each other key is not idle."""
    idle, cleared = [], {}
    for key in user.keys:
        reason = _why_not_idle(key, now, settings)
        if reason is None:
            idle.append(key)
        elif key.created is not None:
            cleared[key.created] = reason
    return idle, cleared


def _why_not_idle(key: AccessKeyUse, now: datetime, settings: Settings) -> str | None:
    if IDLE_KEY not in settings.categories:
        return NOT_REPORTED.format(category=IDLE_KEY)
    return key_verdict(key, now, settings.thresholds)


def _created(keys: list[AccessKeyUse]) -> list[datetime]:
    return [key.created for key in keys if key.created is not None]


def recheck_key(
    live: LiveUser | None,
    recorded_user_id: str | None,
    key_created: datetime | None,
    now: datetime,
    settings: Settings,
) -> tuple[AccessKeyUse, Candidate] | Cleared:
    """The verdict on one access key right before it is deactivated: the same user and the
    same key (made when the finding's key was), still Active, still idle, not exempt."""
    if live is None:
        return Cleared(USER_DELETED)
    live_id = live.identity.user_id
    if recorded_user_id and live_id and live_id != recorded_user_id:
        return Cleared(DIFFERENT_USER)
    credentials = live.credentials
    matching = [key for key in credentials.keys if same_key(key, key_created)]
    if not matching:
        return Cleared(KEY_GONE)
    if len(matching) > 1:
        return Cleared(KEYS_SAME_SECOND)
    (key,) = matching
    reason = key_verdict(key, now, settings.thresholds)
    if reason is not None:
        return Cleared(reason)
    verdict = screen(
        idle_key_candidate(credentials, key, now, settings.thresholds), live.identity, settings
    )
    return verdict if isinstance(verdict, Cleared) else (key, verdict)


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
