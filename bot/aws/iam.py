"""Everything the bot asks IAM, in one place: the credential report, tags, live per-user facts,
removing a console password and (de)activating an access key. boto3 stays in bot/aws/.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from bot.aws.details import (
    BULK_PAGES,
    AwsManagedPolicies,
    CutShortListing,
    account_details,
    iam_pages,
)
from bot.domain.assessment import IamIdentity, LiveUser
from bot.domain.clock import as_utc
from bot.domain.paths import judge
from bot.domain.report import parse_credential_report
from bot.domain.rule import AccessKeyUse, Cleared, Thresholds, UserCredentials, evaluate

log = logging.getLogger(__name__)

# botocore's standard mode retries throttling and transient errors with jittered backoff.
MAX_ATTEMPTS = 8
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=32,
)
# One request to AWS waits at most this long before botocore gives it up (each retry is a
# request of its own, checked before it is sent: `before_each_request`).
LONGEST_REQUEST_SECONDS = int(CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout)
REPORT_NOT_READY = frozenset({"ReportInProgress", "ReportNotPresent", "ReportExpired"})
GLOBAL_REGION = "us-east-1"


class ReportTimeout(RuntimeError):
    """The credential report did not become ready in time."""


class AccountTimeout(RuntimeError):
    """An account's scan ran out of time (ACCOUNT_TIMEOUT_SECONDS)."""


@dataclass(frozen=True)
class CredentialReport:
    users: list[UserCredentials]
    generated_at: datetime | None


Answer = TypeVar("Answer")  # of an IAM call that may answer NoSuchEntity (`_unless_gone`)


# An error's line is at most this long: some carry AWS's whole answer (a parser's error quotes
# the page it could not read: users, tags, policy documents).
MAX_ERROR_LINE = 300


def describe_error(error: BaseException) -> str:
    """One readable line for an AWS failure, for people and for the scan record."""
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "(or run `python -m bot scan --demo` to try it without AWS)"
        )
    if isinstance(error, ResponseParserError):
        return "AWS's answer could not be read (cut short, or not what the call answers)"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        operation = error.operation_name or "AWS call"
        said = f"{operation} failed: {details.get('Code', 'Error')}: {details.get('Message', '')}"
    elif isinstance(error, BotoCoreError | ReportTimeout | AccountTimeout | CutShortListing):
        said = str(error)
    else:
        said = f"{type(error).__name__}: {error}"
    line = " ".join(said.split())
    return line if len(line) <= MAX_ERROR_LINE else line[: MAX_ERROR_LINE - 1] + "…"


def error_code(error: BaseException) -> str | None:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


# AWS failing on its side, by code (an answer may not carry its HTTP status).
SERVER_SIDE = frozenset(
    {"ServiceFailure", "ServiceUnavailable", "InternalFailure", "InternalError"}
)
# The codes of AWS asking to slow down (botocore's standard retry mode retries them first).
THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


def refused(error: BaseException) -> bool:
    """AWS answered with a refusal that waiting does not mend (AccessDenied, say): a 4xx that is
    not a throttle; not AWS failing on its side (5xx), nor a call that never reached it."""
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    server_side = status is not None and status >= 500 or error_code(error) in SERVER_SIDE
    return not server_side and error_code(error) not in THROTTLED


def fetch_credential_report(
    iam: Any,
    *,
    timeout: float = 300.0,
    first_delay: float = 0.05,
    max_delay: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
) -> CredentialReport:
    """Generate (or reuse) the account's credential report, wait for it, and parse it.

    AWS reuses a report for up to 4 hours, so its facts may be that old: act only after a live
    re-check (see `live_credentials`).
    """
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        if _generate_report(iam) == "COMPLETE":
            try:
                response = iam.get_credential_report()
            except ClientError as error:
                if error_code(error) not in REPORT_NOT_READY:
                    raise
                log.info("credential report not ready: %s", error_code(error))
            else:
                generated = response.get("GeneratedTime")
                return CredentialReport(parse_credential_report(response["Content"]), generated)
        if time.monotonic() + delay > deadline:
            raise ReportTimeout(f"credential report not ready after {timeout:.0f} s")
        sleep(delay)
        delay = min(delay * 2, max_delay)


def _generate_report(iam: Any) -> str:
    try:
        return iam.generate_credential_report()["State"]
    except ClientError as error:
        if error_code(error) != "LimitExceeded":
            raise
        log.info("credential report generation limited, waiting")
        return "LIMITED"


def identities_of_all_users(
    iam: Any, aws_policies: AwsManagedPolicies | None = None
) -> dict[str, IamIdentity]:
    """Every user's UserId, tags and privilege from GetAccountAuthorizationDetails (1,000
    entities a call): users, groups, roles and managed policies, since a user's privilege may
    come through any of them (bot.domain.paths judges the whole account at once).
    `aws_policies`: the AWS managed policies the scan has read so far (bot.aws.details)."""
    details, users = account_details(iam, aws_policies)
    verdicts = judge(details)
    return {
        user["UserName"]: _identity(
            user, verdicts[user["UserName"]].privileged, verdicts[user["UserName"]].why
        )
        for user in users
    }


def identity_of_user(iam: Any, user_name: str) -> IamIdentity | None:
    """One user's UserId and tags (GetUser), for teams that do not grant the bulk call; None if
    the user is gone."""
    user = _user(iam, user_name)
    return _identity(user) if user is not None else None


def _user(iam: Any, user_name: str) -> dict[str, Any] | None:
    """GetUser's answer; None if the user is gone."""
    return _unless_gone(lambda: iam.get_user(UserName=user_name)["User"], None)


def _unless_gone(call: Callable[[], Answer], gone: Answer) -> Answer:
    """`call`'s answer, or `gone` when IAM answers NoSuchEntity (the user, or what was asked of
    it, is not there)."""
    try:
        return call()
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return gone
        raise


def list_users(iam: Any) -> Iterator[dict[str, Any]]:
    for page in iam_pages(iam, "list_users", PaginationConfig=BULK_PAGES):
        yield from page.get("Users", [])


def credentials_from_api(
    iam: Any,
    account_id: str,
    user: dict[str, Any],
    *,
    prefilter: tuple[datetime, Thresholds] | None = None,
) -> UserCredentials:
    """A user's facts from live calls, starting from a ListUsers/GetUser item.

    With `prefilter` (now, thresholds), users the rule clears on the ListUsers facts alone (too
    new, or signed in recently) skip the per-user calls; their facts then assume a password.
    """
    name = user["UserName"]
    facts = UserCredentials(
        account_id=account_id,
        user_name=name,
        arn=user["Arn"],
        created=as_utc(user["CreateDate"]),  # always in IAM's answer
        has_password=True,
        password_last_used=_aware(user.get("PasswordLastUsed")),
        password_last_changed=None,
        user_id=user.get("UserId"),
    )
    keys = access_keys(iam, name)  # idle keys are findings whatever the password says
    if prefilter is not None and isinstance(evaluate(facts, *prefilter), Cleared):
        return replace(facts, keys=keys)
    profile = login_profile(iam, name)
    return replace(
        facts,
        has_password=profile is not None,
        password_last_changed=_aware(profile["CreateDate"]) if profile else None,
        keys=keys,
    )


def login_profile(iam: Any, user_name: str) -> dict[str, Any] | None:
    return _unless_gone(lambda: iam.get_login_profile(UserName=user_name)["LoginProfile"], None)


def access_keys(iam: Any, user_name: str) -> tuple[AccessKeyUse, ...]:
    """The user's access keys with their last use; none when the user is gone (with it its
    keys: a key recorded by id is then "already deleted", and a finding is not retried for
    ever on NoSuchEntity)."""
    pages = iam_pages(iam, "list_access_keys", UserName=user_name)
    listed: list[dict[str, Any]] = _unless_gone(
        lambda: [key for page in pages for key in page.get("AccessKeyMetadata", [])], []
    )
    return tuple(_key_use(iam, key) for key in listed)


def _key_use(iam: Any, key: dict[str, Any]) -> AccessKeyUse:
    key_id = key["AccessKeyId"]
    last_used = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
    return AccessKeyUse(
        active=key["Status"] == "Active",
        last_used=_aware(last_used.get("LastUsedDate")),
        key_id=key_id,
        # To the second, as the credential report names the key.
        created=_to_the_second(key.get("CreateDate")),
        last_used_service=_service(last_used.get("ServiceName")),
    )


def live_user(iam: Any, account_id: str, user_name: str) -> LiveUser | None:
    """The user right now: GetUser (UserId, tags), GetLoginProfile, keys; None if it is gone."""
    user = _user(iam, user_name)
    if user is None:
        return None
    return LiveUser(credentials_from_api(iam, account_id, user), _identity(user))


def scan_users_via_api(
    iam: Any, account_id: str, now: datetime, thresholds: Thresholds, concurrency: int
) -> list[UserCredentials]:
    """The per-user path: paginated ListUsers, then per-user calls with bounded concurrency."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="iam-user") as pool:
        return list(
            pool.map(
                lambda user: credentials_from_api(
                    iam, account_id, user, prefilter=(now, thresholds)
                ),
                list_users(iam),
            )
        )


@dataclass(frozen=True)
class Deletion:
    """What AWS answered DeleteLoginProfile: whether there was a password to remove, and the
    request id AWS gave the call (CloudTrail's `requestID`: the proof an auditor can follow)."""

    existed: bool
    request_id: str | None


def delete_login_profile(iam: Any, user_name: str) -> Deletion:
    """Remove the console password (`existed` False: there was none to remove)."""
    try:
        answer = iam.delete_login_profile(UserName=user_name)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return Deletion(False, _request_id(error.response))
        raise
    return Deletion(True, _request_id(answer))


def set_access_key_status(iam: Any, user_name: str, key_id: str, *, active: bool) -> str | None:
    """Deactivate (or reactivate) one access key; the request id AWS gave the call. Both are
    idempotent in AWS, so a retry after a lost answer does no harm."""
    status = "Active" if active else "Inactive"
    answer = iam.update_access_key(UserName=user_name, AccessKeyId=key_id, Status=status)
    return _request_id(answer)


def delete_access_key(iam: Any, user_name: str, key_id: str) -> str | None:
    """Delete one access key (KEY_DELETE_AFTER_DAYS only); the request id AWS gave the call.
    A key already gone counts as deleted."""
    return _unless_gone(
        lambda: _request_id(iam.delete_access_key(UserName=user_name, AccessKeyId=key_id)), None
    )


def _request_id(answer: dict[str, Any]) -> str | None:
    return (answer.get("ResponseMetadata") or {}).get("RequestId")


def _identity(
    user: dict[str, Any], privileged: bool | None = None, why: str | None = None
) -> IamIdentity:
    """Privilege is known (`privileged` not None) only from the bulk call's details."""
    tags = {tag["Key"]: tag["Value"] for tag in user.get("Tags", [])}
    created = _to_the_second(user.get("CreateDate"))
    return IamIdentity(user.get("UserId"), tags, privileged, why, created)


def _service(name: str | None) -> str | None:
    return None if name in (None, "N/A") else name


def _to_the_second(moment: datetime | None) -> datetime | None:
    return as_utc(moment).replace(microsecond=0) if moment else None


def _aware(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment else None


@dataclass(frozen=True)
class AccountIam:
    """What a decision needs of one account: the user's facts now, removing the password, and
    (de)activating its keys.

    The decision service reaches AWS only through this seam, so its tests can pass a fake."""

    client: Any
    account_id: str
    # What stops this client's requests (bot.aws.accounts.iam_in): asked before a step that
    # must not begin once it would stop them.
    before_each_request: Callable[[], None] = lambda: None

    def live_user(self, user_name: str) -> LiveUser | None:
        return live_user(self.client, self.account_id, user_name)

    def user_id(self, user_name: str) -> str | None:
        """The user's UserId (GetUser alone); None if it is gone."""
        user = _user(self.client, user_name)
        return None if user is None else user.get("UserId")

    def has_password(self, user_name: str) -> bool:
        return login_profile(self.client, user_name) is not None

    def delete_login_profile(self, user_name: str) -> Deletion:
        return delete_login_profile(self.client, user_name)

    def access_keys(self, user_name: str) -> tuple[AccessKeyUse, ...]:
        return access_keys(self.client, user_name)

    def set_access_key_status(self, user_name: str, key_id: str, *, active: bool) -> str | None:
        return set_access_key_status(self.client, user_name, key_id, active=active)

    def delete_access_key(self, user_name: str, key_id: str) -> str | None:
        return delete_access_key(self.client, user_name, key_id)
