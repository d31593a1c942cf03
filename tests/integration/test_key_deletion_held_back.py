"""A key deletion cut short after it deleted one of a finding's two keys, settled by a sweep
while the bot deletes no key (restarted with DRY_RUN=true or without KEY_DELETE_AFTER_DAYS):
the key AWS no longer has is recorded as deleted, and nobody is told no key was deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.application.jobs import key_deletion_job, sweep_job
from bot.aws.iam import AccountIam
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import start_bot
from tests.integration.test_key_decisions import IN_DM, INACTIVE, keys_of, scanned_bot
from tests.integration.test_key_deletion import deactivated_days_ago
from tests.integration.test_removal_race import _shifted
from tests.support.bot_harness import OWNER


@pytest.mark.parametrize(
    "restarted_with", [{"dry_run": True}, {"key_delete_after_days": None}], ids=["dry", "off"]
)
def test_a_deletion_cut_short_after_one_key_is_not_recorded_as_deleting_nothing(
    standin, database_file, aws_session, now, monkeypatch, restarted_with
):
    bot = scanned_bot(standin, database_file, aws_session, now, INACTIVE, key_delete_after_days=60)
    (finding,) = [f for f in bot.repository.findings_for_user("inactive") if f.key_created is None]
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    held = bot.repository.finding(finding.id)
    assert held.state == State.DISABLED and len(held.deactivated_keys or ()) == 2
    deactivated_days_ago(bot, finding.id, 61)
    later = _shifted(bot, monkeypatch)
    stuck = timedelta(seconds=bot.services.settings.stuck_after_seconds)
    original = AccountIam.delete_access_key

    def first_answered_slowly(self, user_name, key_id):
        answer = original(self, user_name, key_id)  # deleted, and answered...
        later[0] = stuck  # ...so late that the run is out of time for the second key
        return answer

    monkeypatch.setattr(AccountIam, "delete_access_key", first_answered_slowly)
    before = {key.access_key_id for key in keys_of("inactive")}
    key_deletion_job(bot.services)
    (deleted,) = before - {key.access_key_id for key in keys_of("inactive")}  # one, in AWS
    assert bot.repository.finding(finding.id).state == State.DELETING_KEYS  # left to the sweep

    restarted = start_bot(standin, database_file, aws_session, **restarted_with)
    _shifted(restarted, monkeypatch)[0] = stuck * 3
    standin.clear()
    sweep_job(restarted.services)
    settled = restarted.repository.finding(finding.id)
    still_held = [key["key_id"] for key in settled.deactivated_keys or ()]
    told = standin.said_to(OWNER)
    assert deleted not in still_held and "not deleted" not in told, (
        f"state {settled.state}: the key the bot deleted ({deleted}) is still recorded as held "
        f"{still_held}, note {settled.decision_note!r}; the owner was told {told!r}"
    )
