"""Idle access keys (issue 23), the pure parts: the rule at its boundaries, what a scan concludes
of a user (the keys ride on its password's finding, or are findings of their own), the re-check
before a deactivation, the report's key columns, and the windows of Reactivate and deletion."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.domain.assessment import AccountKeys, IamIdentity, LiveUser, assess, recheck_key
from bot.domain.deadlines import deletion_due, reactivation_refusal
from bot.domain.report import parse_credential_report
from bot.domain.riding import carried
from bot.domain.rule import (
    DIFFERENT_USER,
    IDLE_KEY,
    KEY_GONE,
    KEY_INACTIVE,
    KEY_TOO_NEW,
    KEY_USED_AGAIN,
    KEY_WITH_PASSWORD,
    USER_DELETED,
    AccessKeyUse,
    Candidate,
    Cleared,
    Thresholds,
    UserCredentials,
    evaluate,
    key_verdict,
    same_key,
)
from bot.domain.settings import Settings
from bot.domain.workflow import State, disable_refusal
from tests.unit.test_report import AWS_REPORT

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
RULE = Thresholds(key_idle_days=45)
SETTINGS = Settings(thresholds=RULE)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def key(used: float | None, made: float = 400, active: bool = True) -> AccessKeyUse:
    return AccessKeyUse(
        active=active,
        last_used=None if used is None else ago(used),
        key_id=f"AKIA{made:016.0f}",
        created=ago(made),
    )


def user(*keys: AccessKeyUse, password_used: float | None = None, password: bool = True):
    return UserCredentials(
        account_id="123456789012",
        user_name="someone",
        arn="arn:aws:iam::123456789012:user/someone",
        created=ago(1000),
        has_password=password,
        password_last_used=None if password_used is None else ago(password_used),
        password_last_changed=ago(1000),
        keys=keys,
        user_id="AIDASOMEONE",
    )


@pytest.mark.parametrize(
    ("the_key", "verdict"),
    [
        (key(45), None),  # exactly KEY_IDLE_DAYS: idle
        (key(44.9), KEY_USED_AGAIN.format(days=45)),
        (key(None, made=45), None),  # never used, made that long ago
        (key(None, made=44.9), KEY_TOO_NEW.format(days=45)),
        (key(400, active=False), KEY_INACTIVE),
        (AccessKeyUse(active=True, last_used=None), KEY_TOO_NEW.format(days=45)),  # undated
    ],
)
def test_a_key_is_idle_when_active_and_unused_for_key_idle_days(the_key, verdict):
    assert key_verdict(the_key, NOW, RULE) == verdict


def test_a_key_is_named_by_when_it_was_made_to_the_second():
    made = key(100)
    assert same_key(made, made.created.replace(microsecond=123))
    assert not same_key(made, made.created + timedelta(seconds=1))
    assert not same_key(AccessKeyUse(active=True, last_used=None), None)


def assessed(person: UserCredentials, settings: Settings = SETTINGS, tags=None):
    identity = IamIdentity("AIDASOMEONE", tags or {})
    return assess(person, evaluate(person, NOW, settings.thresholds), identity, NOW, settings)


def test_a_fully_inactive_user_is_one_finding_carrying_its_idle_keys():
    stale, never = key(300, made=500), key(None, made=600)
    verdict = assessed(user(stale, never, password_used=200))
    (finding,) = verdict.findings
    assert finding.key is None and finding.idle_keys == (stale, never)
    assert finding.fully_inactive
    assert verdict.keys_cleared == dict.fromkeys((stale.created, never.created), KEY_WITH_PASSWORD)


def test_a_user_whose_password_is_in_use_has_a_finding_per_idle_key():
    idle, busy = key(120, made=500), key(1, made=300)
    verdict = assessed(user(idle, busy, password_used=3))
    (finding,) = verdict.findings
    assert (finding.category, finding.key, finding.days_idle) == (IDLE_KEY, idle, 120)
    assert not finding.fully_inactive  # a password and another key in use
    assert verdict.keys_cleared == {busy.created: KEY_USED_AGAIN.format(days=45)}
    assert verdict.cleared is not None


def test_a_key_of_a_user_without_password_or_other_key_in_use_is_fully_inactive():
    (finding,) = assessed(user(key(200), password=False)).findings
    assert finding.fully_inactive and finding.category == IDLE_KEY


def test_exemptions_apply_to_a_user_s_keys_and_idle_key_may_be_left_unreported():
    exempt = assessed(user(key(200), password=False), tags={"iam-inactive:exempt": "yes"})
    assert exempt.findings == [] and "exempt" in next(iter(exempt.keys_cleared.values()))
    unreported = replace(SETTINGS, categories=frozenset({"dormant", "keys_only"}))
    verdict = assessed(user(key(200), password_used=200), unreported)
    (finding,) = verdict.findings
    assert finding.idle_keys == ()  # not reported: not carried either
    assert "not reported" in next(iter(verdict.keys_cleared.values()))


def live(*keys: AccessKeyUse, user_id: str = "AIDASOMEONE", tags=None) -> LiveUser:
    return LiveUser(user(*keys, password=False), IamIdentity(user_id, tags or {}))


def test_the_recheck_wants_the_same_user_and_key_still_active_and_idle():
    idle = key(200)
    found = recheck_key(live(idle), "AIDASOMEONE", idle.created, NOW, SETTINGS)
    assert isinstance(found, tuple) and found[0] == idle and isinstance(found[1], Candidate)
    cases = {
        USER_DELETED: (None, "AIDASOMEONE"),
        DIFFERENT_USER: (live(idle, user_id="AIDAOTHER"), "AIDASOMEONE"),
        KEY_GONE: (live(key(200, made=10)), "AIDASOMEONE"),  # rotated: another key
        KEY_USED_AGAIN.format(days=45): (live(key(1)), "AIDASOMEONE"),
        KEY_INACTIVE: (live(key(200, active=False)), "AIDASOMEONE"),
    }
    for reason, (now_live, user_id) in cases.items():
        assert recheck_key(now_live, user_id, idle.created, NOW, SETTINGS) == Cleared(reason)
    exempt = recheck_key(
        live(idle, tags={"iam-inactive:exempt": "1"}), None, idle.created, NOW, SETTINGS
    )
    assert isinstance(exempt, Cleared) and "exempt" in exempt.reason


def test_the_report_names_each_key_by_its_creation_and_says_its_service():
    ann, _ben, cid = parse_credential_report(AWS_REPORT)
    assert [(k.created.year, k.last_used_service) for k in ann.keys] == [
        (2021, "s3"),
        (2021, "ec2"),
    ]
    assert cid.keys[0].created == datetime(2019, 5, 5, tzinfo=UTC)
    assert cid.keys[0].last_used_service is None  # N/A


def disabled(**fields) -> SimpleNamespace:
    base = {
        "state": State.DISABLED,
        "closed_at": ago(10),
        "deactivated_keys": [{"key_id": "AKIA1", "created": ago(400).isoformat()}],
        "key_created": ago(400),
    }
    return SimpleNamespace(**(base | fields))


def test_reactivate_is_offered_only_for_deactivated_keys_within_the_window():
    assert reactivation_refusal(disabled(), NOW, 30) is None
    assert "30 days" in reactivation_refusal(disabled(closed_at=ago(31)), NOW, 30)
    assert "nothing to reactivate" in reactivation_refusal(disabled(deactivated_keys=None), NOW, 30)


def test_keys_are_deleted_only_when_asked_and_the_time_has_come():
    assert not deletion_due(disabled(), NOW, None)
    assert not deletion_due(disabled(closed_at=ago(59)), NOW, 60)
    assert deletion_due(disabled(closed_at=ago(60)), NOW, 60)
    assert not deletion_due(disabled(closed_at=ago(90), state=State.REACTIVATED), NOW, 60)
    assert not deletion_due(disabled(closed_at=ago(90), deactivated_keys=[]), NOW, 60)


def test_disable_is_refused_on_a_key_while_key_actions_are_off():
    assert disable_refusal(disabled(), key_actions_on=True) is None
    assert "KEY_ACTIONS=off" in disable_refusal(disabled(), key_actions_on=False)
    assert disable_refusal(disabled(key_created=None), key_actions_on=False) is None


def riding_candidate(*keys: AccessKeyUse) -> Candidate:
    person = user(*keys, password_used=200)
    (finding,) = assessed(person).findings
    return finding


def test_idle_keys_ride_on_their_password_s_finding_unless_the_records_say_otherwise():
    first, second = key(300, made=500), key(200, made=600)
    password = riding_candidate(first, second)
    own = {k.created: replace(password, key=k, idle_keys=()) for k in (first, second)}

    def alone(_name, created):
        return own.get(created)

    name = password.user_name
    assert carried([password], alone, {}, {}, set()) == [password]  # nothing decided yet
    kept_key = carried([password], alone, {(name, first.created): State.KEPT}, {}, set())
    assert [c.idle_keys for c in kept_key] == [(second,), ()] and kept_key[1].key == first
    # The password kept when only `first` was shown: `second` is a finding of its own.
    kept_password = carried(
        [password], alone, {(name, None): State.KEPT}, {name: [first.created.isoformat()]}, set()
    )
    assert [c.idle_keys for c in kept_password] == [(first,), ()]
    assert kept_password[1].key == second
    spared = carried([password], alone, {}, {}, {(name, first.created)})
    assert [c.idle_keys for c in spared] == [(second,)]  # turned back on: not idle yet


def test_recording_asks_about_one_key_at_a_time():
    busy, idle = key(1, made=300), key(200, made=500)
    riding = user(busy, idle, password_used=200)
    other = key(2)
    verdicts = {"someone": assessed(riding)}
    keys = AccountKeys(verdicts, {"other": (other,)}, NOW, SETTINGS)
    assert keys.why_not_a_finding("someone", busy.created) == KEY_USED_AGAIN.format(days=45)
    assert keys.why_not_a_finding("someone", idle.created) == KEY_WITH_PASSWORD
    assert keys.why_not_a_finding("other", other.created) == KEY_USED_AGAIN.format(days=45)
    assert keys.why_not_a_finding("nobody", NOW) is None
    (password,) = verdicts["someone"].findings
    alone = keys.own_finding("someone", idle.created)
    assert (alone.key, alone.category, alone.owner) == (idle, IDLE_KEY, password.owner)
    assert keys.own_finding("someone", busy.created) is None  # not idle: rides on nothing
    assert keys.own_finding("other", other.created) is None
