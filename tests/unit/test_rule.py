"""The detection rule at every boundary (docs/detection-rule.md), called directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.rule import (
    DORMANT,
    KEYS_ONLY,
    NO_PASSWORD,
    AccessKeyUse,
    Candidate,
    Cleared,
    Thresholds,
    UserCredentials,
    evaluate,
    exemption,
    owner_of,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RULE = Thresholds(idle_days=90, key_recent_days=45)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def user(
    *,
    created: float = 1000,
    password: bool = True,
    used: float | None = None,
    changed: float | None = None,
    keys: tuple[AccessKeyUse, ...] = (),
) -> UserCredentials:
    return UserCredentials(
        account_id="123456789012",
        user_name="someone",
        arn="arn:aws:iam::123456789012:user/someone",
        created=ago(created),
        has_password=password,
        password_last_used=None if used is None else ago(used),
        password_last_changed=ago(changed if changed is not None else created),
        keys=keys,
    )


def active_key(days: float | None) -> AccessKeyUse:
    return AccessKeyUse(active=True, last_used=None if days is None else ago(days))


def inactive_key(days: float | None) -> AccessKeyUse:
    return AccessKeyUse(active=False, last_used=None if days is None else ago(days))


def finding(facts: UserCredentials) -> Candidate:
    verdict = evaluate(facts, NOW, RULE)
    assert isinstance(verdict, Candidate), verdict
    return verdict


def cleared(facts: UserCredentials) -> str:
    verdict = evaluate(facts, NOW, RULE)
    assert isinstance(verdict, Cleared), verdict
    return verdict.reason


@pytest.mark.parametrize(("days", "idle"), [(89, False), (90, True), (91, True)])
def test_password_idle_from_90_days_inclusive(days, idle):
    verdict = evaluate(user(used=days), NOW, RULE)
    assert isinstance(verdict, Candidate) is idle
    if idle:
        assert verdict.days_idle == days


@pytest.mark.parametrize(("days", "old_enough"), [(89, False), (90, True), (91, True)])
def test_user_must_be_created_90_or_more_days_ago(days, old_enough):
    verdict = evaluate(user(created=days, used=None), NOW, RULE)
    assert isinstance(verdict, Candidate) is old_enough


def test_brand_new_user_who_never_signed_in_is_not_a_finding():
    # The original procedure's `A && B || C` lists this user; the rule must not.
    assert "created in the last 90 days" in cleared(user(created=1, used=None))


@pytest.mark.parametrize(("days", "idle"), [(89, False), (90, True), (91, True)])
def test_never_used_password_counts_from_when_it_was_set(days, idle):
    facts = user(created=500, used=None, changed=days)
    verdict = evaluate(facts, NOW, RULE)
    assert isinstance(verdict, Candidate) is idle
    if idle:
        assert verdict.days_idle == days
    else:
        assert verdict.reason == "password set in the last 90 days"


@pytest.mark.parametrize(("days", "idle"), [(89, False), (90, True), (91, True)])
def test_a_password_set_again_after_its_last_use_counts_from_when_it_was_set(days, idle):
    # PasswordLastUsed outlives a removed password: the old one's last use says nothing of this.
    verdict = evaluate(user(created=500, used=200, changed=days), NOW, RULE)
    assert isinstance(verdict, Candidate) is idle
    if idle:
        assert verdict.days_idle == days
    else:
        assert verdict.reason == "password set in the last 90 days"


def test_a_password_used_after_it_was_set_counts_from_its_last_use():
    assert finding(user(created=500, used=120, changed=300)).days_idle == 120


def test_no_password_is_never_a_finding_even_with_an_old_last_use():
    # PasswordLastUsed survives password removal.
    assert cleared(user(password=False, used=400)) == NO_PASSWORD


@pytest.mark.parametrize(("days", "category"), [(44, KEYS_ONLY), (45, KEYS_ONLY), (46, DORMANT)])
def test_active_key_used_in_last_45_days_inclusive_makes_keys_only(days, category):
    assert finding(user(used=200, keys=(active_key(days),))).category == category


def test_no_keys_is_dormant_and_fully_inactive():
    result = finding(user(used=200))
    assert (result.category, result.fully_inactive) == (DORMANT, True)


def test_never_used_key_is_dormant_and_fully_inactive():
    result = finding(user(used=200, keys=(active_key(None),)))
    assert (result.category, result.fully_inactive) == (DORMANT, True)


def test_two_keys_one_recent_is_keys_only():
    result = finding(user(used=200, keys=(active_key(300), active_key(5))))
    assert (result.category, result.fully_inactive) == (KEYS_ONLY, False)


def test_inactive_key_used_recently_does_not_make_keys_only():
    result = finding(user(used=200, keys=(inactive_key(5),)))
    assert result.category == DORMANT
    assert result.fully_inactive is False  # a credential was still used in the last 90 days


@pytest.mark.parametrize(("days", "fully"), [(89, False), (90, True), (91, True)])
def test_fully_inactive_when_no_credential_used_in_90_days(days, fully):
    assert finding(user(used=200, keys=(active_key(days),))).fully_inactive is fully


def test_thresholds_come_from_settings():
    strict = Thresholds(idle_days=30, key_recent_days=7)
    assert isinstance(evaluate(user(used=31, keys=(active_key(8),)), NOW, strict), Candidate)
    assert evaluate(user(used=31, keys=(active_key(8),)), NOW, strict).category == DORMANT
    assert isinstance(evaluate(user(used=31), NOW, RULE), Cleared)


def test_exemption_by_tag_and_ignore_list():
    tag = "iam-inactive:exempt"
    assert exemption("a", {tag: "break-glass"}, tag, ()) == f"exempt: tag {tag}"
    assert exemption("a", {tag: "false"}, tag, ()) is None
    assert exemption("a", {}, tag, {"a"}) == "exempt: in IGNORE_USERS"
    assert exemption("a", {"other": "x"}, tag, {"b"}) is None


def test_owner_from_first_usable_tag_then_email_user_name():
    keys = ("owner", "contact")
    assert owner_of("x", {"owner": "ann@example.com"}, keys) == "ann@example.com"
    assert owner_of("x", {"owner": "U0ABC123"}, keys) == "U0ABC123"
    assert owner_of("x", {"owner": "team a", "contact": "W0XYZ9"}, keys) == "W0XYZ9"
    assert owner_of("bo@example.com", {}, keys) == "bo@example.com"
    assert owner_of("bo", {"owner": ""}, keys) is None


def test_ignore_users_names_iam_users_in_any_case():
    # IAM user names are unique without regard to case, as `show` and `unkeep` read them.
    assert exemption("bob", {}, "iam-inactive:exempt", frozenset({"Bob"})) is not None
