"""A key deletion cut short, settled by a sweep while the bot deletes no key, when AWS refuses
to list the keys: the record and the people say which keys it deleted is not known, rather
than that no key was deleted."""

from __future__ import annotations

from datetime import timedelta

from bot.application.jobs import key_deletion_job, sweep_job
from bot.aws.iam import AccountIam
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import fail_first, start_bot
from tests.integration.test_key_decisions import IN_DM, INACTIVE, keys_of, scanned_bot
from tests.integration.test_key_deletion import deactivated_days_ago
from tests.integration.test_removal_race import _shifted
from tests.support.bot_harness import OWNER


def test_a_refused_look_in_a_held_back_deletion_is_told_as_nothing_deleted(
    standin, database_file, aws_session, now, monkeypatch
):
    bot = scanned_bot(standin, database_file, aws_session, now, INACTIVE, key_delete_after_days=60)
    (finding,) = [f for f in bot.repository.findings_for_user("inactive") if f.key_created is None]
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    deactivated_days_ago(bot, finding.id, 61)
    later = _shifted(bot, monkeypatch)
    stuck = timedelta(seconds=bot.services.settings.stuck_after_seconds)
    original = AccountIam.delete_access_key

    def first_answered_slowly(self, user_name, key_id):
        answer = original(self, user_name, key_id)
        later[0] = stuck
        return answer

    monkeypatch.setattr(AccountIam, "delete_access_key", first_answered_slowly)
    before = {key.access_key_id for key in keys_of("inactive")}
    key_deletion_job(bot.services)
    (deleted,) = before - {key.access_key_id for key in keys_of("inactive")}
    assert bot.repository.finding(finding.id).state == State.DELETING_KEYS

    restarted = start_bot(standin, database_file, aws_session, dry_run=True)
    _shifted(restarted, monkeypatch)[0] = stuck * 3
    aws_session.events.register_first(
        "before-send.iam.ListAccessKeys", fail_first("ListAccessKeys", "AccessDenied", 100, 403)
    )
    standin.clear()
    sweep_job(restarted.services)
    settled = restarted.repository.finding(finding.id)
    still_held = [key["key_id"] for key in settled.deactivated_keys or ()]
    told = standin.said_to(OWNER)
    assert (
        settled.state == State.DELETING_KEYS
        or (deleted not in still_held and "not deleted" not in str(told))
        or "ListAccessKeys" in (settled.decision_note or "")
    ), (
        f"state {settled.state}: the key the bot deleted ({deleted}) is recorded as held "
        f"{still_held}, note {settled.decision_note!r} (nothing says AWS refused the look); "
        f"the owner was told {told!r}"
    )
