"""The integration layer's fixtures: a simulated AWS (moto), named user scenarios, databases,
the Slack stand-in and the whole bot behind its HTTP adapter.

Storage tests run on a SQLite file and, when the server answers, on PostgreSQL (each test in a
schema of its own that is dropped afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import boto3
import botocore.loaders
import botocore.session
import psycopg
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.application.services import nobody_to_wake
from bot.aws import fast
from bot.aws.accounts import client
from bot.aws.demo import DEMO_ACCOUNT_ID, DEMO_REGION, DemoKey, DemoUser, seed_users
from storage import models
from storage.db import make_engine, migrate
from storage.repository import Repository
from tests.support.bot_harness import APPROVER, CHANNEL, STRANGER, BotHarness, bot_settings
from tests.support.security_hub import keep_aws_rules
from tests.support.slack_standin import SlackStandIn

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# Named users: each is one situation the rule must get right (ages in days before now).
IDLE_DORMANT = DemoUser("idle-dormant", 400, password_used_days_ago=200)
NEVER_USED_OLD = DemoUser("never-used-old", 300)
KEYS_ONLY = DemoUser("keys-only", 500, password_used_days_ago=150, keys=(DemoKey(3),))
RECENT_LOGIN = DemoUser("recent-login", 500, password_used_days_ago=10)
NO_PASSWORD = DemoUser("no-password", 500, password=False, keys=(DemoKey(1),))
NEW_USER = DemoUser("new-user", 10)
EXEMPT = DemoUser("exempt", 500, password_used_days_ago=300, tags={"iam-inactive:exempt": "yes"})
OWNED = DemoUser(
    "owned", 500, password_used_days_ago=120, tags={"owner": "owner@example.com", "team": "x"}
)
SCENARIO = (
    IDLE_DORMANT,
    NEVER_USED_OLD,
    KEYS_ONLY,
    RECENT_LOGIN,
    NO_PASSWORD,
    NEW_USER,
    EXEMPT,
    OWNED,
)
SCENARIO_FINDINGS = {"idle-dormant", "never-used-old", "keys-only", "owned"}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    """The local Slack Web API: the owner of the `owned` user, and one who has left."""
    server = SlackStandIn(channels={CHANNEL: {APPROVER, STRANGER, "U0GROUPIE"}})
    server.add_user("U0OWNER", "owner@example.com")
    server.add_user("U0GONE", "gone@example.com", deleted=True)
    yield server
    server.stop()
    assert not server.problems, f"the bot sent what Slack refuses: {server.problems}"
    assert not server.unseen, f"the bot sent what Slack shows nobody: {server.unseen}"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


# botocore reads its service models (JSON) anew for every session, and every test has sessions
# of its own: one loader, whose cache every session shares, saves a sixth of a bot test's time.
_ONE_LOADER = botocore.loaders.create_loader()


@pytest.fixture(autouse=True, scope="session")
def _botocore_reads_its_models_once():
    with patch.object(botocore.session, "create_loader", lambda *_args: _ONE_LOADER):
        yield


@pytest.fixture
def aws_session(monkeypatch) -> Iterator[boto3.Session]:
    """A boto3 session talking to moto's in-process AWS, built as production builds its own
    (AWS_FAST_PARSING on; tests/integration/test_fast_parsing.py covers it off)."""
    for name in (
        "AWS_PROFILE",
        "AWS_ROLE_ARNS",
        "AWS_ORGANIZATION",
        "AWS_ORG_ROLE_NAME",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield fast.aws_session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=DEMO_REGION
        )


@pytest.fixture
def paged_list_users(monkeypatch) -> int:
    """Make moto page ListUsers (it returns one page by itself), 3 users a page."""
    page_size = 3

    def list_users(self: IamResponse) -> ActionResult:
        users = sorted(self.backend.list_users(None, None, None), key=lambda user: user.name)
        start = int(self._get_param("Marker") or 0)
        end = start + min(page_size, int(self._get_param("MaxItems") or 100))
        result = {"Users": users[start:end], "IsTruncated": end < len(users)}
        if end < len(users):
            result["Marker"] = str(end)
        return ActionResult(result)

    monkeypatch.setattr(IamResponse, "list_users", list_users)
    return page_size


def assumed(
    aws_session: boto3.Session, role_arn: str, *, as_the_bot: bool = False
) -> boto3.Session:
    """A session acting through the role `role_arn`; `as_the_bot`: built as the bot builds its
    base session (bot.aws.fast)."""
    answer = client(aws_session, "sts").assume_role(RoleArn=role_arn, RoleSessionName="seed")
    keys = answer["Credentials"]
    build = fast.aws_session if as_the_bot else boto3.Session
    return build(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=aws_session.region_name,
    )


class CallLog:
    """Counts IAM operations sent by clients of one session (a botocore hook)."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def __call__(self, model, **_kwargs) -> None:
        self.operations.append(model.name)

    def count(self, operation: str) -> int:
        return self.operations.count(operation)


@pytest.fixture
def iam_calls(aws_session) -> CallLog:
    log = CallLog()
    aws_session.events.register("before-call.iam", log)
    return log


def iam_error(code: str, status: int = 400) -> AWSResponse:
    """An IAM error response as AWS would send it, for before-send hooks."""
    body = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{code} (injected)</Message>"
        "</Error><RequestId>injected</RequestId></ErrorResponse>"
    ).encode()

    class Raw:
        def stream(self, **_kwargs) -> Iterator[bytes]:
            yield body

    return AWSResponse("https://iam.amazonaws.com/", status, {}, Raw())


def body_of(request) -> str:
    return request.body.decode() if isinstance(request.body, bytes) else request.body or ""


def fail_first(operation: str, code: str, times: int, status: int = 400) -> Callable:
    """A before-send hook answering `operation` with error `code` the first `times` calls.

    botocore still hands the request to moto's own before-send handler, which carries it out:
    use this for calls without side effects only.
    """
    remaining = {"n": times}

    def hook(request, **_kwargs):
        if f"Action={operation}" in body_of(request) and remaining["n"] > 0:
            remaining["n"] -= 1
            return iam_error(code, status)
        return None

    return hook


def _postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


POSTGRES_UP = _postgres_available()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        yield from _postgres_schema()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_schema()


def _postgres_schema() -> Iterator[str]:
    if not POSTGRES_UP:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL is not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def repository(database_url) -> Iterator[Repository]:
    engine = make_engine(database_url)
    migrate(engine)
    yield Repository(engine)
    engine.dispose()


def session_of(repository: Repository) -> Session:
    """A SQLAlchemy session on the repository's database, for tests that look underneath it."""
    return Session(repository.engine, expire_on_commit=False)


def set_fields(repository: Repository, finding_id: str, **fields: object) -> None:
    """Set up a situation directly in the database (for example, a request made days ago)."""
    with session_of(repository) as session, session.begin():
        row = session.get(models.Finding, finding_id)
        for name, value in fields.items():
            setattr(row, name, value)


def left_stuck(repository: Repository, finding_id: str, **fields: object) -> None:
    """The finding's last step (with these fields) an hour ago, past STUCK_AFTER_SECONDS: as a
    process that died mid-step left it, for the sweep to move on."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    set_fields(repository, finding_id, state_changed_at=an_hour_ago, **fields)


def job_runs(repository: Repository, job: str) -> list[models.JobRun]:
    with session_of(repository) as session:
        query = select(models.JobRun).where(models.JobRun.job == job)
        return list(session.scalars(query.order_by(models.JobRun.fire_time)))


def scans(repository: Repository) -> list[models.Scan]:
    """Recorded scans, newest first."""
    with session_of(repository) as session:
        return list(session.scalars(select(models.Scan).order_by(models.Scan.id.desc())))


# --- the whole bot, behind its HTTP adapter (tests/support/bot_harness.py) ------------------------

# The owner of this user has left the company (a deactivated Slack account).
LEFT = DemoUser("left-company", 500, password_used_days_ago=300, tags={"owner": "gone@example.com"})


@pytest.fixture
def database_file(database_url):
    """Every workflow test runs on a SQLite file and, when it answers, on PostgreSQL."""
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    return database_url


@pytest.fixture
def iam_calls_to_delete(aws_session):
    calls = []
    aws_session.events.register(
        "provide-client-params.iam.DeleteLoginProfile",
        lambda params, **_: calls.append(params["UserName"]),
    )
    return calls


@pytest.fixture
def key_calls(aws_session):
    """Each UpdateAccessKey and DeleteAccessKey the bot sends: (key id, status or "deleted")."""
    calls: list[tuple[str, str]] = []
    aws_session.events.register(
        "provide-client-params.iam.UpdateAccessKey",
        lambda params, **_: calls.append((params["AccessKeyId"], params["Status"])),
    )
    aws_session.events.register(
        "provide-client-params.iam.DeleteAccessKey",
        lambda params, **_: calls.append((params["AccessKeyId"], "deleted")),
    )
    return calls


_ENGINES = []


@pytest.fixture(autouse=True)
def _dispose_engines():
    """Close each test's connections (PostgreSQL has a connection limit)."""
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def start_bot(standin, database_url, session, **changes):
    settings = bot_settings(standin, database_url, **changes)
    engine = make_engine(database_url)
    _ENGINES.append(engine)
    return BotHarness.start(settings, Repository(engine), session, standin)


@pytest.fixture
def bot(standin, database_file, aws_session, now):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, RECENT_LOGIN, OWNED, LEFT), now)
    harness = start_bot(standin, database_file, aws_session)
    assert harness.command("scan").status_code == 200
    standin.clear()
    return harness


def has_password(user_name):
    return bool(iam_backends[DEMO_ACCOUNT_ID]["global"].users[user_name].password)


@pytest.fixture
def web(standin, database_file, aws_session, now):
    """The bot as a web worker: it queues scans and never runs one (no scanner of its own)."""
    seed_users(aws_session, (IDLE_DORMANT, OWNED), now)
    harness = start_bot(standin, database_file, aws_session)
    harness.repository.release_lease(harness.scanner.name, harness.scanner.holder)
    harness.services.scan_queued = nobody_to_wake
    return harness


@pytest.fixture
def security_hub(aws_session, monkeypatch) -> Any:
    """Security Hub enabled in the bot's own account, keeping AWS's rules."""
    keep_aws_rules(monkeypatch)
    securityhub = client(aws_session, "securityhub")
    securityhub.enable_security_hub()
    return securityhub


@pytest.fixture
def hub_bot(standin, database_file, aws_session, security_hub, now):
    seed_users(aws_session, (IDLE_DORMANT, KEYS_ONLY, RECENT_LOGIN, OWNED), now)
    harness = start_bot(standin, database_file, aws_session, security_hub=True)
    reply = harness.replies("scan")
    assert "Scan done" in reply and "Security Hub" not in reply
    return harness
