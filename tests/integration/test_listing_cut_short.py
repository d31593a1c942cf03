"""A listing IAM cut short (GetAccountAuthorizationDetails answering IsTruncated without a
Marker) fails its account: botocore's paginator stops there without a word, and the users the
credential report lists but that page does not would seem deleted, their findings resolved."""

from __future__ import annotations

import io

import pytest
from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse
from sqlalchemy import select

from bot.aws.demo import DEMO_REGION, DemoUser, seed_users
from bot.entry import cli
from storage import models
from storage.db import make_engine
from storage.repository import Repository
from tests.integration.conftest import session_of

ALICE = DemoUser("alice", 400, password_used_days_ago=200)
ZED = DemoUser("zed", 400, password_used_days_ago=200)


def _truncated_without_marker(self: IamResponse) -> ActionResult:
    """The first user only, IsTruncated true, and no Marker to go on with."""
    details = self.backend.get_account_authorization_details(self._get_param("Filter", []))
    users = sorted(details["users"], key=lambda user: user.name)[:1]
    return ActionResult(
        {
            "UserDetailList": users,
            "GroupDetailList": details["groups"],
            "RoleDetailList": details["roles"],
            "Policies": details["managed_policies"],
            "IsTruncated": True,
        }
    )


def _findings(database_url):
    engine = make_engine(database_url)
    try:
        with session_of(Repository(engine)) as session:
            return {
                row.user_name: (row.state, row.resolution)
                for row in session.scalars(select(models.Finding))
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("fast", ["true", "false"])
def test_a_bulk_answer_truncated_without_a_marker_does_not_resolve_findings_as_deleted(
    aws_session, tmp_path, now, monkeypatch, fast
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", DEMO_REGION)
    seed_users(aws_session, (ALICE, ZED), now)
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    env = {"DATABASE_URL": database_url, "AWS_FAST_PARSING": fast}
    out, errors = io.StringIO(), io.StringIO()
    assert cli.scan(env, demo=False, output="json", source=None, stdout=out, stderr=errors) == 0
    assert set(_findings(database_url)) == {"alice", "zed"}

    monkeypatch.setattr(IamResponse, "get_account_authorization_details", _truncated_without_marker)
    out, errors = io.StringIO(), io.StringIO()
    code = cli.scan(env, demo=False, output="json", source=None, stdout=out, stderr=errors)

    findings = _findings(database_url)
    # zed still exists in IAM (and in the credential report): its finding must stay open
    assert findings["zed"][1] != "user deleted", (
        f"zed resolved as deleted from a truncated answer: {findings}; exit {code}; "
        f"stderr: {errors.getvalue()!r}"
    )
    # and the person is told the account could not be read in full (README: exit 1)
    assert code == 1, errors.getvalue()
