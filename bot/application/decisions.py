"""Decisions on findings: request, confirm, keep, and the recorded, re-checked removal.

Every step is committed before the next begins, and each is a compare-and-set the workflow
policy checks, so however many clicks race, one confirmation wins and calls DeleteLoginProfile.
(The sweep moves on findings left in a transient state only once they are untouched for
STUCK_AFTER_SECONDS; a removal sends AWS nothing once the sweep may: removal.iam_in_time.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.application import key_actions
from bot.application.key_decisions import KeyDecisions, keys_record
from bot.application.removal import (
    GONE,
    MAX_ERROR,
    IamForAccount,
    Removal,
    RemovedUnrecorded,
    StillUnderWay,
    checked_after,
    gone_after_all,
    gone_already,
    iam_in_time,
    left_to_the_sweep,
    removed_line,
    unreachable,
)
from bot.aws.iam import AccountIam, describe_error, refused
from bot.domain.access_keys import riding_key_dates
from bot.domain.assessment import recheck, recheck_facts, same_owner
from bot.domain.clock import Clock
from bot.domain.records import (
    Actor,
    FindingChanges,
    FindingView,
    RecordsUnavailable,
    Role,
    Surface,
    SystemActor,
    UnknownFinding,
)
from bot.domain.rule import Cleared
from bot.domain.settings import Settings
from bot.domain.workflow import (
    KEEP_BY,
    TRANSIENT_STATES,
    Intent,
    State,
    TransitionError,
    disable_refusal,
    keep_refusal,
    may,
    may_have_acted,
)
from bot.slack.messages.text import literal
from storage.repository import Repository

log = logging.getLogger(__name__)

DRY_RUN_REASON = "dry run: DeleteLoginProfile was not called"
PASSWORD_REMOVED = "console password removed"
ANSWER_LOST = "console password removed (AWS's answer was lost; the password is gone)"
OWNER_CHANGED = "the owner is now {owner} (was {was}), whose consent is needed"
CONFIRMATIONS = frozenset({Intent.OWNER_CONFIRM, Intent.APPROVER_CONFIRM, Intent.AUTO_CONFIRM})

SLACK_SYSTEM = Actor(SystemActor.SYSTEM, Role.SYSTEM, Surface.SLACK)
Published = Callable[[FindingView], None]  # told of each finding a step moved, once committed


def _unpublished(_finding: FindingView) -> None:
    pass


class Decisions:
    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        iam_for_account: IamForAccount,
        clock: Clock,
        published: Published = _unpublished,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._iam_for_account = iam_for_account
        self._clock = clock
        self._published = published
        self.keys = KeyDecisions(
            self._step, repository, settings, self._iam, clock, self._owner_changed
        )

    def _iam(self, account_id: str) -> AccountIam:
        """IAM for a removal beginning now, out of time before the sweep may take it over."""
        return iam_in_time(self._iam_for_account, account_id, self._clock, self.settings)

    def request_disable(
        self,
        finding_id: str,
        by: Actor,
        owner: str | None,
        *,
        owner_unreachable: bool,
        at: datetime | None = None,
    ) -> FindingView:
        """Record the request, with what it is for: this owner (and whether Slack said for
        certain that they cannot be asked), in this dry-run mode. `at`: when, as a form opened
        for it already says."""
        finding = self.repository.finding(finding_id)
        refusal = disable_refusal(finding, self.settings.deactivates_keys) if finding else None
        if refusal:
            raise TransitionError(refusal)
        keys = riding_key_dates(finding) if self.settings.deactivates_keys else []
        changes = FindingChanges(
            requested_by=by.id,
            decided_by=None,
            decision_note=None,
            requested_owner=owner,
            requested_dry_run=self.settings.dry_run,
            owner_unreachable=owner_unreachable,
            requested_keys=keys,
        )
        details = {
            "owner": owner,
            "owner_unreachable": owner_unreachable,
            "dry_run": self.settings.dry_run,
            **({"keys": keys} if keys else {}),
        }
        return self._step(finding_id, Intent.REQUEST_DISABLE, by, None, changes, details, at=at)

    def await_owner(self, finding_id: str, owner_slack_id: str, by: Actor) -> FindingView:
        changes = FindingChanges(
            owner_slack_id=owner_slack_id,
            asked_at=self._clock(),
            reminded_at=None,
            escalated_at=None,
        )
        why = f"asked owner <@{owner_slack_id}> to confirm"
        return self._step(finding_id, Intent.ASK_OWNER, by, why, changes)

    def escalate(self, finding_id: str, by: Actor, *, seen_step: datetime | None) -> FindingView:
        """The owner has not answered: the approvers may now decide alone. `seen_step`: the
        finding's last step as the follow-up job read it (a new request since restarts the wait)."""
        changes = FindingChanges(escalated_at=self._clock())
        why = "the owner did not answer"
        return self._step(finding_id, Intent.ESCALATE, by, why, changes, seen_step=seen_step)

    def confirm_and_remove(
        self,
        finding_id: str,
        intent: Intent,
        by: Actor,
        why: str,
        *,
        seen_step: datetime | None = None,
    ) -> Removal:
        """Record the confirmation, re-check the user live, then remove the password (once).
        `intent`: whose word this is (the owner's, the approver's final one, or the scheduler's
        after AUTO_DISABLE_AFTER_DAYS; the policy says when each may count). `seen_step`: the
        finding's last step as the confirming form or job saw it; any step since refuses it."""
        if intent not in CONFIRMATIONS:
            raise ValueError(f"{intent} is not a confirmation")
        system = Actor(by.id, Role.SYSTEM, by.surface)
        finding = self.repository.finding(finding_id)
        if finding is None:
            raise UnknownFinding(finding_id)
        if self._other_mode(finding):
            return self._withdraw(finding, system)
        details = {"owner": finding.requested_owner, "dry_run": finding.requested_dry_run}
        changes = FindingChanges(decided_by=by.id)
        confirmed = self._step(finding_id, intent, by, why, changes, details, seen_step=seen_step)
        try:
            return self._remove(confirmed, system)
        except StillUnderWay:
            return left_to_the_sweep(
                self.repository.finding(finding_id) or confirmed, self.settings
            )

    def unkeep(self, finding_id: str, by: Actor, reason: str) -> FindingView:
        """An approver ends a keep: the finding is open again at once."""
        changes = FindingChanges(kept_until=None, decided_by=by.id, decision_note=reason)
        return self._step(finding_id, Intent.UNKEEP, by, reason, changes)

    def withdraw(self, finding_id: str, why: str, by: Actor = SLACK_SYSTEM) -> FindingView:
        """The request cannot go on as it was made (its new owner cannot be asked, its form
        could not be opened, its consent was for another mode): the finding is open again."""
        return self._step(finding_id, Intent.WITHDRAW, by, why, FindingChanges(decision_note=why))

    def keep(self, finding_id: str, by: Actor, reason: str, days: int | None) -> FindingView:
        """Keep the password (or key) for `days` (None: until revoked), within what `by` may
        choose. A password's keep covers the idle keys shown on it then, not keys found idle
        after (they become findings of their own: bot.domain.riding)."""
        refusal = keep_refusal(by.role, days, self.settings.owner_keep_max_days)
        if refusal:
            raise TransitionError(refusal)
        now = self._clock()
        until = now + timedelta(days=days) if days else None
        keys = riding_key_dates(self.repository.finding(finding_id))
        changes = FindingChanges(
            kept_until=until, decided_by=by.id, decision_note=reason, requested_keys=keys
        )
        details = {"kept_until": until.isoformat() if until else "revoked"}
        return self._step(finding_id, KEEP_BY[by.role], by, reason, changes, details)

    def sweep(self) -> list[Removal]:
        """Move on every finding left in a transient state for STUCK_AFTER_SECONDS (a crash, a
        database outage, AWS too slow, a form never submitted), each claimed by its version
        first (replicas sweeping at once pass it by); a failure is left to the next sweep."""
        since = self._clock() - timedelta(seconds=self.settings.stuck_after_seconds)
        moved = []
        for finding in self.repository.stuck_findings(TRANSIENT_STATES, since):
            if not self.repository.claim_finding(finding.id, finding.version, self._clock()):
                continue
            try:
                moved.append(self._move_on(finding))
            except TransitionError as error:  # someone else moved it after the claim
                log.info("sweep passed %s by: %s", finding.id, error)
            except StillUnderWay:
                log.warning("AWS answers slowly: %s is left to the next sweep", finding.id)
            except Exception:
                log.exception("sweep could not move %s on; the next sweep tries again", finding.id)
        return moved

    def _move_on(self, finding: FindingView) -> Removal:
        system = Actor(SystemActor.SYSTEM, Role.SYSTEM, Surface.RECOVERY)
        if finding.state == State.DISABLE_REQUESTED:
            why = "the request was never completed (its form was not submitted): decide again"
            return Removal(self.withdraw(finding.id, why, system), f"Not removed: {why}.")
        if finding.state == State.REACTIVATING:
            return self.keys.turn_back_on(finding, system)
        if finding.state == State.DELETING_KEYS:
            return self.keys.delete_keys(finding, system)
        try:
            iam = self._iam(finding.account_id)
        except Exception as error:  # AssumeRole refused for good: AWS can be asked nothing
            if not refused(error):
                raise  # AWS not answering: the next sweep asks again
            if self._other_mode(finding) and not may_have_acted(finding):
                return self._withdraw(finding, system)
            why = unreachable(finding, describe_error(error))
            failed = self._step(
                finding.id, Intent.FAIL, system, why, FindingChanges(decision_note=why)
            )
            return Removal(failed, literal(why, MAX_ERROR))
        if may_have_acted(finding):  # recorded as carried out if it was, whatever the mode now
            if finding.key_created is not None:
                recovered = self.keys.recover(finding, iam, system)
                if recovered is not None:
                    return recovered
            elif gone_already(iam, finding):
                why = "recovered: the password is gone (its removal was cut short)"
                done = PASSWORD_REMOVED
                return self._finish_removal(finding, iam, system, done, {}, why, recovering=True)
        if self._other_mode(finding):
            return self._withdraw(finding, system)
        return self._remove(finding, system, iam)

    def cancel_request(self, finding_id: str, by: Actor) -> FindingView:
        """The approver closed the final confirmation without submitting it."""
        why = "the final confirmation was closed without removing anything"
        changes = FindingChanges(decision_note=why)
        return self._step(finding_id, Intent.CANCEL_REQUEST, by, why, changes)

    def _remove(self, finding: FindingView, by: Actor, iam: AccountIam | None = None) -> Removal:
        def move(
            intent: Intent, reason: str, details: dict[str, Any] | None = None, **changes: Any
        ) -> FindingView:
            noted = FindingChanges(decision_note=reason, **changes)
            return self._step(finding.id, intent, by, reason, noted, details)

        try:
            iam = iam or self._iam(finding.account_id)  # the sweep's: its claim's deadline
            live = iam.live_user(finding.user_name)
        except Exception as error:  # AccessDenied, throttling beyond retries, no credentials
            error_text = describe_error(error)
            failed = move(Intent.FAIL, f"live re-check failed: {error_text}")
            return Removal(failed, f"live re-check failed: {literal(error_text, MAX_ERROR)}")
        if finding.key_created is not None:
            return self.keys.deactivate(finding, iam, live, by)
        verdict = recheck(live, finding.user_id, self._clock(), self.settings)
        if isinstance(verdict, Cleared):
            why = verdict.reason
            aborted = move(Intent.ABORT, f"re-check: {why}", resolution=f"aborted: {why}")
            return Removal(aborted, f"Not removed: the re-check found {why}.")
        if not same_owner(finding.requested_owner, verdict.owner):
            return self._owner_changed(finding, verdict.owner, by)
        assert live is not None  # recheck clears a user that is gone

        if may(Intent.START_REMOVAL, finding.state):  # else recovery: recorded before the crash
            seen = {**recheck_facts(verdict, live), "dry_run": self.settings.dry_run}
            move(Intent.START_REMOVAL, "re-check: still idle", seen)
        if self.settings.dry_run:
            keys = self.keys.riding(iam, finding)
            done = move(Intent.FINISH_REMOVAL, DRY_RUN_REASON, keys_record(keys))
            said = "Dry run: the console password would have been removed."
            return Removal(done, key_actions.after(said, keys))
        try:
            deletion = iam.delete_login_profile(finding.user_name)
            # Not there: the re-check saw it just before, so a try of this very request took it
            # and its answer was lost (botocore retried and heard NoSuchEntity).
            outcome = PASSWORD_REMOVED if deletion.existed else ANSWER_LOST
            taken_by = deletion.request_id if deletion.existed else None
            proof = {"aws_request_id": taken_by, **checked_after(iam, finding.user_name)}
        except Exception as error:
            if not gone_after_all(iam, finding.user_name):
                note = describe_error(error)
                return Removal(move(Intent.FAIL, note), literal(note, MAX_ERROR))
            outcome = ANSWER_LOST  # the re-check saw it there just before our request
            proof = {"aws_request_id": None, "checked_after": GONE}
        return self._finish_removal(finding, iam, by, outcome, proof)

    def _finish_removal(
        self,
        finding: FindingView,
        iam: AccountIam,
        by: Actor,
        outcome: str,
        proof: dict[str, Any],
        why: str | None = None,
        *,
        recovering: bool = False,
    ) -> Removal:
        """The password is gone: its idle keys are deactivated (each re-checked; `recovering`:
        see KeyDecisions.riding), and the removal recorded (`why`, else `outcome`) with them."""
        keys = self.keys.riding(iam, finding, recovering=recovering)
        details = {**proof, **keys_record(keys)}
        changes = FindingChanges(
            decision_note=outcome, deactivated_keys=key_actions.deactivated(keys) or None
        )
        try:
            done = self._step(
                finding.id, Intent.FINISH_REMOVAL, by, why or outcome, changes, details or None
            )
        except RecordsUnavailable:
            what = "console password" + (
                " and idle access keys" if changes.deactivated_keys else ""
            )
            raise RemovedUnrecorded(
                finding.user_name, self.settings.stuck_after_seconds, what
            ) from None
        log.info("removed console password of %s in %s", done.user_name, done.account_id)
        return Removal(done, key_actions.after(removed_line(done), keys))

    def _other_mode(self, finding: FindingView) -> bool:
        """Asked in a dry run and now for real, or the other way round (a request whose mode
        was not recorded, from before the bot recorded it, counts as another mode)."""
        return finding.requested_dry_run is not self.settings.dry_run

    def _withdraw(self, finding: FindingView, by: Actor) -> Removal:
        asked = "in a dry run" if finding.requested_dry_run else "with DRY_RUN off"
        why = f"the request was made {asked}, so this consent removes nothing: decide again"
        return Removal(self.withdraw(finding.id, why, by), f"Not removed: {why}.")

    def _owner_changed(self, finding: FindingView, owner: str | None, by: Actor) -> Removal:
        was = finding.requested_owner
        why = OWNER_CHANGED.format(owner=owner or "unknown", was=was or "nobody")
        shown = OWNER_CHANGED.format(
            owner=literal(owner) if owner else "unknown", was=literal(was) if was else "nobody"
        )
        changes = FindingChanges(
            requested_owner=owner,
            owner_slack_id=None,
            owner_unreachable=False,
            decided_by=None,
            decision_note=why,
        )
        moved = self._step(finding.id, Intent.OWNER_CHANGED, by, why, changes)
        return Removal(moved, f"Not removed yet: {shown}.", ask_new_owner=True)

    def _step(
        self,
        finding_id: str,
        intent: Intent,
        by: Actor,
        reason: str | None,
        changes: FindingChanges,
        details: dict[str, Any] | None = None,
        *,
        seen_step: datetime | None = None,
        at: datetime | None = None,
    ) -> FindingView:
        """The one way a decision changes a finding: the checked step, then whoever mirrors
        findings elsewhere (Security Hub) is told, so that no step can be left out."""
        moved = self.repository.transition(
            finding_id,
            intent,
            by,
            at=at or self._clock(),
            reason=reason,
            details=details,
            changes=changes,
            expected_step=seen_step,
        )
        self._published(moved)
        return moved
