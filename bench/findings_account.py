"""The account bench.findings_peers compares the tools on: named cases of the detection rule
(docs/detection-rule.md), each with the rule's expected verdict, seeded into moto and served
over HTTP from a process of its own, its credential report dated when asked.

    .venv/bin/python -m bench.findings_account   # seeds, prints its port, serves until stdin closes
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

CONSOLE_DAYS = 90
KEY_DAYS = 45
EXEMPT_TAG = "iam-inactive:exempt"  # the bot's default EXEMPT_TAG


@dataclass(frozen=True)
class Key:
    made: int  # days ago
    used: int | None  # days ago; None: never used
    active: bool = True


@dataclass(frozen=True)
class Case:
    """One IAM user of the account, and what the rule says of it."""

    user: str
    created: int  # days ago
    password_used: int | None | Literal[False]  # days ago; None: never used; False: none
    keys: tuple[Key, ...] = ()
    exempt: bool = False
    console: bool = False  # expected: the console password is a finding
    key: bool = False  # expected: an access key is idle
    because: str = ""


CASES = (
    Case("password-idle", 400, 200, console=True, because="password last used 200 days ago"),
    Case("password-idle-90", 400, 90, console=True, because="last used 90 days ago: inclusive"),
    Case("password-recent", 400, 10, because="password used 10 days ago"),
    Case(
        "password-never-used-old", 200, None, console=True, because="never used, set 200 days ago"
    ),
    Case("password-never-used-new", 10, None, because="never used, but set 10 days ago"),
    Case("no-password", 400, False, because="no console password, no key"),
    Case(
        "key-idle", 400, False, (Key(300, 100),), key=True, because="Active key used 100 days ago"
    ),
    Case(
        "key-idle-45", 400, False, (Key(300, 45),), key=True, because="used 45 days ago: inclusive"
    ),
    Case(
        "key-never-used-old",
        400,
        False,
        (Key(100, None),),
        key=True,
        because="never used, made 100 days ago",
    ),
    Case(
        "key-never-used-new", 400, False, (Key(10, None),), because="never used, made 10 days ago"
    ),
    Case("key-recent", 400, False, (Key(300, 5),), because="Active key used 5 days ago"),
    Case(
        "key-inactive",
        400,
        False,
        (Key(300, 200, active=False),),
        because="an Inactive key opens nothing",
    ),
    Case(
        "inactive-idle-active-recent",
        400,
        False,
        (Key(300, 200, active=False), Key(300, 5)),
        because="the idle key is Inactive, the Active one in use",
    ),
    Case(
        "password-and-key-idle",
        400,
        200,
        (Key(300, 100),),
        console=True,
        key=True,
        because="both idle: one finding carrying the key",
    ),
    Case(
        "password-recent-key-idle",
        400,
        10,
        (Key(300, 100),),
        key=True,
        because="password in use: the idle key is a finding of its own",
    ),
    Case("keys-only", 400, 200, (Key(300, 5),), console=True, because="idle password, key in use"),
    Case(
        "exempt",
        400,
        200,
        (Key(300, 100),),
        exempt=True,
        because=f"tagged {EXEMPT_TAG}: the bot's exemption",
    ),
)


# --- the server process: moto, seeded with the cases ---


def seed(now: datetime) -> None:
    """The cases, straight into moto's backend: dates set on its objects (the API has no way to
    say when a password or key was last used, or when a user or key was made)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    for case in CASES:
        tags = [{"Key": EXEMPT_TAG, "Value": "true"}] if case.exempt else None
        user = backend.create_user("us-east-1", case.user, tags=tags)
        user.create_date = now - timedelta(days=case.created)
        if case.password_used is not False:
            backend.create_login_profile(case.user, "Bench-password-1!")
            if case.password_used is not None:
                user.password_last_used = now - timedelta(days=case.password_used)  # type: ignore[assignment]
        for planned in case.keys:
            key = backend.create_access_key(case.user)
            key.create_date = now - timedelta(days=planned.made)
            if not planned.active:
                key.status = "Inactive"
            if planned.used is not None:
                key.last_used = AccessKeyLastUsed(
                    timestamp=now - timedelta(days=planned.used), service="s3", region="us-east-1"
                )


def report_generated_when_asked() -> None:
    """moto dates every credential report 2015-02-02 (a constant in its GetCredentialReport):
    Custodian takes a report over a day old as stale, asks for a new one and sleeps its
    report_delay (10 s) each run. AWS dates a report when it makes it: so does this server."""
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    answer = IamResponse.get_credential_report

    def dated_now(self: IamResponse) -> ActionResult:
        result = answer(self)
        fields = cast(dict[str, object], result.result)
        fields["GeneratedTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return result

    IamResponse.get_credential_report = dated_now  # type: ignore[method-assign]


def serve() -> None:
    """Seed, print the port, serve until standard input closes."""
    import logging

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    seed(datetime.now(UTC).replace(microsecond=0))  # AWS gives whole seconds
    report_generated_when_asked()
    # A report exists before any tool runs, as one does on AWS for 4 hours after it is made:
    # else the first tool to ask waits for it (Custodian sleeps its report_delay, 10 s).
    iam_backends[DEFAULT_ACCOUNT_ID]["global"].generate_report()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    serve()
