"""One account's IAM as the decision service sees it, in memory: the methods of
bot.aws.iam.AccountIam, for the decision service's fast tests (no HTTP, no moto)."""

from __future__ import annotations

from dataclasses import replace

from botocore.exceptions import ClientError

from bot.aws.iam import Deletion
from bot.domain.assessment import IamIdentity, LiveUser
from bot.domain.rule import UserCredentials


class FakeIam:
    """One account's IAM as the decision service sees it (the methods of bot.aws.iam.AccountIam)."""

    def __init__(self, *users: UserCredentials) -> None:
        self.users = {user.user_name: user for user in users}
        self.identities = {u.user_name: IamIdentity(f"AIDA{u.user_name.upper()}") for u in users}
        self.deleted: list[str] = []
        self.error: Exception | None = None  # raised by the next call, as AWS would

    def _answer(self) -> None:
        if self.error is not None:
            raise self.error

    def live_user(self, user_name: str) -> LiveUser | None:
        self._answer()
        user = self.users.get(user_name)
        return LiveUser(user, self.identities[user_name]) if user else None

    def user_id(self, user_name: str) -> str | None:
        self._answer()
        return self.identities[user_name].user_id if user_name in self.users else None

    def has_password(self, user_name: str) -> bool:
        self._answer()
        user = self.users.get(user_name)
        return bool(user and user.has_password)

    def before_each_request(self) -> None:
        """Never out of time: this IAM answers at once."""

    def delete_login_profile(self, user_name: str) -> Deletion:
        self._answer()
        existed = self.has_password(user_name)
        if existed:
            self.users[user_name] = replace(self.users[user_name], has_password=False)
            self.deleted.append(user_name)
        return Deletion(existed, f"request-{len(self.deleted)}")


def access_denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, operation)
