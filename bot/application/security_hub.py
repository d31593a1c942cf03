"""Findings in Security Hub (SECURITY_HUB=true): every finding a scan recorded, once the scan is
recorded, and each finding a decision step moved, after the step.

Best effort, like a Home tab: what Security Hub does not take is logged (and the scan's reply
says how many and why), and never stops a scan or a removal. One thread a process sends
everything, in the order it was asked for, so a finding's later state is never overtaken by an
earlier one from the same process; a decision never waits on Security Hub.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import boto3

from bot.aws.iam import describe_error
from bot.aws.securityhub import SecurityHub
from bot.domain import asff
from bot.domain.clock import Clock
from bot.domain.records import FindingView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Publication:
    """What became of findings sent to Security Hub."""

    sent: int = 0
    failed: int = 0
    error: str | None = None  # the first reason given

    def problem(self) -> str | None:
        """For people, when some were not published."""
        if not self.failed:
            return None
        return f"{self.failed} of {self.sent} findings not published to Security Hub ({self.error})"


class FindingsHub:
    """The findings' mirror in Security Hub; does nothing when SECURITY_HUB is off (`queue`
    None)."""

    def __init__(
        self,
        aws_session: boto3.Session,
        clock: Clock,
        queue: Executor | None,
        as_now: Callable[[Sequence[str]], Sequence[FindingView]],
    ) -> None:
        self._security_hub = SecurityHub(aws_session)
        self._clock = clock
        self._queue = queue
        self._as_now = as_now  # the findings, read again by id

    @property
    def publishes(self) -> bool:
        """Whether SECURITY_HUB is on."""
        return self._queue is not None

    def publish(self, findings: Sequence[FindingView]) -> Publication:
        """Publish `findings` as they are now, after whatever this process queued before, and
        wait for the outcome."""
        if self._queue is None or not findings:
            return Publication()
        try:
            return self._queue.submit(self._publish, list(findings)).result()
        except RuntimeError as error:  # the process is stopping
            return Publication(len(findings), len(findings), str(error))

    def publish_later(self, finding: FindingView) -> None:
        """Publish `finding` as it is now, without waiting."""
        if self._queue is None:
            return
        try:
            self._queue.submit(self._publish, [finding])
        except RuntimeError as error:  # the process is stopping: the next scan publishes it
            log.warning("Security Hub: finding %s not published: %s", finding.id, error)

    def flush(self) -> None:
        """Wait until everything queued so far is sent (for a clean stop, and for tests)."""
        if self._queue is not None:
            self._queue.submit(_nothing).result()

    def _publish(self, findings: list[FindingView]) -> Publication:
        sent = len(findings)
        try:
            # As they are when sent, not as they were when queued: a step taken meanwhile, in
            # this process or another, is never overtaken by the view of it queued before.
            now_by_id = {row.id: row for row in self._as_now([row.id for row in findings])}
            findings = [now_by_id.get(finding.id, finding) for finding in findings]
            hub = self._security_hub.hub()
            now = self._clock()
            unpublished = self._security_hub.publish(
                [asff.document(finding, hub, now) for finding in findings]
            )
        except Exception as error:  # no credentials, STS down, a bug: never the caller's problem
            log.exception("Security Hub: %d findings not published", sent)
            return Publication(sent, sent, describe_error(error))
        if not unpublished:
            return Publication(sent)
        first = unpublished[0]
        log.warning(
            "Security Hub did not take %d of %d findings; the first, %s: %s",
            len(unpublished),
            sent,
            first.id,
            first.error,
        )
        return Publication(sent, len(unpublished), unpublished[0].error)


def _nothing() -> None:
    pass
