"""What a decision does to access keys in AWS: deactivate a finding's idle keys once each is
re-checked live, turn the keys the bot deactivated back on, delete them once that window is
over. Each returns what became of every key, for the record and for people; recording the
step around it is bot.application.decisions' job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.application.removal import StillUnderWay
from bot.aws.iam import AccountIam, describe_error
from bot.domain.assessment import LiveUser, recheck_key
from bot.domain.clock import iso, parse_iso
from bot.domain.records import FindingView
from bot.domain.rule import AccessKeyUse, Cleared, same_key
from bot.domain.settings import Settings
from bot.slack.messages.text import literal

log = logging.getLogger(__name__)

DEACTIVATED = "deactivated"
REACTIVATED = "reactivated"
DELETED = "deleted"
DRY_RUN = "dry run: UpdateAccessKey was not called"
ACTIVE_AGAIN = "left: active again in IAM"
DEACTIVATED_AGAIN = "left: deactivated again by a later finding"
USED_SINCE = "left: used since the bot deactivated it"
ALREADY_DELETED = "already deleted"
# A deletion's outcomes for keys that are no longer the finding's to delete.
NOT_ITS_OWN = frozenset({ACTIVE_AGAIN, DEACTIVATED_AGAIN, USED_SINCE})
KEY_ACTIONS_OFF = "left: key actions are off (KEY_ACTIONS=off)"
# The removal was out of time before it sent anything for this key (StillUnderWay): left as it
# is, and a later scan finds it idle again, a finding of its own.
NOT_REACHED = "left: AWS answered too slowly to reach it in time"


@dataclass(frozen=True)
class KeyOutcome:
    """What became of one key: `done` when it is now as the step wanted it."""

    created: datetime
    key_id: str | None
    done: bool
    note: str
    request_id: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "created": iso(self.created),
            "outcome": self.note,
            "aws_request_id": self.request_id,
        }

    @property
    def named(self) -> str:
        return literal(self.key_id) if self.key_id else f"created {self.created:%Y-%m-%d}"


def deactivate(
    iam: AccountIam,
    finding: FindingView,
    keys: Sequence[datetime],
    settings: Settings,
    now: datetime,
    *,
    recovering: bool = False,
) -> list[KeyOutcome]:
    """Each of these keys (by creation) re-checked live (the same user, the key still there,
    Active, idle, not exempt), then deactivated; DRY_RUN or KEY_ACTIONS=off: not. `recovering`:
    a removal a crash cut short after the password was removed, which may have deactivated some
    already: a key found Inactive counts as done, whatever KEY_ACTIONS says now (as for an idle
    key's own finding, the bot cannot tell it from one switched off in IAM)."""
    if not keys:
        return []
    try:
        live = iam.live_user(finding.user_name)
    except StillUnderWay:
        if recovering:  # a crashed removal may have deactivated some: the sweep looks again
            raise
        return [KeyOutcome(created, None, False, NOT_REACHED) for created in keys]
    outcomes = []
    for created in keys:
        done_before = _inactive(live, finding.user_id, created) if recovering else None
        if done_before is not None:
            outcomes.append(KeyOutcome(created, done_before, True, f"{DEACTIVATED} (recovered)"))
            continue
        if not settings.deactivates_keys:
            outcomes.append(KeyOutcome(created, None, False, KEY_ACTIONS_OFF))
            continue
        verdict = recheck_key(live, finding.user_id, created, now, settings)
        if isinstance(verdict, Cleared):
            outcomes.append(KeyOutcome(created, None, False, f"left: {verdict.reason}"))
        elif settings.dry_run:
            outcomes.append(KeyOutcome(created, verdict[0].key_id, False, DRY_RUN))
        elif _out_of_time(iam):  # nothing sent for it (once sent, its outcome is AWS's to say)
            outcomes.append(KeyOutcome(created, verdict[0].key_id, False, NOT_REACHED))
        else:
            outcomes.append(_set(iam, finding.user_name, verdict[0], active=False))
    return outcomes


def _out_of_time(iam: AccountIam) -> bool:
    try:
        iam.before_each_request()
    except StillUnderWay:
        return True
    return False


def _inactive(live: LiveUser | None, user_id: str | None, created: datetime) -> str | None:
    """The id of the one key made at `created`, if the same user has it and it is Inactive."""
    if live is None or (user_id and live.identity.user_id != user_id):
        return None
    found = [key for key in live.credentials.keys if same_key(key, created)]
    if len(found) == 1 and not found[0].active:
        return found[0].key_id
    return None


def deactivate_key(iam: AccountIam, user_name: str, key: AccessKeyUse) -> KeyOutcome:
    """One key the caller has re-checked."""
    return _set(iam, user_name, key, active=False)


def reactivate(
    iam: AccountIam, finding: FindingView, taken_over: AbstractSet[str] = frozenset()
) -> list[KeyOutcome]:
    """The keys this finding deactivated, back on: each only if it is still there, still
    Inactive (one already Active is left as it is, and counts as done) and still this
    finding's (one a later finding deactivated again, `taken_over`, is that finding's to undo)."""
    outcomes = []
    for key_id, created, key in _as_recorded(iam, finding):
        if key is None:
            outcomes.append(KeyOutcome(created, key_id, False, "deleted meanwhile"))
        elif key_id in taken_over:
            outcomes.append(KeyOutcome(created, key_id, True, DEACTIVATED_AGAIN))
        elif key.active:
            outcomes.append(KeyOutcome(created, key_id, True, "already active"))
        else:
            outcomes.append(_set(iam, finding.user_name, key, active=True))
    return outcomes


def delete(
    iam: AccountIam, finding: FindingView, taken_over: AbstractSet[str] = frozenset()
) -> list[KeyOutcome]:
    """The keys this finding deactivated, deleted: each only while still Inactive and still
    this finding's. One turned back on in IAM meanwhile is left alone, and so is one used since
    the bot deactivated it (turned on, used and switched off again: the consent was for a key
    idle then), and one a later finding deactivated again (`taken_over`, by id): its Reactivate
    window and deletion date are that finding's."""
    outcomes = []
    for key_id, created, key in _as_recorded(iam, finding):
        if key is None:
            outcomes.append(KeyOutcome(created, key_id, True, ALREADY_DELETED))
        elif key_id in taken_over:
            outcomes.append(KeyOutcome(created, key_id, True, DEACTIVATED_AGAIN))
        elif key.active:
            outcomes.append(KeyOutcome(created, key_id, True, ACTIVE_AGAIN))
        elif _used_since(key, finding.closed_at):
            outcomes.append(KeyOutcome(created, key_id, True, USED_SINCE))
        else:
            try:
                request_id = iam.delete_access_key(finding.user_name, key_id)
                outcomes.append(KeyOutcome(created, key_id, True, DELETED, request_id))
            except Exception as error:
                outcomes.append(KeyOutcome(created, key_id, False, describe_error(error)))
    return outcomes


def already_deleted(iam: AccountIam, finding: FindingView) -> list[KeyOutcome]:
    """The keys this finding deactivated that AWS no longer has (a deletion cut short)."""
    return [
        KeyOutcome(created, key_id, True, ALREADY_DELETED)
        for key_id, created, key in _as_recorded(iam, finding)
        if key is None
    ]


def _used_since(key: AccessKeyUse, deactivated_at: datetime | None) -> bool:
    return bool(key.last_used and deactivated_at and key.last_used > deactivated_at)


def _as_recorded(
    iam: AccountIam, finding: FindingView
) -> list[tuple[str, datetime, AccessKeyUse | None]]:
    """Each key this finding deactivated: its id, when it was made, and how AWS has it now
    (None: gone)."""
    now = {key.key_id: key for key in iam.access_keys(finding.user_name)}
    recorded = finding.deactivated_keys or ()
    return [(key["key_id"], parse_iso(key["created"]), now.get(key["key_id"])) for key in recorded]


def _set(iam: AccountIam, user_name: str, key: AccessKeyUse, *, active: bool) -> KeyOutcome:
    assert key.key_id is not None and key.created is not None  # keys from the API have both
    done = REACTIVATED if active else DEACTIVATED
    try:
        request_id = iam.set_access_key_status(user_name, key.key_id, active=active)
    except Exception as error:
        # A call whose answer was lost may have been carried out: AWS says how the key is now.
        if _status(iam, user_name, key.key_id) is active:
            return KeyOutcome(key.created, key.key_id, True, f"{done} (AWS's answer was lost)")
        return KeyOutcome(key.created, key.key_id, False, describe_error(error))
    return KeyOutcome(key.created, key.key_id, True, done, request_id)


def current(iam: AccountIam, user_name: str, key_id: str) -> AccessKeyUse | None:
    """The key as AWS has it now (None: gone)."""
    return next((key for key in iam.access_keys(user_name) if key.key_id == key_id), None)


def _status(iam: AccountIam, user_name: str, key_id: str) -> bool | None:
    """Whether the key is Active now (None: gone, or AWS could not say)."""
    try:
        key = current(iam, user_name, key_id)
    except Exception as error:
        log.warning("could not ask how %s's key %s is: %s", user_name, key_id, error)
        return None
    return key.active if key else None


def deactivated(outcomes: Sequence[KeyOutcome]) -> list[dict[str, Any]]:
    """The keys now inactive because of this step: what Reactivate may turn back on."""
    return [
        {"key_id": outcome.key_id, "created": iso(outcome.created)}
        for outcome in outcomes
        if outcome.done and outcome.key_id
    ]


def after(line: str, outcomes: Sequence[KeyOutcome]) -> str:
    """A removal's line, then what became of each key deactivated with it (if any)."""
    return " ".join(filter(None, [line, summary(outcomes)]))


def summary(outcomes: Sequence[KeyOutcome]) -> str:
    """One line for people, in mrkdwn (what came from AWS in code spans)."""
    return " ".join(f"Access key {outcome.named}: {literal(outcome.note)}." for outcome in outcomes)
