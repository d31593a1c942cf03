"""The detection rule (docs/detection-rule.md) as pure functions over one user's facts.

Nothing here does I/O: the credential report parser and the live IAM calls both produce
`UserCredentials`, and `evaluate` decides whether that user is a candidate finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

DORMANT = "dormant"
KEYS_ONLY = "keys_only"
IDLE_KEY = "idle_key"  # an Active access key nobody uses: a finding of its own, per key
CATEGORIES = (DORMANT, KEYS_ONLY, IDLE_KEY)

# Why a user is not (or no longer) a finding; stored as the resolution of a closed finding.
NO_PASSWORD = "console password removed"
SIGNED_IN_AGAIN = "password used in the last {days} days"
PASSWORD_SET_RECENTLY = "password set in the last {days} days"
USER_TOO_NEW = "user created in the last {days} days"
USER_DELETED = "user deleted"
DIFFERENT_USER = "a different user now has this name"
EXEMPTED = "exempt: {why}"
# Why an access key is not (or no longer) a finding of its own.
KEY_USED_AGAIN = "access key used in the last {days} days"
KEY_TOO_NEW = "access key created in the last {days} days"
KEY_INACTIVE = "access key inactive"
KEY_GONE = "access key deleted or rotated"
KEY_WITH_PASSWORD = "decided with the console password's finding"
# The credential report names a key by when it was made, to the second: two keys made in the
# same second cannot be told apart, so neither is acted on.
KEYS_SAME_SECOND = "two access keys made in the same second: decide on them in IAM"

# Matched whole (`fullmatch`: `$` would take a final newline).
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SLACK_USER_ID_PATTERN = re.compile(r"[UW][A-Z0-9]{2,}")
FALSE_TAG_VALUES = ("false", "no", "0")


@dataclass(frozen=True)
class Thresholds:
    idle_days: int = 90  # N: a console password unused this long is idle
    key_recent_days: int = 45  # M: an Active key used this recently makes the user keys-only
    key_idle_days: int = 45  # an Active key unused this long is a finding (CIS 1.12's 45 days)


# Slots: an Organization's scan holds some 100,000 of each at once.
@dataclass(frozen=True, slots=True)
class AccessKeyUse:
    active: bool
    last_used: datetime | None
    key_id: str | None = None  # only the live API knows key ids; the report does not
    # When the key was made: what names a key in the credential report (access_key_N_last_rotated),
    # matched to its id by ListAccessKeys' CreateDate right before the bot acts on it.
    created: datetime | None = None
    last_used_service: str | None = None

    @property
    def idle_since(self) -> datetime | None:
        return self.last_used or self.created


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """What one IAM user's credentials say, from the credential report or from live calls."""

    account_id: str
    user_name: str
    arn: str
    created: datetime
    has_password: bool
    password_last_used: datetime | None
    password_last_changed: datetime | None
    keys: tuple[AccessKeyUse, ...] = ()
    # IAM's UserId (ListUsers, GetUser and the bulk tag call give it; the report does not).
    user_id: str | None = None
    mfa_active: bool | None = None  # the report says; None where it was not asked

    @property
    def newest_key_use(self) -> datetime | None:
        return _newest(key.last_used for key in self.keys)

    @property
    def newest_active_key_use(self) -> datetime | None:
        return _newest(key.last_used for key in self.keys if key.active)

    @property
    def password_idle_since(self) -> datetime:
        """When the password was last used or set, whichever is later: PasswordLastUsed outlives
        a removed password, so a password set again since its last use counts from when it was
        set. Neither known: the user's creation."""
        known = [
            moment for moment in (self.password_last_used, self.password_last_changed) if moment
        ]
        return max(known) if known else self.created


@dataclass(frozen=True)
class Candidate:
    """A user the rule says has an idle console password; recorded, it becomes a finding."""

    credentials: UserCredentials
    category: str
    fully_inactive: bool
    days_idle: int
    owner: str | None = None
    privileged: bool | None = None  # None: not known (the bulk call was not made)
    privilege: str | None = None  # why it is privileged
    key: AccessKeyUse | None = None  # an idle_key finding's key
    # A password finding's idle keys: one decision removes the password and deactivates them.
    idle_keys: tuple[AccessKeyUse, ...] = ()

    @property
    def account_id(self) -> str:
        return self.credentials.account_id

    @property
    def user_name(self) -> str:
        return self.credentials.user_name

    @property
    def user_id(self) -> str | None:
        return self.credentials.user_id

    @property
    def mfa_active(self) -> bool | None:
        return self.credentials.mfa_active


@dataclass(frozen=True)
class Cleared:
    """A user that is not a finding, and why."""

    reason: str


def evaluate(user: UserCredentials, now: datetime, thresholds: Thresholds) -> Candidate | Cleared:
    """Apply the rule; exemptions are decided separately (they need tags and stored keeps)."""
    idle_cutoff = now - timedelta(days=thresholds.idle_days)
    days = thresholds.idle_days
    if not user.has_password:
        return Cleared(NO_PASSWORD)
    if user.created > idle_cutoff:
        return Cleared(USER_TOO_NEW.format(days=days))
    if user.password_last_used is not None and user.password_last_used > idle_cutoff:
        return Cleared(SIGNED_IN_AGAIN.format(days=days))
    if user.password_idle_since > idle_cutoff:
        return Cleared(PASSWORD_SET_RECENTLY.format(days=days))

    recent_cutoff = now - timedelta(days=thresholds.key_recent_days)
    active_key_use = user.newest_active_key_use
    uses_keys = active_key_use is not None and active_key_use >= recent_cutoff
    any_key_use = user.newest_key_use
    return Candidate(
        credentials=user,
        category=KEYS_ONLY if uses_keys else DORMANT,
        fully_inactive=not uses_keys and (any_key_use is None or any_key_use <= idle_cutoff),
        days_idle=(now - user.password_idle_since).days,
    )


def key_verdict(key: AccessKeyUse, now: datetime, thresholds: Thresholds) -> str | None:
    """Why this access key is not idle, or None when it is: Active, and unused (or, never used,
    made) KEY_IDLE_DAYS ago or more. A key the report cannot date is not acted on."""
    days = thresholds.key_idle_days
    cutoff = now - timedelta(days=days)
    if not key.active:
        return KEY_INACTIVE
    if key.last_used is not None and key.last_used > cutoff:
        return KEY_USED_AGAIN.format(days=days)
    if key.created is None or key.created > cutoff:
        return KEY_TOO_NEW.format(days=days)
    return None


def idle_key_candidate(
    user: UserCredentials, key: AccessKeyUse, now: datetime, thresholds: Thresholds
) -> Candidate:
    """An idle key as a finding of its own (for a user whose password is not one): fully
    inactive when the user has no password and no Active key in use."""
    assert key.idle_since is not None  # key_verdict said it is idle
    in_use = any(
        other.active and key_verdict(other, now, thresholds) is not None for other in user.keys
    )
    return Candidate(
        credentials=user,
        category=IDLE_KEY,
        fully_inactive=not user.has_password and not in_use,
        days_idle=(now - key.idle_since).days,
        key=key,
    )


def same_key(key: AccessKeyUse, created: datetime | None) -> bool:
    """Whether `key` is the one made at `created`: the report dates to the second, the API
    may not."""
    return (
        key.created is not None
        and created is not None
        and key.created.replace(microsecond=0) == created.replace(microsecond=0)
    )


def exemption(
    user_name: str, tags: Mapping[str, str], exempt_tag: str, ignore_users: Iterable[str]
) -> str | None:
    """Why this user is exempt (an exemption tag or the ignore list), or None."""
    # IAM user names are unique without regard to case: `Bob` names the user `bob`.
    if user_name.casefold() in {name.casefold() for name in ignore_users}:
        return EXEMPTED.format(why="in IGNORE_USERS")
    value = _by_key(tags).get(exempt_tag.casefold())
    if value is not None and value.strip().lower() not in FALSE_TAG_VALUES:
        return EXEMPTED.format(why=f"tag {exempt_tag}")
    return None


def owner_of(user_name: str, tags: Mapping[str, str], owner_tag_keys: Iterable[str]) -> str | None:
    """The owner from the first owner tag holding an email or Slack user id, else an email name."""
    keys = _by_key(tags)
    for key in owner_tag_keys:
        value = keys.get(key.casefold(), "").strip()
        if EMAIL_PATTERN.fullmatch(value) or SLACK_USER_ID_PATTERN.fullmatch(value):
            return value
    return user_name if EMAIL_PATTERN.fullmatch(user_name) else None


def _by_key(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags by case-folded key: IAM treats `Owner` and `owner` as one key."""
    return {key.casefold(): value for key, value in tags.items()}


def _newest(moments: Iterable[datetime | None]) -> datetime | None:
    return max((moment for moment in moments if moment is not None), default=None)
