"""Findings for the terminal: a readable table, JSON and CSV. Pure functions over stored rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any, TextIO

from bot.domain.access_keys import finding_key, key_age_days, key_fields, key_name, riding_keys
from bot.domain.clock import iso, parse_iso
from bot.domain.records import FindingView
from bot.domain.risk import finding_risk_label, user_path
from bot.domain.sheets import cell

TABLE_HEADERS = (
    "account",
    "user",
    "risk",
    "category",
    "state",
    "idle days",
    "last password use",
    "newest key use",
    "owner",
    # an idle key's finding: the key, its last use and service, its age; a password's: the
    # idle keys one decision deactivates with it
    "key",
    "key last use",
    "key age",
)
RECORD_FIELDS = (
    "finding_id",
    "account_id",
    "user_name",
    "user_arn",
    "user_path",
    "risk",
    "privileged",
    "privilege",
    "mfa_active",
    "access_keys",
    "category",
    "fully_inactive",
    "state",
    "days_idle",
    "password_last_used",
    "password_last_changed",
    "newest_key_used",
    "user_created",
    "owner",
    "first_seen",
    "kept_until",
    # appended for idle access keys (issue 23): an idle_key finding's key, empty on a password
    # finding; `idle_keys`: the idle keys riding on a password finding
    "key_id",
    "key_created",
    "key_last_used",
    "key_last_used_service",
    "key_age_days",
    "idle_keys",
)


def finding_record(row: FindingView) -> dict[str, Any]:
    """The stable, machine-readable shape of one finding (JSON and CSV): RECORD_FIELDS."""
    key = finding_key(row)
    return {
        "finding_id": row.id,
        "account_id": row.account_id,
        "user_name": row.user_name,
        "user_arn": row.user_arn,
        "user_path": user_path(row.user_arn),
        "risk": finding_risk_label(row),
        "privileged": row.privileged,
        "privilege": row.privilege,
        "mfa_active": row.mfa_active,
        "access_keys": (row.facts or {}).get("keys", []),
        "category": row.category,
        "fully_inactive": row.fully_inactive,
        "state": row.state,
        "days_idle": row.days_idle,
        "password_last_used": iso(row.password_last_used),
        "password_last_changed": iso(row.password_last_changed),
        "newest_key_used": iso(row.newest_key_used),
        "user_created": iso(row.user_created),
        "owner": row.owner,
        "first_seen": iso(row.first_seen),
        "kept_until": iso(row.kept_until),
        **key_fields(key),
        "key_age_days": key_age_days(key or {}, row.last_seen),
        "idle_keys": riding_keys(row),
    }


def write_json(rows: Sequence[FindingView], out: TextIO) -> None:
    """A JSON array of `finding_record`s, one to a line, written as they are made: a scan of
    20,000 findings would otherwise hold the whole document in memory beside its rows."""
    out.write("[")
    for number, row in enumerate(rows):
        out.write(f"{',' if number else ''}\n{json.dumps(finding_record(row))}")
    out.write("\n]\n" if rows else "]\n")


def write_csv(rows: Sequence[FindingView], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=RECORD_FIELDS)
    writer.writeheader()
    for row in rows:
        record = finding_record(row)
        # owner tags are free text: a spreadsheet must not run one as a formula
        writer.writerow({key: cell(value) for key, value in record.items()})


def render_table(rows: Sequence[FindingView], zone: tzinfo) -> str:
    from tabulate import tabulate  # once the scan is done: it is not on the way to AWS

    if not rows:
        return "No idle console passwords or access keys found."
    table = [
        (
            row.account_id,
            row.user_name,
            finding_risk_label(row).upper(),
            row.category + (" (fully inactive)" if row.fully_inactive else ""),
            row.state,
            row.days_idle,
            _day(row.password_last_used, zone) or "never",
            _day(row.newest_key_used, zone) or "never",
            row.owner or "unknown",
            *_key_cells(row, zone),
        )
        for row in rows
    ]
    return tabulate(table, headers=TABLE_HEADERS, tablefmt="simple")


def _key_cells(row: FindingView, zone: tzinfo) -> tuple[str, str, str]:
    """An idle key's finding: the key, its last use (and the service it was used with), its age
    at the last scan. A password finding: how many idle keys its decision also deactivates."""
    key = finding_key(row)
    if key is None:
        riding = len(riding_keys(row))
        return (f"+{riding} idle key{'s' if riding > 1 else ''}" if riding else "", "", "")
    last, service = key["last_used"], key["last_used_service"]
    used = (_day(parse_iso(last), zone) if last else None) or "never"
    age = key_age_days(key, row.last_seen)
    return (
        key_name(key, zone),
        f"{used} ({service})" if service else used,
        "" if age is None else f"{age} days",
    )


def _day(moment: datetime | None, zone: tzinfo) -> str | None:
    return moment.astimezone(zone).strftime("%Y-%m-%d") if moment else None
