"""What a decision's step in AWS comes to, for the people told of it, and what AWS is asked of a
password around its removal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.aws.iam import LONGEST_REQUEST_SECONDS, AccountIam, describe_error, refused
from bot.domain.clock import Clock
from bot.domain.records import FindingView, RecordsUnavailable
from bot.domain.settings import Settings
from bot.domain.workflow import may_have_acted
from bot.slack.messages.text import literal

log = logging.getLogger(__name__)

MAX_ERROR = 500  # of an AWS error message, in the line people are told


class RemovedUnrecorded(RecordsUnavailable):
    """AWS carried the step out but the database failed before it was recorded (the sweep
    records it once the database is back: the finding is left in `disabling`)."""

    def __init__(
        self,
        user_name: str,
        stuck_after_seconds: int,
        credential: str = "console password",  # mrkdwn: what came from AWS in code spans
        done: str = "removed",
    ) -> None:
        minutes = sweep_minutes(stuck_after_seconds)
        super().__init__(
            f"The {credential} of {literal(user_name)} was {done} in AWS, but the bot's database "
            f"became unavailable before it was recorded; the bot records it within about "
            f"{minutes} minutes."
        )


# IAM in an account, sending no request once `before_each_request` raises (bot.aws.accounts).
IamForAccount = Callable[[str, Callable[[], None]], AccountIam]


class StillUnderWay(BaseException):
    """A removal (a reactivation, a deletion) out of time to act: it sends AWS nothing more and
    leaves the finding in its transient state, which the sweep settles from what AWS shows. A
    BaseException, so that no `except Exception` on the way records it as a failure."""


def sweep_minutes(stuck_after_seconds: int) -> int:
    return -(-stuck_after_seconds // 60) + 5  # the stuck time, then the next sweep


def iam_in_time(
    iam_for_account: IamForAccount, account_id: str, clock: Clock, settings: Settings
) -> AccountIam:
    """IAM for one removal (a reactivation, a deletion) beginning now, right after its step:
    it sends AWS no request once the sweep may take the finding over (STUCK_AFTER_SECONDS after
    that step, less two requests' longest wait), so that the two never act at once:
    StillUnderWay instead."""
    # One request may be under way at the deadline, and what it did must be recorded before the
    # sweep may act: two requests' longest wait.
    deadline = clock() + timedelta(
        seconds=settings.stuck_after_seconds - 2 * LONGEST_REQUEST_SECONDS
    )

    def in_time() -> None:
        if clock() >= deadline:
            raise StillUnderWay()

    return iam_for_account(account_id, in_time)


@dataclass(frozen=True)
class Removal:
    finding: FindingView
    summary: str  # one line for people, in mrkdwn: what came from AWS is in code spans
    ask_new_owner: bool = False  # the re-check found another owner, whose consent is needed


def left_to_the_sweep(finding: FindingView, settings: Settings) -> Removal:
    """A removal out of time (StillUnderWay), as the people are told of it: `finding` as it
    now stands."""
    return Removal(
        finding,
        f"AWS is answering slowly, so the step on {literal(finding.user_name)} is not finished "
        f"yet. Nothing is lost: the bot finishes it from what AWS shows within about "
        f"{sweep_minutes(settings.stuck_after_seconds)} minutes, and says so here.",
    )


# What AWS says of a password, asked around a removal (GetLoginProfile).
GONE = "GetLoginProfile: NoSuchEntity"


def checked_after(iam: AccountIam, user_name: str) -> dict[str, str]:
    """The removal checked right after it, for the record: AWS asked whether the password is
    still there. What the check finds is recorded; it changes nothing (IAM is eventually
    consistent: a password just removed may still show for a moment)."""
    try:
        there = iam.has_password(user_name)
    except Exception as error:
        return {"checked_after": f"GetLoginProfile failed: {describe_error(error)}"}
    except StillUnderWay:  # the removal is done: recorded with its proof all the same
        return {"checked_after": "not asked: AWS answered too slowly"}
    if there:
        log.warning("%s's password still shows right after its removal", user_name)
    return {"checked_after": "GetLoginProfile: the password still shows" if there else GONE}


def gone_after_all(iam: AccountIam, user_name: str) -> bool:
    """Whether a removal whose answer never came (a timeout, a dropped connection, every retry
    failing) took place all the same: AWS says the password is gone. Not knowing is not gone."""
    try:
        return not iam.has_password(user_name)
    except Exception as error:  # the question fails too: the removal stays failed
        log.warning("could not ask whether %s's password is gone: %s", user_name, error)
        return False


def removed_line(finding: FindingView) -> str:
    return f"Console password of {literal(finding.user_name)} removed."


def unreachable(finding: FindingView, error: str) -> str:
    """Why a removal the sweep took over ends `failed` when AWS refuses the bot's role: one a
    crash cut short may have been carried out, which nobody can say now."""
    if may_have_acted(finding):
        return f"not known whether it was carried out: AWS refuses the bot's role ({error})"
    return f"not removed: AWS refuses the bot's role ({error})"


def gone_already(iam: AccountIam, finding: FindingView) -> bool:
    """Whether a removal a crash cut short took place before it: the same user is there, its
    password gone. The user itself gone, or made again, is not: the removal's re-check then
    aborts it as deleted (nothing says the bot removed anything). AWS refusing to say
    (AccessDenied) is not gone: the re-check then fails, is recorded and told. AWS not
    answering, or throttling, raises: the next sweep asks again."""
    try:
        user_id = iam.user_id(finding.user_name)
        if user_id is None or (finding.user_id and user_id != finding.user_id):
            return False
        return not iam.has_password(finding.user_name)
    except Exception as error:
        if refused(error):
            return False
        raise
