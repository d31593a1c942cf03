"""An answer of GetAccountAuthorizationDetails cut short (HTTP 200, the XML ends mid-way: a proxy
closing a chunked answer early) fails the account with one short line: botocore's parser error
quotes the whole body (users, tags, policy documents), which must not reach the terminal, the
log, the scan record or Slack."""

from __future__ import annotations

from collections.abc import Iterator

from botocore.awsrequest import AWSResponse

from bot.aws.demo import seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.settings import Settings
from tests.integration.conftest import IDLE_DORMANT, OWNED, body_of

PAGE = (
    '<GetAccountAuthorizationDetailsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
    "<GetAccountAuthorizationDetailsResult><UserDetailList>"
    + "".join(
        f"<member><UserName>user-{n}</UserName><Path>/</Path><Tags><member><Key>owner</Key>"
        f"<Value>person-{n}@example.com</Value></member></Tags></member>"
        for n in range(200)
    )
)  # ... and nothing more: the answer was cut here


def cut_short(times: int):
    left = {"n": times}

    def hook(request, **_kwargs):
        if "Action=GetAccountAuthorizationDetails" in body_of(request) and left["n"] > 0:
            left["n"] -= 1

            class Raw:
                def stream(self, **_kw) -> Iterator[bytes]:
                    yield PAGE.encode()

            return AWSResponse(request.url, 200, {}, Raw())
        return None

    return hook, left


def test_a_cut_short_answer_fails_the_account_with_one_short_line(aws_session, now):
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    hook, _left = cut_short(10_000)
    aws_session.events.register_first("before-send.iam", hook)
    result = scan_accounts(Settings(), aws_session, clock=lambda: now)
    assert result.status == "failed"
    error = result.accounts[0].error
    assert "\n" not in error and len(error) < 500, (
        f"the account's error is {error.count(chr(10)) + 1} lines, {len(error)} characters, "
        f"and carries AWS's answer: {error[:300]!r}..."
    )
    assert "person-7@example.com" not in error  # the answer's contents are not echoed
