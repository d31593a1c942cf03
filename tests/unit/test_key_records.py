"""Idle access keys as the terminal and the evidence export write them (pure): the key of an
idle_key finding, the idle keys riding on a password finding, and how each finding ended."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, timedelta, timezone

import pytest

from bot.domain.access_keys import finding_key, key_age_days, key_name, riding_keys
from bot.domain.evidence import outcome
from bot.domain.workflow import State
from bot.entry.terminal import RECORD_FIELDS, TABLE_HEADERS, finding_record, render_table, write_csv
from tests.unit.test_asff import KEY_MADE, key_row
from tests.unit.test_messages import NOW, row

RIDING = [
    {"active": True, "last_used": None, "key_id": None, "created": KEY_MADE.isoformat()},
    {"active": True, "last_used": None, "key_id": "AKIARIDING", "created": NOW.isoformat()},
]


def test_an_idle_keys_finding_reads_its_key_from_the_facts_recorded_with_it():
    finding = key_row("ann")
    key = finding_key(finding)
    assert key == {
        "active": True,
        "last_used": (NOW - timedelta(days=100)).isoformat(),
        "key_id": None,
        "created": KEY_MADE.isoformat(),
        "last_used_service": "s3",
    }
    assert key_name(key, UTC) == f"key created {KEY_MADE:%Y-%m-%d}"
    assert key_age_days(key, NOW) == 400
    # the id the finding learnt when the bot acted names the key from then on
    assert key_name(finding_key(key_row("ann", key_id="AKIAKNOWN")), UTC) == "AKIAKNOWN"
    assert finding_key(row("ann")) is None and riding_keys(row("ann")) == []


def test_a_keys_day_is_told_in_the_configured_zone():
    key = {"created": "2026-06-01T23:30:00+00:00"}
    assert key_name(key, timezone(timedelta(hours=2))) == "key created 2026-06-02"


def test_the_terminal_record_appends_the_key_columns():
    assert RECORD_FIELDS[:21][-1] == "kept_until"
    appended = "key_id key_created key_last_used key_last_used_service key_age_days idle_keys"
    assert RECORD_FIELDS[21:] == tuple(appended.split())
    record = finding_record(key_row("ann"))
    assert record["key_created"] == KEY_MADE.isoformat() and record["key_age_days"] == 400
    assert (
        record["key_last_used_service"] == "s3"
        and record["risk"] == "privilege not known, no MFA on keys"
    )
    password = finding_record(row("ann", facts={"keys": RIDING, "idle_keys": RIDING}))
    assert password["idle_keys"] == RIDING and password["key_id"] is None
    out = io.StringIO()
    write_csv([key_row("ann")], out)
    (written,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert written["key_age_days"] == "400" and json.loads(written["idle_keys"]) == []


def test_the_table_shows_a_key_its_last_use_and_age_and_a_passwords_riding_keys():
    table = render_table(
        [key_row("ann"), row("ben", facts={"keys": RIDING, "idle_keys": RIDING})], UTC
    )
    header, _rule, ann, ben = table.splitlines()
    assert header.split()[:3] == ["account", "user", "risk"] and TABLE_HEADERS[-3] == "key"
    used = NOW - timedelta(days=100)
    assert f"key created {KEY_MADE:%Y-%m-%d}  {used:%Y-%m-%d} (s3)  400 days" in ann
    assert ben.rstrip().endswith("+2 idle keys")
    assert render_table([], UTC) == "No idle console passwords or access keys found."


@pytest.mark.parametrize(
    ("state", "dry_run", "password", "key"),
    [
        (State.DISABLED, False, "removed", "deactivated"),
        (State.DISABLED, True, "removed (dry run)", "deactivated (dry run)"),
        (State.REACTIVATING, False, "removed", "deactivated"),  # not yet turned back on
        (State.REACTIVATED, False, "removed, keys reactivated", "reactivated"),
        (State.DELETING_KEYS, False, "removed", "deactivated"),
        (State.KEYS_DELETED, False, "removed, keys deleted", "deleted"),
        (State.KEPT, False, "kept", "kept"),
        (State.OPEN, False, "open", "open"),
    ],
)
def test_the_outcome_says_what_became_of_the_password_and_the_keys(state, dry_run, password, key):
    assert outcome(row("ann", state=state, requested_dry_run=dry_run)) == password
    assert outcome(key_row("ann", state=state, requested_dry_run=dry_run)) == key
