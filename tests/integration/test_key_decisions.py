"""Idle access keys end to end (issue 23): signed requests through the production adapter, moto,
SQLite and PostgreSQL. Deactivation takes the password's consent path and is undone by
Reactivate; each worst case leaves the key as it was and tells the person why."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from moto.core.exceptions import AccessDeniedError
from moto.iam.exceptions import IAMException
from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends

from bot.application.jobs import key_deletion_job
from bot.aws.demo import DEMO_ACCOUNT_ID, DemoKey, DemoUser, seed_users
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import has_password, left_stuck, set_fields, start_bot
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER

OWNER_TAG = {"owner": "owner@example.com"}
IDLE_KEY = DemoUser("idle-key", 500, password=False, keys=(DemoKey(200),), tags=OWNER_TAG)
# Console idle and both keys idle: the fully inactive user, one decision for all three.
INACTIVE = DemoUser(
    "inactive", 600, password_used_days_ago=300, keys=(DemoKey(300), DemoKey(None)), tags=OWNER_TAG
)
IN_DM = {"user": OWNER, "channel": "D0OWNER"}


@pytest.fixture
def key_bot(standin, database_file, aws_session, now):
    seed_users(aws_session, (IDLE_KEY, INACTIVE), now)
    harness = start_bot(standin, database_file, aws_session)
    assert harness.command("scan").status_code == 200
    standin.clear()
    return harness


def scanned_bot(standin, database_url, aws_session, now, *users: DemoUser, **settings):
    """The bot on these users, once a scan has found them (`settings`: Settings' fields)."""
    seed_users(aws_session, users, now)
    bot = start_bot(standin, database_url, aws_session, **settings)
    assert bot.command("scan").status_code == 200
    return bot


def keys_of(user_name: str) -> list:
    return iam_backends[DEMO_ACCOUNT_ID]["global"].users[user_name].access_keys


def statuses(user_name: str) -> list[str]:
    return [key.status for key in keys_of(user_name)]


def key_finding(bot, user_name: str):
    (finding,) = [
        row
        for row in bot.repository.findings_for_user(user_name)
        if row.key_created is not None and row.closed_at is None
    ]
    return finding


def disable_and_confirm(bot, finding_id: str) -> None:
    bot.click(ActionId.DISABLE, finding_id)
    bot.click(ActionId.OWNER_CONFIRM, finding_id, **IN_DM)


def deactivated(bot) -> str:
    finding = key_finding(bot, "idle-key")
    disable_and_confirm(bot, finding.id)
    return finding.id


def test_an_idle_key_is_deactivated_once_its_owner_confirms(key_bot, standin, key_calls):
    finding = key_finding(key_bot, "idle-key")
    (key,) = keys_of("idle-key")
    disable_and_confirm(key_bot, finding.id)
    done = key_bot.repository.finding(finding.id)
    assert done.state == State.DISABLED
    assert statuses("idle-key") == ["Inactive"]
    assert key_calls == [(key.access_key_id, "Inactive")]
    assert done.key_id == key.access_key_id
    assert done.deactivated_keys == [
        {"key_id": key.access_key_id, "created": done.deactivated_keys[0]["created"]}
    ]
    assert [action for action, _actor, _reason in key_bot.actions_of(done)][-3:] == [
        "owner_confirmed",
        "disabling",
        "disabled",
    ]
    assert f"Access key `{key.access_key_id}` of `idle-key` deactivated" in standin.said_to(OWNER)
    # Reactivate is offered where the decision was made: the channel's line and the owner's DM.
    updated = [call for call in standin.named("chat.update") if call.answer.get("ok")]
    assert {
        call.params["channel"] for call in updated if ActionId.REACTIVATE in call.text_of_blocks()
    } >= {CHANNEL, "D0OWNER"}


def test_the_owner_reactivates_from_their_home(key_bot, standin, key_calls):
    finding_id = deactivated(key_bot)
    key_bot.open_home(OWNER)
    assert ActionId.REACTIVATE in json.dumps(key_bot.home_of(OWNER))
    key_calls.clear()
    key_bot.home_click(ActionId.REACTIVATE, finding_id, OWNER)
    assert key_bot.repository.finding(finding_id).state == State.REACTIVATED
    assert statuses("idle-key") == ["Active"] and len(key_calls) == 1


def test_a_fully_inactive_user_is_one_decision(key_bot, key_calls):
    findings = key_bot.repository.findings_for_user("inactive")
    assert [row.key_created for row in findings] == [None]  # the keys ride on the password's
    (finding,) = findings
    assert len(finding.facts["idle_keys"]) == 2
    disable_and_confirm(key_bot, finding.id)
    done = key_bot.repository.finding(finding.id)
    assert done.state == State.DISABLED
    assert not has_password("inactive")
    assert statuses("inactive") == ["Inactive", "Inactive"]
    assert sorted(key_calls) == sorted((k.access_key_id, "Inactive") for k in keys_of("inactive"))
    assert len(done.deactivated_keys) == 2


def test_reactivate_turns_the_keys_back_on_and_a_rescan_leaves_them(key_bot, standin, key_calls):
    finding_id = deactivated(key_bot)
    key_calls.clear()
    key_bot.click(ActionId.REACTIVATE, finding_id, **IN_DM)
    done = key_bot.repository.finding(finding_id)
    assert done.state == State.REACTIVATED
    assert statuses("idle-key") == ["Active"]
    assert key_calls == [(keys_of("idle-key")[0].access_key_id, "Active")]
    assert "Reactivated" in standin.said_to(OWNER)
    key_bot.command("scan")  # its last use is as old as before: not found idle again at once
    assert [row.id for row in key_bot.repository.findings_for_user("idle-key")] == [finding_id]


def test_reactivate_after_the_window_is_refused_and_changes_nothing(key_bot, standin, key_calls):
    finding_id = deactivated(key_bot)
    set_fields(key_bot.repository, finding_id, closed_at=datetime.now(UTC) - timedelta(days=31))
    key_calls.clear()
    standin.clear()
    key_bot.click(ActionId.REACTIVATE, finding_id, **IN_DM)
    assert key_bot.repository.finding(finding_id).state == State.DISABLED
    assert statuses("idle-key") == ["Inactive"] and key_calls == []
    assert "30 days after the bot deactivated them" in standin.said_to(OWNER)


def test_a_stranger_cannot_reactivate(key_bot, standin, key_calls):
    finding_id = deactivated(key_bot)
    key_calls.clear()
    key_bot.click(ActionId.REACTIVATE, finding_id, user="U0STRANGER", channel="D0STRANGER")
    assert key_bot.repository.finding(finding_id).state == State.DISABLED
    assert statuses("idle-key") == ["Inactive"] and key_calls == []


def test_a_key_used_again_before_the_recheck_is_left_and_the_person_told(
    key_bot, standin, key_calls
):
    finding = key_finding(key_bot, "idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    used_now = AccessKeyLastUsed(timestamp=datetime.now(UTC), service="s3", region="us-east-1")
    keys_of("idle-key")[0].last_used = used_now  # used meanwhile
    key_bot.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    done = key_bot.repository.finding(finding.id)
    assert done.state == State.ABORTED
    assert statuses("idle-key") == ["Active"] and key_calls == []
    assert "access key used in the last 45 days" in standin.said_to(OWNER)


def test_a_key_rotated_meanwhile_is_left_and_the_new_one_untouched(key_bot, aws_session, key_calls):
    finding = key_finding(key_bot, "idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    iam = aws_session.client("iam")
    old = keys_of("idle-key")[0].access_key_id
    iam.create_access_key(UserName="idle-key")
    iam.delete_access_key(UserName="idle-key", AccessKeyId=old)
    key_calls.clear()  # the test's own calls
    key_bot.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    done = key_bot.repository.finding(finding.id)
    assert done.state == State.ABORTED and "deleted or rotated" in done.resolution
    assert statuses("idle-key") == ["Active"] and key_calls == []


def delete_user(aws_session, user_name: str) -> None:
    """Someone deletes the IAM user (its keys first, as IAM requires)."""
    iam = aws_session.client("iam")
    for key in keys_of(user_name):
        iam.delete_access_key(UserName=user_name, AccessKeyId=key.access_key_id)
    iam.delete_user(UserName=user_name)


def test_a_user_deleted_and_made_again_is_another_user(key_bot, aws_session, now, key_calls):
    finding = key_finding(key_bot, "idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    delete_user(aws_session, "idle-key")
    iam = aws_session.client("iam")
    seed_users(aws_session, (DemoUser("idle-key-2", 500),), now)  # keeps moto's ids moving
    iam.create_user(UserName="idle-key", Tags=[{"Key": "owner", "Value": "owner@example.com"}])
    key_calls.clear()  # the test's own calls
    key_bot.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    done = key_bot.repository.finding(finding.id)
    assert done.state == State.ABORTED
    assert key_calls == []


class Throttled(IAMException):
    code = "Throttling"
    message = "Rate exceeded"


@pytest.mark.filterwarnings("ignore:Exception\\(Throttled\\):UserWarning")  # not in IAM's model
@pytest.mark.parametrize("code", ["AccessDenied", "Throttling"])
def test_aws_refusing_the_deactivation_fails_it_and_tells_the_person(
    key_bot, standin, monkeypatch, code
):
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda *_: 0)
    sent = []

    # moto's own refusals (a botocore hook cannot fake these: moto would still carry them out).
    def refuse(self, user_name, access_key_id, status=None):
        sent.append(access_key_id)
        if code == "Throttling":
            raise Throttled()
        raise AccessDeniedError(f"arn:aws:iam::{DEMO_ACCOUNT_ID}:user/bot", "iam:UpdateAccessKey")

    monkeypatch.setattr(IAMBackend, "update_access_key", refuse)
    finding = key_finding(key_bot, "idle-key")
    disable_and_confirm(key_bot, finding.id)
    failed = key_bot.repository.finding(finding.id)
    assert failed.state == State.FAILED and code in failed.decision_note
    assert statuses("idle-key") == ["Active"]
    assert len(sent) == (8 if code == "Throttling" else 1)  # botocore retried throttling only
    assert code in standin.said_to(OWNER)
    # Nothing is stuck: the approver may decide again.
    assert key_bot.click(ActionId.DISABLE, finding.id).status_code == 200
    assert key_bot.repository.finding(finding.id).state == State.AWAITING_OWNER


def test_two_approvers_reactivating_at_once_make_one_call(
    standin, database_file, aws_session, now, key_calls
):
    seed_users(aws_session, (IDLE_KEY,), now)
    approvers = frozenset({APPROVER, "U0SECOND"})
    key_bot = start_bot(standin, database_file, aws_session, slack_approvers=approvers)
    key_bot.command("scan")
    standin.add_user("U0SECOND", "second@example.com")
    finding_id = deactivated(key_bot)
    key_calls.clear()
    start = threading.Barrier(2)

    def reactivate(user: str) -> None:
        start.wait()
        key_bot.click(ActionId.REACTIVATE, finding_id, user=user)

    threads = [threading.Thread(target=reactivate, args=(u,)) for u in (APPROVER, "U0SECOND")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert key_bot.repository.finding(finding_id).state == State.REACTIVATED
    assert len(key_calls) == 1 and statuses("idle-key") == ["Active"]


def crashed_while_deactivating(bot, finding_id: str, key_id: str, dry_run: bool = False) -> None:
    """Recorded as under way (`disabling`, its key id known), its process gone an hour ago."""
    left_stuck(
        bot.repository,
        finding_id,
        state=State.DISABLING,
        key_id=key_id,
        requested_dry_run=dry_run,
    )


def test_a_deactivation_a_crash_cut_short_is_settled_once_by_the_sweep(key_bot, key_calls):
    finding = key_finding(key_bot, "idle-key")
    (key,) = keys_of("idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    crashed_while_deactivating(key_bot, finding.id, key.access_key_id)
    key_bot.services.decisions.sweep()
    key_bot.services.decisions.sweep()
    assert key_bot.repository.finding(finding.id).state == State.DISABLED
    assert key_calls == [(key.access_key_id, "Inactive")]


def test_a_deactivation_carried_out_before_the_crash_is_recorded_without_a_second_call(
    key_bot, aws_session, key_calls
):
    finding = key_finding(key_bot, "idle-key")
    (key,) = keys_of("idle-key")
    key_bot.click(ActionId.DISABLE, finding.id)
    aws_session.client("iam").update_access_key(
        UserName="idle-key", AccessKeyId=key.access_key_id, Status="Inactive"
    )
    key_calls.clear()
    crashed_while_deactivating(key_bot, finding.id, key.access_key_id)
    key_bot.services.decisions.sweep()
    done = key_bot.repository.finding(finding.id)
    assert done.state == State.DISABLED and done.deactivated_keys
    assert key_calls == []


def test_dry_run_covers_keys(standin, database_file, aws_session, now, key_calls):
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, INACTIVE, dry_run=True)
    for finding in (key_finding(bot, "idle-key"), bot.repository.findings_for_user("inactive")[0]):
        disable_and_confirm(bot, finding.id)
        assert bot.repository.finding(finding.id).state == State.DISABLED
    assert key_calls == [] and has_password("inactive")
    assert statuses("idle-key") == ["Active"] and statuses("inactive") == ["Active", "Active"]


def test_key_actions_off_offers_no_deactivation(
    standin, database_file, aws_session, now, key_calls
):
    bot = scanned_bot(
        standin, database_file, aws_session, now, IDLE_KEY, INACTIVE, key_actions="off"
    )
    finding = key_finding(bot, "idle-key")
    bot.click(ActionId.DISABLE, finding.id)
    assert bot.repository.finding(finding.id).state == State.OPEN
    password = bot.repository.findings_for_user("inactive")[0]
    disable_and_confirm(bot, password.id)
    assert not has_password("inactive") and statuses("inactive") == ["Active", "Active"]
    assert key_calls == []


def test_keys_left_inactive_are_deleted_after_key_delete_after_days(
    standin, database_file, aws_session, now, key_calls
):
    bot = scanned_bot(standin, database_file, aws_session, now, IDLE_KEY, key_delete_after_days=60)
    finding_id = deactivated(bot)
    key_id = keys_of("idle-key")[0].access_key_id
    key_calls.clear()
    assert key_deletion_job(bot.services) == "keys of 0 findings deleted or tried"  # not due
    assert key_calls == []
    set_fields(bot.repository, finding_id, closed_at=datetime.now(UTC) - timedelta(days=61))
    assert key_deletion_job(bot.services) == "keys of 1 findings deleted or tried"
    assert bot.repository.finding(finding_id).state == State.KEYS_DELETED
    assert keys_of("idle-key") == [] and key_calls == [(key_id, "deleted")]


def test_a_key_found_idle_after_the_request_is_not_deactivated_with_it(
    standin, database_file, aws_session, now, key_calls
):
    """Consent is for what the people were shown when asked."""
    later = DemoUser(
        "later", 600, password_used_days_ago=300, keys=(DemoKey(300), DemoKey(10)), tags=OWNER_TAG
    )
    bot = scanned_bot(standin, database_file, aws_session, now, later)
    (finding,) = bot.repository.findings_for_user("later")
    bot.click(ActionId.DISABLE, finding.id)
    shown, busy = keys_of("later")
    busy.last_used = AccessKeyLastUsed(
        timestamp=now - timedelta(days=100), service="s3", region="us-east-1"
    )
    bot.command("scan")  # now both ride on the finding
    assert len(bot.repository.finding(finding.id).facts["idle_keys"]) == 2
    bot.click(ActionId.OWNER_CONFIRM, finding.id, **IN_DM)
    assert bot.repository.finding(finding.id).state == State.DISABLED
    assert key_calls == [(shown.access_key_id, "Inactive")]
    assert statuses("later") == ["Inactive", "Active"]
