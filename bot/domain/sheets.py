"""Cells for spreadsheets: what a CSV cell must look like so that a spreadsheet opens it as the
text or number it is, never as a formula, and so that what was typed can be got back.

The rule (docs/evidence.md): a text cell gets MARK (') before it when a spreadsheet would read
it as a formula (OWASP's CSV injection starts, also after spaces or invisible characters, and
their full-width forms), as a number (an account id's leading zeros would be lost), or when it
begins with MARK itself. Taking exactly one MARK off a cell that begins with one (`restore`)
gives back what was typed. Numbers and true/false are written as they are.
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
# What spreadsheets read as a number: 012345678901 (an account id) would lose its zero.
_NUMBER = re.compile(r"\s*[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?\s*")
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
    formula or a number, or begins with MARK (reversible with `restore`)."""
    risky = _first_significant(text) in FORMULA_STARTS or _NUMBER.fullmatch(text)
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
