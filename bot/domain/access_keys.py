"""A finding's access keys as people and files read them: an idle_key finding's key (its id
when known, else the day it was made, which is what names a key in the credential report), and
the idle keys riding on a password finding. Pure, over the recorded finding.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from bot.domain.clock import as_utc, iso, parse_iso
from bot.domain.records import FindingView


def finding_key(finding: FindingView) -> dict[str, Any] | None:
    """An idle_key finding's key as the scan recorded it (`{"active", "last_used", "key_id",
    "created", "last_used_service"}`, the id the finding learnt beside it); None for a password
    finding."""
    if finding.key_created is None:
        return None
    created = as_utc(finding.key_created).isoformat()  # as `iso` writes it
    recorded: dict[str, Any] = next(
        (key for key in (finding.facts or {}).get("keys", ()) if _same_second(key, created)), {}
    )
    return {
        "active": recorded.get("active", True),
        "last_used": iso(finding.newest_key_used),
        "key_id": finding.key_id or recorded.get("key_id"),
        "created": created,
        "last_used_service": recorded.get("last_used_service"),
    }


def _same_second(key: dict[str, Any], created: str) -> bool:
    """Whether a recorded key was made when `created` says, to the second (the report dates to
    the second, the API may not): both are UTC ISO 8601 text, whose first 19 characters are the
    second."""
    made = key.get("created")
    return made is not None and made[:19] == created[:19]


def riding_keys(finding: FindingView) -> list[dict[str, Any]]:
    """The idle keys a password finding carries (one decision deactivates them with it)."""
    return list((finding.facts or {}).get("idle_keys") or ())


def riding_key_dates(finding: FindingView | None) -> list[str]:
    """When each idle key shown on a password finding now was made (ISO): what a request or a
    keep made on it covers."""
    return [key["created"] for key in riding_keys(finding)] if finding else []


def key_name(key: dict[str, Any], zone: tzinfo) -> str:
    """A key as a person reads it: its id, else the day it was made."""
    if key.get("key_id"):
        return str(key["key_id"])
    made = parse_iso(key["created"]).astimezone(zone) if key.get("created") else None
    return f"key created {made:%Y-%m-%d}" if made else "key of unknown date"


def key_age_days(key: dict[str, Any], at: datetime) -> int | None:
    """Whole days from the key's creation to `at` (the finding's last scan)."""
    return (at - parse_iso(key["created"])).days if key.get("created") else None


def key_fields(key: dict[str, Any] | None) -> dict[str, Any]:
    """The key columns of a finding's record (the terminal's JSON and CSV, the evidence export):
    the idle_key finding's key (`finding_key`), empty for a password finding."""
    key = key or {}
    return {
        "key_id": key.get("key_id"),
        "key_created": key.get("created"),
        "key_last_used": key.get("last_used"),
        "key_last_used_service": key.get("last_used_service"),
    }
