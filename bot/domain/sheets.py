"""Cells for spreadsheets: what a CSV cell must look like so that a spreadsheet opens it as the
text or number it is, never as a formula, and so that what was typed can be got back.

The rule (docs/evidence.md): a text cell gets MARK (') before it when a spreadsheet would read
it as a formula (OWASP's CSV injection starts, also after spaces or invisible characters, and
their full-width forms), as a number (an account id's leading zeros would be lost) or another
value (a date, a time, money, a fraction, true or false), or when it begins with MARK itself.
Taking exactly one MARK off a cell that begins with one (`restore`) gives back what was typed.
Numbers and true/false are written as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# OWASP CSV injection: a spreadsheet runs a cell starting with one of these as a formula, also
# after leading spaces or control characters, and some fold the full-width forms to them.
FORMULA_STARTS = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
MARK = "'"
# What spreadsheets read as a value rather than text: a number (012345678901, an account id,
# would lose its zero), and forms Excel or LibreOffice turn into a date, a time, money, a
# fraction or a truth value (an IAM user named 1-2 or 2026-01-01, an owner tag 12:30, a reason
# (100) or $100). Wider than either reads: marking text they would leave alone costs one MARK.
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_READ_AS_VALUE = re.compile(
    r"\s*("
    r"true|false"
    r"|[-+($€£¥]*(\d|\.\d)[\d\s,./:$€£¥%()+-]*+([eE][-+]?\d+)?(\s*[ap]\.?m?\.?)?"
    rf"|\d{{1,4}}[-/ ]+{_MONTH}([-/ ,]+\d{{1,4}})*"
    rf"|{_MONTH}[-/ ]+\d{{1,4}}([-/ ,]+\d{{1,4}})*"
    r")\s*",
    re.IGNORECASE,
)
# Excel and LibreOffice take a UTF-8 file for what it is only when it begins with this.
BYTE_ORDER_MARK = "\ufeff"


def cell(value: Any) -> str:
    """One CSV cell: numbers and booleans as they are, everything else as `text_cell`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return text_cell(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return text_cell(str(value))


def sheet(
    head: Iterable[Sequence[str]],
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    bom: bool = True,
) -> str:
    """A CSV: its description rows (`head`, first cells beginning with #), the column names,
    then each row's cells in column order. `bom`: begin with UTF-8's byte order mark, which
    spreadsheets need to read the file as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(head)
    writer.writerow(columns)
    writer.writerows([cell(row.get(column)) for column in columns] for row in rows)
    return (BYTE_ORDER_MARK if bom else "") + out.getvalue()


def text_cell(text: str) -> str:
    """`text` as a spreadsheet must show it: with MARK before it when it would be read as a
    formula or a value (a number, a date, a time, money, a truth value), or begins with MARK
    (reversible with `restore`)."""
    risky = _first_significant(text) in FORMULA_STARTS or _READ_AS_VALUE.fullmatch(text)
    return MARK + text if risky or text.startswith(MARK) else text


def restore(cell_text: str) -> str:
    """What was typed, from a text cell `text_cell` wrote."""
    return cell_text.removeprefix(MARK)


def read_csv(text: str) -> tuple[list[list[str]], list[dict[str, str]]]:
    """A CSV these cells were written to, read back: its description rows (those whose first
    cell begins with #), and its records by column name with every cell as it was recorded."""
    rows = list(csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline="")))
    described = [row for row in rows if row and row[0].startswith("#")]
    header, *records = [row for row in rows if row and not row[0].startswith("#")] or [[]]
    restored = [dict(zip(header, map(restore, row), strict=True)) for row in records]
    return [[restore(value) for value in row] for row in described], restored


def _first_significant(text: str) -> str:
    """The first character a spreadsheet reads, past spaces and invisible characters."""
    for char in text:
        invisible = char.isspace() or unicodedata.category(char) in ("Cc", "Cf")
        if char in FORMULA_STARTS or not invisible:
            return char
    return ""
