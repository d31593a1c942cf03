"""Reactivate under attack (issue 23): each test is a defect a hostile review found, through the
production HTTP path (moto, SQLite and PostgreSQL), now mended: a partly failed or unsettled
reactivation, KEY_ACTIONS=off and the undo, a failure's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moto.core.exceptions import AccessDeniedError
from moto.iam.models import IAMBackend

from bot.aws.demo import DEMO_ACCOUNT_ID, DemoKey, DemoUser
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import set_fields, start_bot
from tests.integration.test_key_decisions import (
    IDLE_KEY,
    IN_DM,
    OWNER_TAG,
    disable_and_confirm,
    key_finding,
    keys_of,
    scanned_bot,
    statuses,
)
from tests.support.bot_harness import OWNER

WHOLE = DemoUser(
    "whole", 600, password_used_days_ago=300, keys=(DemoKey(300), DemoKey(None)), tags=OWNER_TAG
)


def fresh_reports(aws_session) -> None:
    """Credential reports generated when asked for (moto dates every report 2015, which makes
    every report older than any removal, and so never reopens anything)."""

    def generated_now(parsed, **_kwargs):
        if "GeneratedTime" in parsed:
            parsed["GeneratedTime"] = datetime.now(UTC)

    aws_session.events.register("after-call.iam.GetCredentialReport", generated_now)


def _open_key_findings(bot, user_name: str) -> list:
    return [
        row
        for row in bot.repository.findings_for_user(user_name)
        if row.key_created is not None and row.closed_at is None
    ]


def test_a_key_turned_back_on_by_a_partly_failed_reactivation_is_not_found_again_at_once(
    standin, database_file, aws_session, now, monkeypatch
):
    bot = scanned_bot(standin, database_file, aws_session, now, WHOLE)
    (finding,) = bot.repository.findings_for_user("whole")
    disable_and_confirm(bot, finding.id)
    assert statuses("whole") == ["Inactive", "Inactive"]
    first, second = keys_of("whole")
    carried_out = IAMBackend.update_access_key

    def refuse_the_second(self, user_name, access_key_id, status=None):
        if access_key_id == second.access_key_id:
            raise AccessDeniedError(
                f"arn:aws:iam::{DEMO_ACCOUNT_ID}:user/bot", "iam:UpdateAccessKey"
            )
        return carried_out(self, user_name, access_key_id, status)

    monkeypatch.setattr(IAMBackend, "update_access_key", refuse_the_second)
    bot.click(ActionId.REACTIVATE, finding.id, **IN_DM)
    assert statuses("whole") == ["Active", "Inactive"]
    assert bot.repository.finding(finding.id).state == State.DISABLED
    bot.command("scan")
    assert _open_key_findings(bot, "whole") == []


def test_a_scan_while_a_reactivation_is_unsettled_does_not_reopen_its_key(
    standin, database_file, aws_session, now
):
    fresh_reports(aws_session)
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    (key,) = keys_of("idle-key")
    # Reactivate recorded (as the step records it: the keys spared for KEY_IDLE_DAYS),
    # UpdateAccessKey carried out, then the process died.
    spared = datetime.now(UTC) + timedelta(days=45)
    set_fields(bot.repository, finding.id, state=State.REACTIVATING, kept_until=spared)
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    bot.command("scan")
    assert _open_key_findings(bot, "idle-key") == []


def test_key_actions_off_still_lets_the_owner_undo_a_deactivation(
    standin,
    database_file,
    aws_session,
    now,
    key_calls,
):
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    off = start_bot(standin, database_file, aws_session, key_actions="off")
    off.click(ActionId.REACTIVATE, finding.id, **IN_DM)
    assert statuses("idle-key") == ["Active"], standin.said_to(OWNER)


def test_a_reactivated_key_is_not_found_again_at_once_with_a_fresh_report(
    standin, database_file, aws_session, now
):
    """Control: with reports generated when asked, a settled reactivation spares its key (the
    suite's own test of this passes whatever _reactivated_keys does: moto's report is dated
    2015, older than any removal, so `opening` refuses every reopening as stale)."""
    fresh_reports(aws_session)
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    set_fields(bot.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=29))
    bot.click(ActionId.REACTIVATE, finding.id, **IN_DM)
    assert statuses("idle-key") == ["Active"]
    bot.command("scan")
    assert _open_key_findings(bot, "idle-key") == []


def test_a_failed_reactivation_names_the_key_it_could_not_turn_back_on(
    standin, database_file, aws_session, now, monkeypatch
):
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    (key,) = keys_of("idle-key")

    def refuse(self, user_name, access_key_id, status=None):
        raise AccessDeniedError(f"arn:aws:iam::{DEMO_ACCOUNT_ID}:user/bot", "iam:UpdateAccessKey")

    monkeypatch.setattr(IAMBackend, "update_access_key", refuse)
    standin.clear()
    bot.click(ActionId.REACTIVATE, finding.id, **IN_DM)
    told = standin.said_to(OWNER)
    assert "Not reactivated" in told
    assert f"Access key `{key.access_key_id}`" in told, told
