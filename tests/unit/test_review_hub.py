"""Review of the ASFF document (bot/domain/asff.py): what Security Hub is told of a finding whose
state says less than its name."""

from __future__ import annotations

from bot.application.decisions import DRY_RUN_REASON
from bot.domain.asff import document
from bot.domain.workflow import State
from tests.unit.test_asff import HUB, imports
from tests.unit.test_messages import NOW, row


def test_a_dry_run_removal_is_not_published_as_compliant_and_archived():
    """DRY_RUN=true: the "removal" called nothing, the idle password is still there, and while
    DRY_RUN stays on no new finding is opened for the user (bot/domain/deadlines.py `opening`).
    Security Hub must not be told the CIS check passed and the finding is over."""
    finding = row(
        "ann",
        state=State.DISABLED,
        requested_dry_run=True,
        decision_note=DRY_RUN_REASON,
        closed_at=NOW,
    )
    sent = document(finding, HUB, NOW)
    imports(sent)
    assert sent["Compliance"]["Status"] != "PASSED", sent["Description"]
    assert sent["RecordState"] == "ACTIVE"
