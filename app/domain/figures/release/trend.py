"""One published figure across quarters: the ministry dashboard's trend (issue 12).

Pure: it reads published release documents (app.domain.figures.release.document) and nothing else,
one per quarter (the caller passes each quarter's current revision). A quarterly table's cells are
keyed the same way in every quarter's document (table id, row key, column key), so a figure is found
by its keys; one an older quarter's document does not have was not published that quarter, which
says nothing about its size and so is never called suppressed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.figures.periods import Quarter


class Mark(StrEnum):
    """What a point of a trend is: what the reader is told beside (or instead of) a number."""

    PUBLISHED = "published"
    SUPPRESSED = "suppressed"
    NO_MEMBER_SERVICE = "no member service"  # zero by the public service map, published as 0
    NOT_PUBLISHED = "not published that quarter"


@dataclass(frozen=True)
class Figure:
    """A cell's keys, the same in every quarter's document."""

    table: str
    row: str
    column: str


@dataclass(frozen=True)
class Point:
    quarter: str
    revision: int
    value: int | float | None
    mark: Mark


@dataclass
class TrendTable:
    """A table as the trend's filters offer it: every row and column any quarter published."""

    title: str
    dimension: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)


def oldest_first(documents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(documents, key=lambda document: Quarter.parse(document["quarter"]))


def _point(document: Mapping[str, Any], figure: Figure) -> Point:
    quarter, revision = document["quarter"], document["revision"]
    missing = Point(quarter, revision, None, Mark.NOT_PUBLISHED)
    table = next((t for t in document["tables"] if t["id"] == figure.table), None)
    if table is None:
        return missing
    row = next((r for r in table["rows"] if r["key"] == figure.row), None)
    if row is None or figure.column not in row["values"]:
        return missing
    value = row["values"][figure.column]
    if row.get("no_member_service"):
        return Point(quarter, revision, value, Mark.NO_MEMBER_SERVICE)
    mark = Mark.SUPPRESSED if value is None else Mark.PUBLISHED
    return Point(quarter, revision, value, mark)


def trend(documents: Iterable[Mapping[str, Any]], figure: Figure) -> list[Point]:
    """The figure in each document, oldest quarter first."""
    return [_point(document, figure) for document in oldest_first(documents)]


def trend_tables(documents: Iterable[Mapping[str, Any]]) -> dict[str, TrendTable]:
    """Every table, row and column of any document, in the newest document's order (its
    labels win); prisons by name, as the dashboard's tables list them."""
    tables: dict[str, TrendTable] = {}
    for document in reversed(oldest_first(documents)):
        for table in document["tables"]:
            entry = tables.setdefault(table["id"], TrendTable(table["title"], table["dimension"]))
            rows, columns = dict(entry.rows), dict(entry.columns)
            for row in table["rows"]:
                rows.setdefault(row["key"], row["label"])
            for column in table["columns"]:
                columns.setdefault(column["key"], column["label"])
            entry.rows, entry.columns = list(rows.items()), list(columns.items())
    for entry in tables.values():
        if entry.dimension == "prison":
            entry.rows.sort(key=lambda pair: (pair[1].casefold(), pair[0]))
    return tables
