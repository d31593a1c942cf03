"""Security Hub is set right whatever happened in between: a finding is sent as it is when
sent (a view queued before a later step never overtakes it), each scan also sends what steps
moved since the scan before (a refused publication, a scan crossing a removal in another process
are caught up), and a call failing part way leaves no batch half-published."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from moto.securityhub.exceptions import SecurityHubClientError
from moto.securityhub.responses import SecurityHubResponse

from bot.aws.securityhub import SecurityHub
from bot.domain.asff import document
from bot.domain.clock import utc_now
from bot.domain.settings import Settings
from bot.domain.workflow import Intent, State
from bot.entry.bootstrap import build_security_hub
from tests.integration.test_security_hub import APPROVING, state_in
from tests.support.security_hub import findings_of
from tests.unit.test_messages import row


class Refused:
    """Security Hub refusing BatchImportFindings with `code` (LimitExceededException is
    throttling, which botocore's standard mode retries): the `skip` first imports are taken,
    then `times` refused (each try botocore makes counts). In moto's server, so that clients
    built earlier meet it too."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        times: int,
        skip: int = 0,
        code: str = "LimitExceededException",
    ) -> None:
        self.left, self.skip, self.code = times, skip, code
        self._monkeypatch = monkeypatch
        self._taken = SecurityHubResponse.batch_import_findings

    def __enter__(self) -> Refused:
        throttled = self

        def batch_import_findings(response: SecurityHubResponse) -> str:
            if throttled.skip:
                throttled.skip -= 1
            elif throttled.left:
                throttled.left -= 1
                raise SecurityHubClientError(throttled.code, f"{throttled.code} (injected)")
            return throttled._taken(response)

        self._monkeypatch.setattr(
            SecurityHubResponse, "batch_import_findings", batch_import_findings
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self._monkeypatch.setattr(SecurityHubResponse, "batch_import_findings", self._taken)


def test_a_removal_whose_publication_was_refused_is_caught_up_by_the_next_scan(
    hub_bot, security_hub, monkeypatch, iam_calls_to_delete
):
    """Security Hub refuses the bot for a moment (an SCP or policy change undone, or throttling
    beyond botocore's retries) just as the removal is published; the docs say "the next scan
    also catches up on anything missed". The removed password's
    finding is closed, so no scan touches it again: Security Hub keeps it ACTIVE, NOTIFIED,
    FAILED for ever."""
    decisions, hub = hub_bot.services.decisions, hub_bot.services.security_hub
    dormant = hub_bot.finding("idle-dormant")
    decisions.request_disable(dormant.id, APPROVING, None, owner_unreachable=True)
    hub.flush()
    assert state_in(security_hub, "idle-dormant") == ("NOTIFIED", "ACTIVE", "FAILED")

    with Refused(monkeypatch, times=100, code="AccessDeniedException") as refused:
        removal = decisions.confirm_and_remove(dormant.id, Intent.APPROVER_CONFIRM, APPROVING, "ok")
        hub.flush()
    assert refused.left < 100  # each of the removal's steps was refused
    assert removal.finding.state == State.DISABLED and iam_calls_to_delete == ["idle-dormant"]

    assert "Scan done" in hub_bot.replies("scan")  # Security Hub answers again
    assert state_in(security_hub, "idle-dormant") == ("RESOLVED", "ARCHIVED", "PASSED")


def test_a_scan_crossing_a_removal_is_set_right_by_the_next_scan(
    hub_bot, security_hub, aws_session, iam_calls_to_delete
):
    """docs/operations.md: "A scan in one process and a decision in another may cross: the next
    scan sets it right." A scan recorded the finding as disable_requested; the removal in
    another process is published first, the scan's older view after it. The removed
    password's finding is closed, so the next scan does not touch it: it stays ACTIVE."""
    decisions, hub = hub_bot.services.decisions, hub_bot.services.security_hub
    dormant = hub_bot.finding("idle-dormant")
    decisions.request_disable(dormant.id, APPROVING, None, owner_unreachable=True)
    hub.flush()
    as_the_scan_recorded_it = hub_bot.finding("idle-dormant")
    assert as_the_scan_recorded_it.state == State.DISABLE_REQUESTED

    decisions.confirm_and_remove(dormant.id, Intent.APPROVER_CONFIRM, APPROVING, "ok")
    hub.flush()
    assert state_in(security_hub, "idle-dormant") == ("RESOLVED", "ARCHIVED", "PASSED")

    # The scanner process read it before the removal; its import lands after the removal's.
    scanner_process = SecurityHub(aws_session)
    stale = document(as_the_scan_recorded_it, scanner_process.hub(), utc_now())
    assert scanner_process.publish([stale]) == []
    assert state_in(security_hub, "idle-dormant") == ("NOTIFIED", "ACTIVE", "FAILED")

    assert "Scan done" in hub_bot.replies("scan")
    assert state_in(security_hub, "idle-dormant") == ("RESOLVED", "ARCHIVED", "PASSED")


def test_a_call_failing_part_way_does_not_leave_earlier_batches_half_published(
    aws_session, security_hub, monkeypatch
):
    """101 findings resolved at once (an account's users deleted): the first import (100)
    is taken, the second is throttled beyond botocore's retries. The first 100 are now
    ARCHIVED in Security Hub, but their Workflow is never set (no BatchUpdateFindings is made)
    and they are not counted as unpublished: ARCHIVED findings left NEW, reported published."""
    no_records = SimpleNamespace(findings_by_id=lambda _ids: [])  # as given: none recorded
    hub = build_security_hub(
        Settings(security_hub=True, database_url="unused"), aws_session, utc_now, no_records
    )
    opened = [row(f"gone-{i:03d}", id=f"{i:032x}") for i in range(101)]
    assert hub.publish(opened).failed == 0
    assert {f["Workflow"]["Status"] for f in findings_of(security_hub).values()} == {"NEW"}

    resolved = [
        row(
            f.user_name,
            id=f.id,
            state=State.RESOLVED,
            resolution="user deleted",
            closed_at=f.first_seen + timedelta(days=1),
        )
        for f in opened
    ]
    with Refused(monkeypatch, times=10, skip=1) as throttled:
        published = hub.publish(resolved)
    assert throttled.left < 10 and published.failed > 0

    found = findings_of(security_hub)
    wrong = sorted(
        name
        for name, f in found.items()
        if (f["Workflow"]["Status"], f["RecordState"]) != ("RESOLVED", "ARCHIVED")
    )
    # every finding not as its record says must at least be counted as not published
    assert published.failed >= len(wrong), (published, wrong[:3], len(wrong))


def test_a_scan_never_overtakes_a_later_step_of_the_same_process(
    hub_bot, security_hub, monkeypatch, iam_calls_to_delete
):
    """bot/application/security_hub.py: "a finding's later state is never overtaken by an
    earlier one from the same process". (The removal is injected where a Slack thread's may
    land.) The scan publishes the rows as it recorded them; a
    removal taken on another thread of the process between the scan's commit and its
    publication is queued first, and the scan's older view overwrites it."""
    from bot.application import scans

    decisions, hub = hub_bot.services.decisions, hub_bot.services.security_hub
    dormant = hub_bot.finding("idle-dormant")
    decisions.request_disable(dormant.id, APPROVING, None, owner_unreachable=True)
    hub.flush()
    recorded = scans.record_held

    def record_then_a_removal_commits(*args, **kwargs):
        record = recorded(*args, **kwargs)
        decisions.confirm_and_remove(dormant.id, Intent.APPROVER_CONFIRM, APPROVING, "ok")
        return record

    monkeypatch.setattr(scans, "record_held", record_then_a_removal_commits)
    assert "Scan done" in hub_bot.replies("scan")
    hub.flush()
    assert iam_calls_to_delete == ["idle-dormant"]
    assert state_in(security_hub, "idle-dormant") == ("RESOLVED", "ARCHIVED", "PASSED")
