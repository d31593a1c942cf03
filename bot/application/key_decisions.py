"""Decisions on access keys: a finding's idle keys deactivated after its consent (an idle key's
own finding, or the keys riding on a password's), turned back on by Reactivate, and deleted
once KEY_DELETE_AFTER_DAYS have passed. Each is a checked, recorded step of the one workflow,
taken through the decision service's own `step`, before and after the AWS calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from bot.application import key_actions
from bot.application.removal import (
    MAX_ERROR,
    Removal,
    RemovedUnrecorded,
    StillUnderWay,
    left_to_the_sweep,
)
from bot.aws.iam import AccountIam, describe_error, refused
from bot.domain.access_keys import riding_keys
from bot.domain.assessment import LiveUser, recheck_facts, recheck_key, same_owner
from bot.domain.clock import Clock, iso, parse_iso
from bot.domain.deadlines import deletion_due, reactivation_refusal
from bot.domain.records import (
    NO_CHANGES,
    Actor,
    FindingChanges,
    FindingView,
    RecordsUnavailable,
    Role,
    UnknownFinding,
)
from bot.domain.rule import Cleared
from bot.domain.settings import Settings
from bot.domain.workflow import KEYS_HELD, Intent, State, TransitionError, may
from bot.slack.messages.text import literal
from storage.repository import Repository

log = logging.getLogger(__name__)

IamInTime = Callable[[str], AccountIam]  # Decisions._iam
OwnerChanged = Callable[[FindingView, "str | None", Actor], Removal]


class Step(Protocol):
    """The decision service's one checked, recorded and published step."""

    def __call__(
        self,
        finding_id: str,
        intent: Intent,
        by: Actor,
        reason: str | None,
        changes: FindingChanges,
        details: dict[str, Any] | None = None,
    ) -> FindingView: ...


class KeyDecisions:
    def __init__(
        self,
        step: Step,
        repository: Repository,
        settings: Settings,
        iam: IamInTime,
        clock: Clock,
        owner_changed: OwnerChanged,
    ) -> None:
        self._step = step
        self.repository = repository
        self.settings = settings
        self._iam = iam
        self._clock = clock
        self._owner_changed = owner_changed

    def reactivate(self, finding_id: str, by: Actor) -> Removal:
        """The owner or an approver turns back on the keys this finding deactivated, within
        KEY_REACTIVATE_DAYS: recorded first, then each key re-checked (still there, still
        Inactive) and set Active once."""
        finding = self.repository.finding(finding_id)
        if finding is None:
            raise UnknownFinding(finding_id)
        # Neither DRY_RUN nor KEY_ACTIONS=off stops an undo: they stop the bot taking keys away.
        now = self._clock()
        refusal = reactivation_refusal(finding, now, self.settings.key_reactivate_days)
        if refusal:
            raise TransitionError(refusal)
        held = {key["key_id"] for key in finding.deactivated_keys or ()}
        taken_over = self._deactivated_again(finding)
        if held <= taken_over:
            raise TransitionError(
                "A later finding deactivated these keys again: reactivate them from that one."
            )
        why = "reactivate the access keys the removal deactivated"
        # From now on, until KEY_IDLE_DAYS on, a scan does not find these keys idle again (their
        # last use is as old as it was), whatever becomes of this reactivation.
        spared = now + timedelta(days=self.settings.thresholds.key_idle_days)
        changes = FindingChanges(decided_by=by.id, kept_until=spared)
        moved = self._step(finding_id, Intent.REACTIVATE, by, why, changes)
        try:
            return self.turn_back_on(moved, Actor(by.id, Role.SYSTEM, by.surface), taken_over)
        except StillUnderWay:
            return left_to_the_sweep(self.repository.finding(finding_id) or moved, self.settings)

    def delete_expired_keys(self, by: Actor) -> list[Removal]:
        """KEY_DELETE_AFTER_DAYS after a deactivation nobody undid, its keys are deleted (each
        only while still Inactive); a finding another replica took meanwhile is passed by."""
        now, after = self._clock(), self.settings.key_delete_after_days
        held_back = self._not_deleting()
        if held_back:
            log.info("no key is deleted: %s", held_back)
            return []
        done = []
        for finding in self.repository.findings_in_state(State.DISABLED):
            if not deletion_due(finding, now, after):
                continue
            why = (
                f"inactive for {after} days after the bot deactivated them (KEY_DELETE_AFTER_DAYS)"
            )
            try:
                claimed = self._step(finding.id, Intent.DELETE_KEYS, by, why, NO_CHANGES)
            except TransitionError as error:
                log.info("key deletion passed %s by: %s", finding.id, error)
                continue
            try:
                done.append(self.delete_keys(claimed, Actor(by.id, Role.SYSTEM, by.surface)))
            except StillUnderWay:
                log.warning("AWS answers slowly: %s is left to the sweep", finding.id)
        return done

    def turn_back_on(
        self, finding: FindingView, by: Actor, taken_over: set[str] | None = None
    ) -> Removal:
        """Reactivate's AWS calls and their record (the sweep's too, for one a crash cut short);
        `taken_over`: the keys a later finding holds, when the caller has just read them."""
        if taken_over is None:
            taken_over = self._deactivated_again(finding)
        keys, failure = _attempt(
            lambda: key_actions.reactivate(self._iam(finding.account_id), finding, taken_over)
        )
        if failure is not None:
            why = f"not all reactivated: {failure}"
            changes = FindingChanges(decision_note=why)
            failed = self._step(
                finding.id, Intent.FAIL_REACTIVATION, by, why, changes, keys_record(keys)
            )
            return Removal(failed, f"Not reactivated: {_said(keys, failure)}")
        changes = FindingChanges(decision_note="reactivated")
        done = self._step(
            finding.id, Intent.FINISH_REACTIVATION, by, "reactivated", changes, keys_record(keys)
        )
        return Removal(
            done, f"Reactivated for {literal(done.user_name)}: {key_actions.summary(keys)}"
        )

    def delete_keys(self, finding: FindingView, by: Actor) -> Removal:
        """A finding's deletion, claimed (`deleting_keys`), carried out; the sweep's too, for
        one a crash cut short, which is finished only while the bot still deletes keys."""
        named = literal(finding.user_name)
        held_back = self._not_deleting()
        if held_back:
            return self._held_back(finding, by, held_back)
        taken_over = self._deactivated_again(finding)
        keys, failure = _attempt(
            lambda: key_actions.delete(self._iam(finding.account_id), finding, taken_over)
        )
        left = {outcome.key_id for outcome in keys if outcome.note in key_actions.NOT_ITS_OWN}
        if failure:
            intent, why = Intent.FAIL_DELETION, f"not all deleted: {failure}"
        elif all(outcome.key_id in left for outcome in keys):
            intent, why = Intent.LEAVE_KEYS, "none deleted: no key was this finding's any more"
        else:
            intent, why = Intent.FINISH_DELETION, "deleted"
        changes = FindingChanges(decision_note=why, deactivated_keys=_held_but(finding, left))
        moved = self._step(finding.id, intent, by, why, changes, keys_record(keys))
        return Removal(moved, f"Access keys of {named}: {_said(keys, failure)}")

    def _held_back(self, finding: FindingView, by: Actor, held_back: str) -> Removal:
        """A deletion a crash (or AWS's slowness) cut short, settled while the bot deletes no
        key: the keys it did delete are recorded, and nothing more is deleted."""
        named = literal(finding.user_name)
        try:
            gone = key_actions.already_deleted(self._iam(finding.account_id), finding)
        except Exception as error:
            if not refused(error):
                raise  # AWS not answering: the next sweep asks again
            unread = f"which keys the deletion deleted is not known: {describe_error(error)}"
            changes = FindingChanges(decision_note=f"{held_back}; {unread}")
            moved = self._step(finding.id, Intent.FAIL_DELETION, by, held_back, changes)
            said = f"no more are deleted ({held_back}); {literal(unread, MAX_ERROR)}"
            return Removal(moved, f"Access keys of {named}: {said}.")
        deleted = {outcome.key_id for outcome in gone}
        changes = FindingChanges(
            decision_note=held_back, deactivated_keys=_held_but(finding, deleted)
        )
        details = keys_record(gone) or None
        moved = self._step(finding.id, Intent.FAIL_DELETION, by, held_back, changes, details)
        if gone:
            said = f"{key_actions.summary(gone)}; no other is deleted: {held_back}"
            return Removal(moved, f"Access keys of {named}: {said}.")
        return Removal(moved, f"Access keys of {named} not deleted: {held_back}.")

    def _not_deleting(self) -> str | None:
        """Why the bot deletes no key now (None: it does)."""
        if self.settings.dry_run:  # a deletion cannot be undone: a dry run never makes one
            return "a dry run deletes no key (DRY_RUN)"
        if self.settings.key_delete_after_days is None:
            return "key deletion is off (KEY_DELETE_AFTER_DAYS is not set)"
        return None

    def _deactivated_again(self, finding: FindingView) -> set[str]:
        """The ids of this finding's keys that a later finding deactivated again (someone
        turned one back on in IAM, a scan found it idle, and it was deactivated with a new
        consent): that finding holds them now."""
        mine = {key["key_id"] for key in finding.deactivated_keys or ()}
        return {
            key["key_id"]
            for other in self.repository.findings_in_state(*KEYS_HELD)
            if other.id != finding.id and _later(other, finding)
            for key in other.deactivated_keys or ()
            if key["key_id"] in mine
        }

    def riding(
        self, iam: AccountIam, finding: FindingView, *, recovering: bool = False
    ) -> list[key_actions.KeyOutcome]:
        """A password finding's idle keys, deactivated with it (KEY_ACTIONS=deactivate).
        `recovering`: the password was found gone after a crash, which may have come after
        some keys were deactivated (those are recorded, whatever KEY_ACTIONS says now). Not
        when it was still there: the bot deactivates keys only once the password is gone."""
        if not self.settings.deactivates_keys and not recovering:
            return []
        # Only the keys the request covered (what the people were shown), still riding on it.
        riding = {key["created"] for key in riding_keys(finding)}
        created = [parse_iso(key) for key in finding.requested_keys or () if key in riding]
        try:
            return key_actions.deactivate(
                iam, finding, created, self.settings, self._clock(), recovering=recovering
            )
        except Exception as error:  # the live re-check of the keys failed: none is touched
            if recovering and not refused(error):  # a crashed removal may have: ask again
                raise
            done = "not known" if recovering else "left"  # AWS refuses to say, for good
            note = f"{done}: the re-check failed: {describe_error(error)}"
            return [key_actions.KeyOutcome(moment, None, False, note) for moment in created]

    def deactivate(
        self, finding: FindingView, iam: AccountIam, live: LiveUser | None, by: Actor
    ) -> Removal:
        """An idle key's own finding: re-checked live, recorded, then deactivated (once)."""

        def move(intent: Intent, reason: str, details: Any = None, **changes: Any) -> FindingView:
            noted = FindingChanges(decision_note=reason, **changes)
            return self._step(finding.id, intent, by, reason, noted, details)

        if not self.settings.deactivates_keys:  # KEY_ACTIONS=off since it was asked
            why = "key actions are off (KEY_ACTIONS=off): the key was left as it is"
            return Removal(move(Intent.WITHDRAW, why), f"Not deactivated: {why}.")
        now = self._clock()
        verdict = recheck_key(live, finding.user_id, finding.key_created, now, self.settings)
        if isinstance(verdict, Cleared):
            why = verdict.reason
            aborted = move(Intent.ABORT, f"re-check: {why}", resolution=f"aborted: {why}")
            return Removal(aborted, f"Not deactivated: the re-check found {why}.")
        key, candidate = verdict
        if not same_owner(finding.requested_owner, candidate.owner):
            return self._owner_changed(finding, candidate.owner, by)
        assert live is not None  # recheck_key clears a user that is gone
        if may(Intent.START_REMOVAL, finding.state):  # else recovery: recorded before the crash
            seen = {
                **recheck_facts(candidate, live),
                "key_id": key.key_id,
                "key_last_used": iso(key.last_used),
                "dry_run": self.settings.dry_run,
            }
            move(Intent.START_REMOVAL, "re-check: still idle", seen, key_id=key.key_id)
        if self.settings.dry_run:
            done = move(Intent.FINISH_REMOVAL, key_actions.DRY_RUN)
            return Removal(done, "Dry run: the access key would have been deactivated.")
        outcome = key_actions.deactivate_key(iam, finding.user_name, key)
        if not outcome.done:
            return Removal(move(Intent.FAIL, outcome.note), literal(outcome.note, MAX_ERROR))
        record = key_actions.deactivated([outcome])
        try:
            done = move(
                Intent.FINISH_REMOVAL, outcome.note, outcome.record(), deactivated_keys=record
            )
        except RecordsUnavailable:
            raise RemovedUnrecorded(
                finding.user_name,
                self.settings.stuck_after_seconds,
                credential=f"access key {outcome.named}",
                done="deactivated",
            ) from None
        return Removal(done, self._deactivated(done, outcome))

    def _deactivated(self, finding: FindingView, outcome: key_actions.KeyOutcome) -> str:
        days = self.settings.key_reactivate_days
        return (
            f"Access key {outcome.named} of {literal(finding.user_name)} deactivated; its owner "
            f"or an approver can reactivate it for {days} days."
        )

    def recover(self, finding: FindingView, iam: AccountIam, by: Actor) -> Removal | None:
        """An idle key's finding left in `disabling` whose key AWS already shows inactive: a
        deactivation that was carried out, recorded as such (None: not that case)."""
        if finding.key_id is None:  # recorded before the key was known: not acted on
            return None
        try:
            key_now = key_actions.current(iam, finding.user_name, finding.key_id)
        except Exception as error:
            if refused(error):  # AccessDenied: the removal's own re-check fails, and says so
                return None
            raise  # AWS not answering, or throttling: the next sweep asks again
        if key_now is None or key_now.active or key_now.created is None:
            return None
        outcome = key_actions.KeyOutcome(
            key_now.created, key_now.key_id, True, key_actions.DEACTIVATED
        )
        why = "recovered: the key is inactive (its deactivation was cut short)"
        changes = FindingChanges(
            decision_note=why, deactivated_keys=key_actions.deactivated([outcome])
        )
        done = self._step(finding.id, Intent.FINISH_REMOVAL, by, why, changes)
        return Removal(done, self._deactivated(done, outcome))


def _held_but(finding: FindingView, key_ids: set[str | None]) -> list[dict[str, Any]]:
    """The keys this finding deactivated and still holds, but for these (by id)."""
    return [key for key in finding.deactivated_keys or () if key["key_id"] not in key_ids]


def _later(other: FindingView, finding: FindingView) -> bool:
    return (
        other.closed_at is not None
        and finding.closed_at is not None
        and other.closed_at > finding.closed_at
    )


def _said(keys: list[key_actions.KeyOutcome], failure: str | None) -> str:
    """What became of the keys, for people (mrkdwn): each key's outcome, or the failure that
    stopped them all."""
    if keys:
        return key_actions.summary(keys)
    return literal(failure or "nothing to do", MAX_ERROR)


def _attempt(
    run: Callable[[], list[key_actions.KeyOutcome]],
) -> tuple[list[key_actions.KeyOutcome], str | None]:
    """Each key's outcome, and what went wrong (None: every key is now as wanted)."""
    try:
        keys = run()
    except Exception as error:  # AssumeRole refused, AccessDenied, throttling beyond retries
        return [], describe_error(error)
    return keys, None if all(key.done for key in keys) else key_actions.summary(keys)


def keys_record(keys: list[key_actions.KeyOutcome]) -> dict[str, Any]:
    """What became of each key, for the step's audit details (nothing when no key was
    concerned)."""
    return {"keys": [key.record() for key in keys]} if keys else {}
