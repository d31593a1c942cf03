"""Cold review of 411dfa3..HEAD: unit-level failing tests for rules changed in one place and
left as they were in another."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from bot.aws.iam import refused
from bot.domain.asff import Hub, document
from bot.domain.rule import exemption
from tests.unit.test_messages import NOW, row


def test_ignore_users_matches_iam_user_names_in_any_case_as_show_and_unkeep_do():
    """The fix made `show`/`unkeep` find `bob` for `Bob` because "IAM user names are unique
    without regard to case" (storage/repository.py findings_for_user). IGNORE_USERS, which
    names the same IAM users to exempt them, still compares exactly: `IGNORE_USERS=Bob` leaves
    IAM user `bob` reported and removable."""
    assert exemption("bob", {}, "iam-inactive:exempt", frozenset({"Bob"})) is not None


def test_security_hub_does_not_call_a_password_set_after_its_last_use_last_used_then():
    """rule.password_idle_since now counts a password set again from when it was set; asff still
    words days_idle as the last use whenever PasswordLastUsed is known."""
    finding = row(
        "ann",
        password_last_used=NOW - timedelta(days=400),
        password_last_changed=NOW - timedelta(days=100),
        days_idle=100,
    )
    sent = document(finding, Hub("111122223333", "us-east-1"), NOW)
    assert "was last used 100 days ago" not in sent["Description"]


@pytest.mark.parametrize("code", ["ServiceFailure", "ServiceUnavailable", "InternalFailure"])
def test_aws_failing_on_its_side_is_not_a_refusal_that_waiting_cannot_mend(code):
    """docs/operations.md: in `disabling` recovery "AWS not answering (or throttling) is waited
    for"; only a refusal (AccessDenied) fails the removal. `refused` takes any error code but
    throttles, so IAM's own 5xx (ServiceFailure, ...) fails the removal instead of waiting."""
    error = ClientError({"Error": {"Code": code, "Message": "x"}}, "GetLoginProfile")
    assert not refused(error)
