"""A published release as one long-format CSV file: a line per cell of every table.

Pure: it reads the published document (app.domain.figures.release.document) and nothing else, so the
same release always gives the same bytes (the document's lists are in a fixed order, columns are
taken in the table's order, numbers are written by ``repr``, lines end in CRLF as RFC 4180 says).

A spreadsheet would run a label that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return) as a formula; every text field gets a leading apostrophe when it does.
Numbers are written by this module and are never prefixed, so a negative mean stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

HEADER = (
    "quarter",
    "revision",
    "table",
    "period",
    "row_key",
    "row_label",
    "column",
    "column_label",
    "value",
)
SUPPRESSED = "suppressed"
NO_MEMBER_SERVICE = "no member service"
EXCLUDED_ROW = "excluded_families"
EXCLUDED_LABEL = "Families excluded (objected to statistical use)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """The text as a spreadsheet shows it, never run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def number(value: int | float | None, unserved: bool = False) -> str:
    """A figure as text: a suppressed one says so; on a row where no member serves a prison,
    an average of nothing says why it is empty."""
    if value is None:
        return NO_MEMBER_SERVICE if unserved else SUPPRESSED
    if isinstance(value, bool):  # never in a release; refused rather than written as 1/0
        raise TypeError("a release value is a number or null")
    return repr(value)


def cells(document: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """Every cell of every table, then each table's excluded families, as text fields."""
    quarter, revision = str(document["quarter"]), str(document["revision"])
    for table in document["tables"]:
        lead = (quarter, revision, safe_text(table["id"]), safe_text(table["period"]["label"]))
        for row in table["rows"]:
            for column in table["columns"]:
                yield (
                    *lead,
                    safe_text(str(row["key"])),
                    safe_text(str(row["label"])),
                    safe_text(column["key"]),
                    safe_text(column["label"]),
                    number(row["values"][column["key"]], bool(row.get("no_member_service"))),
                )
        yield (
            *lead,
            EXCLUDED_ROW,
            EXCLUDED_LABEL,
            EXCLUDED_ROW,
            EXCLUDED_LABEL,
            number(table["excluded_families"]),
        )


def release_csv(document: Mapping[str, Any]) -> bytes:
    """The whole release as CSV bytes (UTF-8, CRLF)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    writer.writerows(cells(document))
    return buffer.getvalue().encode("utf-8")


def filename(document: Mapping[str, Any], extension: str) -> str:
    """continuum-2026Q3-r1.csv: the quarter and revision, nothing a header could be split on."""
    quarter = "".join(ch for ch in str(document["quarter"]) if ch.isalnum())
    return f"continuum-{quarter}-r{int(document['revision'])}.{extension}"
