"""Which accounts `scan <account>` takes, known without asking AWS (bot.domain.scan): a typo is
refused before anything is recorded, and no account the bot scans is refused once a scan has
covered it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.home import LastScan
from bot.domain.scan import NOT_SCANNED, scannable_accounts
from bot.domain.settings import Settings

AT = datetime(2026, 6, 1, tzinfo=UTC)
MEMBER, OTHER_MEMBER, GONE = "111111111111", "222222222222", "999999999999"
LAST_SCANS = {
    MEMBER: LastScan(AT, "ok"),
    OTHER_MEMBER: LastScan(AT, "failed", error="AccessDenied"),  # a member all the same
    GONE: LastScan(AT, "failed", error=NOT_SCANNED),  # asked for, and not among the scanned
}


def test_with_role_arns_the_accounts_scanned_are_those_of_the_roles():
    settings = Settings(role_arns=(f"arn:aws:iam::{OTHER_MEMBER}:role/iam-inactive",))
    assert scannable_accounts(settings, LAST_SCANS) == {OTHER_MEMBER}
    assert scannable_accounts(settings, {}) == {OTHER_MEMBER}  # known before any scan


def test_in_an_organization_the_accounts_are_those_scans_covered_even_when_they_failed():
    """Members are found by discovery: any account a scan covered is one, whether or not it
    could be read, unless its latest scan found it no longer among those scanned."""
    organization = Settings(organization=True)
    assert scannable_accounts(organization, LAST_SCANS) == {MEMBER, OTHER_MEMBER}
    with_roles = Settings(organization=True, role_arns=(f"arn:aws:iam::{GONE}:role/x",))
    assert scannable_accounts(with_roles, LAST_SCANS) == {MEMBER, OTHER_MEMBER}  # discovery's


def test_before_the_first_scan_no_account_is_known_without_role_arns():
    assert scannable_accounts(Settings(), {}) == frozenset()
    assert scannable_accounts(Settings(organization=True), {}) == frozenset()
    assert scannable_accounts(Settings(), {MEMBER: LastScan(AT, "ok")}) == {MEMBER}
