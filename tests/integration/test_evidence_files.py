"""The evidence file as an auditor opens it: it says what it covers, opens in a spreadsheet
as text (no cell runs as a formula, account ids keep their zeros), and reads back exactly as
recorded (SQLite and PostgreSQL; LibreOffice Calc where it is installed)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import replace

import pytest

from bot import __version__
from bot.application.evidence import Export, export
from bot.domain.about import CONTROLS
from bot.domain.settings import Settings
from bot.domain.sheets import read_csv
from tests.integration.test_decisions import APPROVER
from tests.integration.test_evidence import JUNE, day, decide, raw_rows_of, rows_of
from tests.integration.test_storage import ACCOUNT, T0, account_scan, facts, scan
from tests.support.fake_iam import FakeIam

# Cells a spreadsheet would run as a formula, read as a number, or show other than typed.
HOSTILE = (
    "\x00=1+1",
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u3000=1+1",
    "\u200b=1+1",
    "\uff1d1+1",
    "\uff0b1",
    "'=1+1",
    "''x",
    "012345678901",
    "1e5",
)


@pytest.fixture
def hostile(repository) -> Export:
    """One finding kept once for each hostile reason, in account 012345678901."""
    account = replace(ACCOUNT, account_id="012345678901")
    names = [f"user{n:02d}" for n in range(len(HOSTILE))]
    users = [facts(name, account_id=account.account_id) for name in names]
    record = repository.record_scan(scan(account_scan(account, users, T0)), "cli", dry_run=False)
    ids = {row.user_name: row.id for row in record.new}
    decisions = decide(repository, day(1), FakeIam(*users))
    for name, reason in zip(names, HOSTILE, strict=True):
        decisions.keep(ids[name], APPROVER, reason, 30)
    return export(repository, Settings(dry_run=True), JUNE)


def test_hostile_cells_are_marked_in_csv_and_read_back_exactly(hostile):
    kept = [r for r in raw_rows_of(hostile) if r["action"] == "kept"]
    marked = sorted("'" + reason.replace("\x00", "") for reason in HOSTILE)
    assert sorted(r["reason"] for r in kept) == marked
    assert {r["account_id"] for r in raw_rows_of(hostile)} == {"'012345678901"}
    # Lossless: exactly what was recorded, which is what was typed but for NUL characters
    # (PostgreSQL's text cannot hold them; storage.tables.PlainText drops them on both).
    recorded = sorted(reason.replace("\x00", "") for reason in HOSTILE)
    assert sorted(r["reason"] for r in rows_of(hostile) if r["action"] == "kept") == recorded
    findings = json.loads(hostile.json())["findings"]
    assert sorted(f["events"][-1]["reason"] for f in findings) == recorded


def test_the_export_says_what_it_covers_in_the_file(hostile):
    described, _rows = read_csv(hostile.csv())
    facts_of = {row[0]: row[1:] for row in described}
    assert facts_of["# period"] == ["2026-06-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"]
    assert facts_of["# accounts_scanned"] == ["012345678901"]
    assert facts_of["# account_filter"] == ["all accounts"]
    assert facts_of["# idle_days"] == ["90"] and facts_of["# dry_run"] == ["true"]
    assert facts_of["# tool"] == [f"iam-inactive {__version__}"]
    assert facts_of["# summary"] == [hostile.summary.line()]
    assert [row[1] for row in described if row[0] == "# control"] == list(CONTROLS)
    about = json.loads(hostile.json())["about"]
    assert about["accounts_scanned"] == ["012345678901"] and about["controls"] == list(CONTROLS)
    assert about["thresholds"] == {
        "idle_days": 90,
        "key_recent_days": 45,
        "key_idle_days": 45,
        "key_reactivate_days": 30,
        "key_delete_after_days": None,
    }
    assert about["key_actions"] == "deactivate" and facts_of["# key_actions"] == ["deactivate"]
    assert about["generated_at"] == facts_of["# generated_at"][0]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_runs_no_formula_and_keeps_account_ids(hostile, tmp_path):
    """LibreOffice Calc opens the file with formulas evaluated (its worst case) and writes what
    it shows back out as CSV: no hostile cell became a value, and the account id kept its zero."""
    source = tmp_path / "evidence.csv"
    source.write_text(hostile.csv(), encoding="utf-8", newline="")
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--infilter=CSV:44,34,76,1,,1033,false,false,false,false,false,-1,true",
            "--convert-to",
            "csv",
            "--outdir",
            str(tmp_path / "shown"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (shown,) = (tmp_path / "shown").glob("*.csv")
    rows = [row for row in csv.reader(io.StringIO(shown.read_text(), newline="")) if row]
    header = next(row for row in rows if row[0] == "finding_id")
    table = [dict(zip(header, row, strict=False)) for row in rows[rows.index(header) + 1 :]]
    reasons = sorted(r["reason"] for r in table if r["action"] == "kept")
    # As typed and marked, never computed (LibreOffice keeps no CR: line ends become LF).
    typed = ("'" + reason.replace("\x00", "").replace("\r", "\n") for reason in HOSTILE)
    assert reasons == sorted(typed)
    assert {r["account_id"] for r in table} == {"'012345678901"}
