"""What a decision's step in AWS comes to, for the people told of it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.records import RecordsUnavailable
from bot.slack.messages.text import literal
from storage.models import Finding

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
        minutes = -(-stuck_after_seconds // 60) + 5  # the stuck time, then the next sweep
        super().__init__(
            f"The {credential} of {literal(user_name)} was {done} in AWS, but the bot's database "
            f"became unavailable before it was recorded; the bot records it within about "
            f"{minutes} minutes."
        )


@dataclass(frozen=True)
class Removal:
    finding: Finding
    summary: str  # one line for people, in mrkdwn: what came from AWS is in code spans
    ask_new_owner: bool = False  # the re-check found another owner, whose consent is needed
