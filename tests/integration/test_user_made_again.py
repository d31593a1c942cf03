"""A user deleted and made again under the same name after the credential report AWS still
serves (for up to 4 hours; Terraform replacing a user does exactly this): the report's row is
of the old user, IAM's identity of the new one, and the new user is not reported with the old
one's facts."""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse

from bot.aws.demo import DEMO_ACCOUNT_ID, DemoUser, seed_users
from bot.aws.scanner import scan_accounts
from bot.domain.settings import Settings

BOB = DemoUser("bob", 400, password_used_days_ago=200)


def test_a_user_recreated_since_the_report_is_not_reported_with_the_old_users_facts(
    aws_session, now, monkeypatch
):
    seed_users(aws_session, (BOB,), now)
    backend = iam_backends[DEMO_ACCOUNT_ID]["global"]
    backend.generate_report()
    report = backend.get_credential_report()  # as AWS generated it, and keeps serving it
    old_id = backend.users["bob"].id

    def the_report_generated_before(self: IamResponse) -> ActionResult:
        return ActionResult({"Content": report, "ReportFormat": "text/csv", "GeneratedTime": now})

    monkeypatch.setattr(IamResponse, "get_credential_report", the_report_generated_before)
    iam = aws_session.client("iam")
    iam.delete_login_profile(UserName="bob")
    iam.delete_user(UserName="bob")
    iam.create_user(UserName="bob", Tags=[{"Key": "owner", "Value": "new-owner@example.com"}])
    iam.create_login_profile(UserName="bob", Password="Brand-new-password-1!")
    new_id = backend.users["bob"].id
    assert new_id != old_id

    result = scan_accounts(Settings(), aws_session, clock=lambda: now)
    assert result.status == "ok", result.accounts[0].error
    wrong = [
        (f.user_name, f.user_id, f.days_idle, f.owner)
        for f in result.candidates
        if f.user_id == new_id
    ]
    assert wrong == [], (
        f"a user created minutes ago is reported idle with the deleted user's facts: {wrong}"
    )
