"""Decisions on findings: request, confirm, keep, and the recorded, re-checked removal.

Every step is committed before the next begins, and the step into `disabling` is a
compare-and-set, so however many clicks or replicas race, DeleteLoginProfile runs once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import aws
from bot.rule import USER_DELETED, Cleared, evaluate
from bot.settings import Settings
from bot.workflow import State
from storage.models import Finding
from storage.repository import Repository

log = logging.getLogger(__name__)

REQUESTABLE = frozenset({State.OPEN, State.FAILED})
KEEPABLE = frozenset({State.OPEN, State.DISABLE_REQUESTED, State.AWAITING_OWNER, State.FAILED})
DRY_RUN_REASON = "dry run: DeleteLoginProfile was not called"


@dataclass(frozen=True)
class Removal:
    finding: Finding
    summary: str  # one line for people


class Decisions:
    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        iam_for_account: Callable[[str], Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._iam_for_account = iam_for_account
        self._clock = clock

    def request_disable(self, finding_id: str, actor: str, surface: str) -> Finding:
        return self.repository.transition(
            finding_id,
            State.DISABLE_REQUESTED,
            actor=actor,
            surface=surface,
            at=self._clock(),
            allowed_from=REQUESTABLE,
            requested_by=actor,
            decided_by=None,
            decision_note=None,
        )

    def await_owner(self, finding_id: str, owner_slack_id: str, actor: str) -> Finding:
        return self.repository.transition(
            finding_id,
            State.AWAITING_OWNER,
            actor=actor,
            surface="slack-dm",
            at=self._clock(),
            allowed_from=frozenset({State.DISABLE_REQUESTED}),
            reason=f"asked owner <@{owner_slack_id}> to confirm",
            owner_slack_id=owner_slack_id,
            asked_at=self._clock(),
            reminded_at=None,
            escalated_at=None,
        )

    def confirm_and_remove(
        self,
        finding_id: str,
        actor: str,
        surface: str,
        *,
        by_owner: bool,
        why: str,
        owner_unanswered: bool = False,
    ) -> Removal:
        """Record the confirmation, re-check the user live, then remove the password (once).

        The owner answers a request awaiting them; an approver's word is final when the owner
        cannot be asked, or once the unanswered request was escalated to the approvers; the
        scheduler's (`owner_unanswered`) after AUTO_DISABLE_AFTER_DAYS without an answer.
        """
        if by_owner:
            allowed = frozenset({State.AWAITING_OWNER})
        else:
            current = self.repository.finding(finding_id)
            escalated = current is not None and current.escalated_at is not None
            allowed = frozenset(
                {State.DISABLE_REQUESTED, State.AWAITING_OWNER}
                if escalated or owner_unanswered
                else {State.DISABLE_REQUESTED}
            )
        confirmed = self.repository.transition(
            finding_id,
            State.OWNER_CONFIRMED,
            actor=actor,
            surface=surface,
            at=self._clock(),
            allowed_from=allowed,
            reason=why,
            decided_by=actor,
        )
        return self._remove(confirmed, actor, surface)

    def keep(
        self, finding_id: str, actor: str, surface: str, reason: str, days: int | None
    ) -> Finding:
        now = self._clock()
        until = now + timedelta(days=days) if days else None
        return self.repository.transition(
            finding_id,
            State.KEPT,
            actor=actor,
            surface=surface,
            at=now,
            allowed_from=KEEPABLE,
            reason=reason,
            details={"kept_until": until.isoformat() if until else "revoked"},
            kept_until=until,
            decided_by=actor,
            decision_note=reason,
        )

    def settle_in_flight(self) -> list[Removal]:
        """After a crash between recording `disabling` and the AWS call: finish what was started.

        Password already gone: record `disabled`. Still there: re-check and remove it through
        the normal path, once (the version claim keeps a second replica out).
        """
        settled = []
        for finding in self.repository.findings_in_state(State.DISABLING):
            if not self.repository.claim_finding(finding.id, finding.version):
                continue
            claimed = self.repository.finding(finding.id)
            try:
                iam = self._iam_for_account(claimed.account_id)
                gone = aws.login_profile(iam, claimed.user_name) is None
            except Exception as error:
                log.warning("recovery of %s: AWS unreachable: %s", claimed.id, error)
                continue  # still `disabling`: the next start tries again
            if gone:
                done = self.repository.transition(
                    claimed.id,
                    State.DISABLED,
                    actor="system",
                    surface="recovery",
                    at=self._clock(),
                    allowed_from=frozenset({State.DISABLING}),
                    reason="recovered after a restart: the password is gone",
                    decision_note="console password removed",
                )
                settled.append(Removal(done, f"Console password of {done.user_name} removed."))
            else:
                settled.append(self._remove(claimed, "system", "recovery"))
        return settled

    def _remove(self, finding: Finding, actor: str, surface: str) -> Removal:
        def move(current: Finding, to: State, reason: str, **changes: Any) -> Finding:
            return self.repository.transition(
                current.id,
                to,
                actor=actor,
                surface=surface,
                at=self._clock(),
                allowed_from=frozenset({State(current.state)}),
                reason=reason,
                decision_note=reason,
                **changes,
            )

        try:
            iam = self._iam_for_account(finding.account_id)
            live = aws.live_credentials(iam, finding.account_id, finding.user_name)
        except Exception as error:  # AccessDenied, throttling beyond retries, no credentials
            failed = move(
                finding, State.FAILED, f"live re-check failed: {aws.describe_error(error)}"
            )
            return Removal(failed, failed.decision_note)
        verdict = evaluate(live, self._clock(), self.settings.thresholds) if live else None
        if verdict is None or isinstance(verdict, Cleared):
            why = verdict.reason if verdict else USER_DELETED
            aborted = move(finding, State.ABORTED, f"re-check: {why}", resolution=f"aborted: {why}")
            return Removal(aborted, f"Not removed: the re-check found {why}.")

        disabling = (
            finding
            if finding.state == State.DISABLING  # recovery: already recorded before the crash
            else move(finding, State.DISABLING, "re-check: still idle")
        )
        if self.settings.dry_run:
            done = move(disabling, State.DISABLED, DRY_RUN_REASON)
            return Removal(done, "Dry run: the console password would have been removed.")
        try:
            existed = aws.delete_login_profile(iam, disabling.user_name)
        except Exception as error:
            failed = move(disabling, State.FAILED, aws.describe_error(error))
            return Removal(failed, failed.decision_note)
        reason = "console password removed" if existed else "the password was already gone"
        done = move(disabling, State.DISABLED, reason)
        log.info("removed console password of %s in %s", done.user_name, done.account_id)
        return Removal(done, f"Console password of {done.user_name} removed.")
