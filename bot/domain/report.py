"""Parse the IAM credential report (CSV) into UserCredentials, and nothing else.

Strict on purpose: a value this parser does not understand raises ReportFormatError naming the
line and column, because a misread date could make the bot remove a password that is in use.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from bot.domain.clock import as_utc
from bot.domain.rule import AccessKeyUse, UserCredentials
from bot.domain.scan import ACCOUNT_ID

ROOT_ROW = "<root_account>"
# Placeholders AWS writes where a date has no value (no password, key never used, root row).
NO_DATE = frozenset({"N/A", "no_information", "not_supported", ""})
REQUIRED_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "access_key_1_active",
    "access_key_1_last_used_date",
    "access_key_2_active",
    "access_key_2_last_used_date",
)
KEY_SLOTS = (1, 2)
MFA_COLUMN = "mfa_active"  # read when present: it ranks findings, it decides nothing
# Each slot's columns: Active, last used, made (what names the key), the service last used.
SLOT_COLUMNS = tuple(
    (
        f"access_key_{slot}_active",
        f"access_key_{slot}_last_used_date",
        f"access_key_{slot}_last_rotated",
        f"access_key_{slot}_last_used_service",
    )
    for slot in KEY_SLOTS
)
# Read when present (AWS always writes them): a key's creation names it, its service explains it.
KEY_COLUMNS = tuple(
    f"access_key_{slot}_{fact}"
    for slot in KEY_SLOTS
    for fact in ("last_rotated", "last_used_service")
)


class ReportFormatError(ValueError):
    """The credential report is not in the format AWS documents."""


def parse_credential_report(content: bytes | str) -> list[UserCredentials]:
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ReportFormatError(f"credential report lacks columns: {', '.join(missing)}")
    columns_read = (*REQUIRED_COLUMNS, MFA_COLUMN, *KEY_COLUMNS)
    repeated = [column for column in columns_read if header.count(column) > 1]
    if repeated:
        raise ReportFormatError(f"credential report repeats columns: {', '.join(repeated)}")
    # Read by position: making each row a dict (csv.DictReader) cost a sixth of the parse.
    position = {column: header.index(column) for column in columns_read if column in header}
    user_at = position["user"]
    users = []
    for row in reader:
        if not row:
            continue
        if len(row) > len(header):
            row = _name_with_commas(row, len(header), position, reader.line_num)
        if len(row) > user_at and row[user_at] == ROOT_ROW:
            continue  # the root user has no login profile the bot could remove
        users.append(_parse_row(row, position, reader.line_num))
    return users


def _name_with_commas(row: list[str], width: int, position: dict[str, int], line: int) -> list[str]:
    """A row whose user name holds commas (IAM allows them), written unquoted: the name and the
    ARN that ends in it each span one field more per comma. AWS quotes such fields as CSV does;
    moto does not. Both are read; a row that is wide for another reason is refused, not read
    column by wrong column."""
    extra = len(row) - width
    commas = extra // 2
    if position["user"] == 0 and position["arn"] == 1 and extra % 2 == 0:
        user = ",".join(row[: commas + 1])
        arn = ",".join(row[commas + 1 : 2 * commas + 2])
        if arn.endswith("/" + user):
            return [user, arn, *row[2 * commas + 2 :]]
    raise ReportFormatError(f"line {line}: {len(row)} fields where the header has {width}")


def _parse_row(row: list[str], position: dict[str, int], line: int) -> UserCredentials:
    def value(column: str) -> str:
        at = position[column]
        if at >= len(row):
            raise ReportFormatError(f"line {line}: row is missing column {column}")
        return row[at].strip()

    def date(column: str) -> datetime | None:
        if column not in position:
            return None
        raw = value(column)
        if raw in NO_DATE:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ReportFormatError(f"line {line}: {column} is not a date: {raw!r}") from None
        return as_utc(moment)

    def flag(column: str) -> bool:
        raw = value(column).lower()
        if raw == "true":
            return True
        if raw in ("false", "not_supported"):
            return False
        raise ReportFormatError(f"line {line}: {column} is not true/false: {raw!r}")

    arn = value("arn")
    account_id = _account_of(arn)
    if account_id is None:
        raise ReportFormatError(f"line {line}: arn is not an IAM user ARN: {arn!r}")
    created = date("user_creation_time")
    if created is None:
        raise ReportFormatError(f"line {line}: user_creation_time is empty")

    def service(column: str) -> str | None:
        raw = value(column) if column in position else ""
        return None if raw in NO_DATE else raw

    def empty(column: str) -> bool:
        return column not in position or value(column) in NO_DATE

    keys = []
    for active, used, made, by in SLOT_COLUMNS:
        # An empty slot reads as inactive, never used and never made: no key at all (most
        # users' second slot, read without parsing a date).
        if not flag(active) and empty(used) and empty(made):
            continue
        keys.append(
            AccessKeyUse(
                flag(active), date(used), created=date(made), last_used_service=service(by)
            )
        )
    return UserCredentials(
        account_id=account_id,
        user_name=value("user"),
        arn=arn,
        created=created,
        has_password=flag("password_enabled"),
        password_last_used=date("password_last_used"),
        password_last_changed=date("password_last_changed"),
        mfa_active=flag(MFA_COLUMN) if MFA_COLUMN in position else None,
        keys=tuple(keys),
    )


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    of_iam = len(parts) >= 6 and parts[0] == "arn" and parts[2] == "iam"
    return parts[4] if of_iam and ACCOUNT_ID.fullmatch(parts[4]) else None
