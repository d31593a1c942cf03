"""Findings as the code above storage reads them (bot.domain.records.FindingView): plain objects
made from the row, read with SQLAlchemy Core. Not the ORM's: building 20,000 of those cost more
than a scan's inserting them, and loading the ORM a tenth of a small account's scan."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, select

from bot.domain.records import FindingView
from storage.tables import findings

# The columns a new finding's insert leaves to their default, NULL.
_NOT_WRITTEN = dict.fromkeys(findings.columns.keys())


def finding_views(
    connection: Connection,
    *where: ColumnElement[bool],
    order_by: ColumnElement[Any] | None = None,
) -> list[FindingView]:
    """The findings `where` selects, whole, in `order_by`'s order."""
    query = select(findings).where(*where)
    if order_by is not None:
        query = query.order_by(order_by)
    return [view_of(row._mapping) for row in connection.execute(query)]


def view_of(columns: Mapping[Any, Any]) -> FindingView:
    """A finding from its row's columns."""
    return cast(FindingView, SimpleNamespace(**columns))


def inserted_view(values: dict[str, Any]) -> FindingView:
    """A new finding as its insert of `values` left it in the database."""
    return view_of({**_NOT_WRITTEN, **values})
