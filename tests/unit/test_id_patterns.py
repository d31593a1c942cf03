"""Ids as people, buttons and settings carry them are taken whole and in ASCII: `$` also matches
before a final newline, and `\\d` and `\\w` take every script's digits and letters."""

from __future__ import annotations

import re

import pytest

from bot.domain.records import FINDING_ID
from bot.domain.rule import EMAIL_PATTERN, SLACK_USER_ID_PATTERN
from bot.domain.scan import ACCOUNT_ID
from bot.domain.settings import (
    ROLE_ARN_PATTERN,
    ROLE_NAME_PATTERN,
    SLACK_CHANNEL_PATTERN,
    SLACK_GROUP_ID_PATTERN,
    account_of_role,
)

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ROLE_ARN = "arn:aws:iam::123456789012:role/iam-inactive"

PATTERNS = [
    (ACCOUNT_ID, "123456789012"),
    (FINDING_ID, "0123456789abcdef0123456789abcdef"),
    (ROLE_ARN_PATTERN, ROLE_ARN),
    (ROLE_NAME_PATTERN, "iam-inactive_2"),
    (SLACK_USER_ID_PATTERN, "U0123ABC"),
    (SLACK_GROUP_ID_PATTERN, "S0123ABC"),
    (SLACK_CHANNEL_PATTERN, "C0123ABC"),
    (EMAIL_PATTERN, "owner@example.com"),
]
IDS = [
    "account",
    "finding",
    "role-arn",
    "role-name",
    "slack-user",
    "slack-group",
    "slack-channel",
    "email",
]


@pytest.mark.parametrize(("pattern", "good"), PATTERNS, ids=IDS)
def test_an_id_is_taken_whole_and_not_with_a_final_newline(pattern: re.Pattern[str], good: str):
    assert pattern.fullmatch(good)
    for bad in (good + "\n", good + " ", "\n" + good, good + good[-1] + "\n"):
        assert not pattern.fullmatch(bad), repr(bad)


@pytest.mark.parametrize(("pattern", "good"), PATTERNS[:-1], ids=IDS[:-1])  # not the email
def test_an_id_in_full_width_digits_is_not_taken(pattern: re.Pattern[str], good: str):
    """Typed with a CJK input method, `１２３` looks like an id and is none AWS or Slack knows."""
    assert not pattern.fullmatch(good.translate(FULLWIDTH))


@pytest.mark.parametrize("name", ["rôle", "роль", "role²"], ids=["accent", "cyrillic", "sup"])
def test_role_names_and_arns_take_only_what_iam_takes(name: str):
    """IAM's `\\w` is [A-Za-z0-9_]: a setting it would refuse stops start-up with its line."""
    assert not ROLE_NAME_PATTERN.fullmatch(name)
    assert not ROLE_ARN_PATTERN.fullmatch(f"arn:aws:iam::123456789012:role/{name}")


def test_the_account_of_a_configured_role_is_read_from_its_arn():
    assert account_of_role(ROLE_ARN) == "123456789012"
    assert account_of_role("arn:aws-us-gov:iam::210987654321:role/path/to/it") == "210987654321"
