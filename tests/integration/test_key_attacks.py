"""Idle access keys under attack (issue 23): each test is a defect a hostile review found in the
key workflow, through the production HTTP path (moto, SQLite and PostgreSQL), now mended:
keys made in the same second, a lost record, keeps, reactivated keys riding again, DRY_RUN and
deletion, one key read from the report and from the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moto.iam.models import AccessKeyLastUsed, iam_backends

from bot.application.jobs import key_deletion_job
from bot.aws.demo import DEMO_ACCOUNT_ID, DemoKey, DemoUser, seed_users
from bot.domain.records import RecordsUnavailable, Surface
from bot.domain.rule import KEYS_SAME_SECOND
from bot.domain.workflow import Intent, State, person
from bot.slack.ids import ActionId
from tests.integration.conftest import has_password, left_stuck, scans, set_fields, start_bot
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
from tests.support.bot_harness import APPROVER, OWNER


def _same_second(user_name: str) -> None:
    """The user's keys all made in the same second (a script making two keys at once)."""
    keys = keys_of(user_name)
    for key in keys[1:]:
        key.create_date = keys[0].create_date


def test_two_idle_keys_made_in_the_same_second_break_no_scan_and_neither_is_acted_on(
    standin, database_file, aws_session, now
):
    twins = DemoUser(
        "twins", 500, password=False, keys=(DemoKey(200), DemoKey(300)), tags=OWNER_TAG
    )
    other = DemoUser("other", 500, password_used_days_ago=300)
    seed_users(aws_session, (twins, other), now)
    _same_second("twins")
    bot = start_bot(standin, database_file, aws_session)
    bot.command("scan")
    assert [scan.status for scan in scans(bot.repository)] == ["ok"]
    # Every other user's finding is recorded too; the twins, which the credential report
    # cannot tell apart, are one finding, and Disable acts on neither.
    assert len(bot.repository.findings_for_user("other")) == 1
    (finding,) = bot.repository.findings_for_user("twins")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel="D0OWNER")
    assert bot.repository.finding(finding.id).resolution == f"aborted: {KEYS_SAME_SECOND}"
    assert statuses("twins") == ["Active", "Active"]


def _backend_user(user_name: str):
    return iam_backends[DEMO_ACCOUNT_ID]["global"].users[user_name]


def test_riding_keys_deactivated_before_a_lost_record_can_still_be_reactivated(
    standin,
    database_file,
    aws_session,
    now,
    monkeypatch,
    key_calls,
):
    inactive = DemoUser(
        "whole", 600, password_used_days_ago=300, keys=(DemoKey(300),), tags=OWNER_TAG
    )
    bot = scanned_bot(standin, database_file, aws_session, now, inactive)
    (finding,) = bot.repository.findings_for_user("whole")
    recorded = bot.repository.transition
    lost = []

    def database_drops_at_the_record(finding_id, intent, *args, **kwargs):
        if intent == Intent.FINISH_REMOVAL and not lost:
            lost.append(intent)
            raise RecordsUnavailable("connection refused")
        return recorded(finding_id, intent, *args, **kwargs)

    monkeypatch.setattr(bot.repository, "transition", database_drops_at_the_record)
    disable_and_confirm(bot, finding.id)
    assert lost and not has_password("whole") and statuses("whole") == ["Inactive"]
    assert bot.repository.finding(finding.id).state == State.DISABLING
    left_stuck(bot.repository, finding.id)
    bot.services.decisions.sweep()
    settled = bot.repository.finding(finding.id)
    assert settled.state == State.DISABLED
    # The key the bot deactivated is on record as the bot's, so Reactivate can undo it.
    assert settled.deactivated_keys, settled.decision_note
    key_calls.clear()
    bot.click(ActionId.REACTIVATE, finding.id, **IN_DM)
    assert statuses("whole") == ["Active"]


def test_a_kept_key_is_not_deactivated_when_its_users_password_goes_idle(
    standin,
    database_file,
    aws_session,
    now,
    key_calls,
):
    keeper = DemoUser(
        "keeper", 600, password_used_days_ago=10, keys=(DemoKey(200),), tags=OWNER_TAG
    )
    bot = scanned_bot(standin, database_file, aws_session, now, keeper)
    key = key_finding(bot, "keeper")
    approver = person(APPROVER, Surface.CHANNEL)
    bot.services.decisions.keep(key.id, approver, "the nightly export uses it", 365)
    # Months later the console password is idle too.
    _backend_user("keeper").password_last_used = now - timedelta(days=200)
    bot.command("scan")
    assert bot.repository.finding(key.id).state == State.KEPT  # the keep still holds
    (password,) = [
        row for row in bot.repository.findings_for_user("keeper") if row.key_created is None
    ]
    assert password.facts["idle_keys"] == []  # the kept key does not ride on the password
    disable_and_confirm(bot, password.id)
    assert not has_password("keeper")
    assert statuses("keeper") == ["Active"] and key_calls == []


def test_a_reactivated_key_does_not_ride_on_a_password_finding_at_once(
    standin,
    database_file,
    aws_session,
    now,
    key_calls,
):
    back = DemoUser("back", 600, password_used_days_ago=80, keys=(DemoKey(200),), tags=OWNER_TAG)
    bot = scanned_bot(standin, database_file, aws_session, now, back)
    key = key_finding(bot, "back")
    disable_and_confirm(bot, key.id)
    bot.click(ActionId.REACTIVATE, key.id, **IN_DM)
    assert bot.repository.finding(key.id).state == State.REACTIVATED
    assert statuses("back") == ["Active"]
    # Ten days on the password passes CONSOLE_IDLE_DAYS (90): well within KEY_IDLE_DAYS (45).
    _backend_user("back").password_last_used = now - timedelta(days=100)
    bot.command("scan")
    (password,) = [
        row
        for row in bot.repository.findings_for_user("back")
        if row.key_created is None and row.closed_at is None
    ]
    assert password.facts["idle_keys"] == []


def test_dry_run_deletes_no_key(standin, database_file, aws_session, now, key_calls):
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    assert statuses("idle-key") == ["Inactive"]
    # The bot is restarted with DRY_RUN on (to try something out), two months later.
    dry = start_bot(standin, database_file, aws_session, key_delete_after_days=60, dry_run=True)
    set_fields(dry.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    key_calls.clear()
    key_deletion_job(dry.services)
    assert key_calls == [] and statuses("idle-key") == ["Inactive"]


def test_a_key_turned_back_on_in_iam_is_not_tried_for_deletion_on_every_run(
    standin,
    database_file,
    aws_session,
    now,
    key_calls,
):
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    (key,) = keys_of("idle-key")
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Active"
    )
    set_fields(bot.repository, finding.id, closed_at=datetime.now(UTC) - timedelta(days=61))
    key_deletion_job(bot.services)
    assert statuses("idle-key") == ["Active"]
    assert key_deletion_job(bot.services) == "keys of 0 findings deleted or tried"


def test_the_same_key_from_the_report_and_from_the_api_is_one_finding(
    standin, database_file, aws_session, now
):
    seed_users(aws_session, (IDLE_KEY,), now)
    keys_of("idle-key")[0].create_date += timedelta(microseconds=500_000)
    bot = start_bot(standin, database_file, aws_session)
    bot.command("scan")
    first = key_finding(bot, "idle-key")
    api = start_bot(standin, database_file, aws_session, scan_source="api")
    api.command("scan")
    assert [row.id for row in api.repository.findings_for_user("idle-key")] == [first.id]


def test_a_key_going_idle_under_a_kept_password_is_a_finding(
    standin, database_file, aws_session, now
):
    user = DemoUser("console", 600, password_used_days_ago=300, keys=(DemoKey(5),), tags=OWNER_TAG)
    bot = scanned_bot(standin, database_file, aws_session, now, user)
    (password,) = bot.repository.findings_for_user("console")
    assert password.facts["idle_keys"] == []  # the key was in use when the password was kept
    approver = person(APPROVER, Surface.CHANNEL)
    bot.services.decisions.keep(password.id, approver, "break-glass console login", 365)
    (key,) = keys_of("console")
    key.last_used = AccessKeyLastUsed(
        timestamp=now - timedelta(days=100), service="s3", region="us-east-1"
    )
    bot.command("scan")
    open_keys = [
        row
        for row in bot.repository.findings_for_user("console")
        if row.key_created is not None and row.closed_at is None
    ]
    assert len(open_keys) == 1  # the idle key is found, to be decided on its own
