"""Idle keys through a scan and its recording (issue 23): moto's credential report, SQLite and
PostgreSQL. One open finding per key, rescans that update rather than repeat, and a key finding
that closes says why."""

from __future__ import annotations

from moto.iam.models import AccessKeyLastUsed, iam_backends

from bot.aws.demo import DEMO_ACCOUNT_ID, DemoKey, DemoUser, seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.rule import (
    IDLE_KEY,
    KEY_GONE,
    KEY_INACTIVE,
    KEY_USED_AGAIN,
    KEY_WITH_PASSWORD,
    USER_DELETED,
)
from bot.domain.settings import Settings
from bot.domain.workflow import State

TWO_IDLE = DemoUser("two-idle", 500, password_used_days_ago=2, keys=(DemoKey(100), DemoKey(None)))
ONLY_KEY = DemoUser("only-key", 500, password=False, keys=(DemoKey(60),))


def record(aws_session, repository, now):
    result = scan_accounts(Settings(), aws_session, clock=lambda: now)
    return repository.record_scan(result, "cli", dry_run=False)


def key_rows(repository, user_name):
    return [row for row in repository.findings_for_user(user_name) if row.key_created]


def made(key) -> object:
    """A moto key's creation as the credential report writes it: to the second."""
    return key.create_date.replace(microsecond=0)


def backend():
    return iam_backends[DEMO_ACCOUNT_ID]["global"]


def test_each_idle_key_is_one_finding_and_a_rescan_does_not_repeat_it(aws_session, repository, now):
    seed_users(aws_session, (TWO_IDLE, ONLY_KEY), now)
    first = record(aws_session, repository, now)
    assert sorted((row.user_name, row.category) for row in first.new) == [
        ("only-key", IDLE_KEY),
        ("two-idle", IDLE_KEY),
        ("two-idle", IDLE_KEY),
    ]
    created = sorted(row.key_created for row in key_rows(repository, "two-idle"))
    assert created == sorted(made(key) for key in backend().users["two-idle"].access_keys)
    again = record(aws_session, repository, now)
    assert again.new == [] and len(again.updated) == 3


def test_a_key_finding_that_closes_says_why(aws_session, repository, now):
    seed_users(aws_session, (TWO_IDLE, ONLY_KEY), now)
    record(aws_session, repository, now)
    used, stopped = backend().users["two-idle"].access_keys
    used.last_used = AccessKeyLastUsed(timestamp=now, service="s3", region="us-east-1")
    stopped.status = "Inactive"
    (gone,) = backend().users["only-key"].access_keys
    iam = aws_session.client("iam")
    iam.delete_access_key(UserName="only-key", AccessKeyId=gone.access_key_id)
    iam.delete_user(UserName="only-key")
    record(aws_session, repository, now)
    closed = {
        (row.user_name, row.key_created): (row.state, row.resolution)
        for user in ("two-idle", "only-key")
        for row in key_rows(repository, user)
    }
    assert closed == {
        ("two-idle", made(used)): (State.RESOLVED, KEY_USED_AGAIN.format(days=45)),
        ("two-idle", made(stopped)): (State.RESOLVED, KEY_INACTIVE),
        ("only-key", made(gone)): (State.RESOLVED, USER_DELETED),
    }


def test_a_key_deleted_while_its_user_stays_is_gone_and_one_riding_a_password_closes_its_own(
    aws_session, repository, now
):
    seed_users(aws_session, (TWO_IDLE,), now)
    record(aws_session, repository, now)
    first, second = backend().users["two-idle"].access_keys
    aws_session.client("iam").delete_access_key(
        UserName="two-idle", AccessKeyId=first.access_key_id
    )
    backend().users["two-idle"].password_last_used = now.replace(year=now.year - 1)  # idle now
    record(aws_session, repository, now)
    reasons = {row.key_created: row.resolution for row in key_rows(repository, "two-idle")}
    assert reasons == {made(first): KEY_GONE, made(second): KEY_WITH_PASSWORD}
    (password,) = [
        row for row in repository.findings_for_user("two-idle") if row.key_created is None
    ]
    assert password.state == State.OPEN
    assert [key["key_id"] for key in password.facts["idle_keys"]] == [None]  # from the report
