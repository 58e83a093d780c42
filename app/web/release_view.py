"""How a published release's table is shown on the dashboard: the rows the filters keep, each
figure as text ("suppressed", "no member service", or the number), and the chart of one figure
per row, from the stored document alone. No Flask: the views in app.web.dashboard call it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.figures.release.trend import Mark

# What a chart writes on a point that has no bar or no dot of its own (dashboard.js draws it).
MARKS = {
    Mark.SUPPRESSED: "suppressed",
    Mark.NO_MEMBER_SERVICE: "no member service",
    Mark.NOT_PUBLISHED: "not published",
}


@dataclass(frozen=True)
class Choices:
    """What a release lets the filters choose from: (value, label) pairs."""

    tables: list[tuple[str, str]]
    regions: list[tuple[str, str]]
    prisons: list[tuple[str, str]]
    charities: list[tuple[str, str]]

    @classmethod
    def of(cls, document: dict[str, Any]) -> Choices:
        regions: set[str] = set()
        prisons: dict[str, str] = {}
        for table in document["tables"]:
            for row in table["rows"]:
                if table["dimension"] == "prison":
                    prisons[row["key"]] = row["label"]
                    if row.get("region"):
                        regions.add(row["region"])
                elif table["dimension"] == "region":
                    regions.add(row["key"])
        return cls(
            tables=[(t["id"], t["title"]) for t in document["tables"]],
            regions=[(r, r) for r in sorted(regions)],
            prisons=sorted(prisons.items(), key=lambda item: item[1]),
            charities=[(c["slug"], c["name"]) for c in document["charities"]],
        )

    def allows(self, field: str, value: str) -> bool:
        options = {"table": self.tables, "region": self.regions, "prison": self.prisons}
        pairs = options.get(field, self.charities)
        return any(value == key for key, _ in pairs)


def number(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def _cell(value: int | float | None, row: dict[str, Any]) -> dict[str, Any]:
    """A figure as the table shows it. On a row where no member serves a prison the counts are
    0 and an average is empty for want of families: said so, never shown as suppressed."""
    if value is None and row.get("no_member_service"):
        return {"text": "no member service", "suppressed": False}
    return {"text": "suppressed" if value is None else number(value), "suppressed": value is None}


def _mark(value: int | float | None, row: dict[str, Any]) -> str | None:
    if row.get("no_member_service"):
        return MARKS[Mark.NO_MEMBER_SERVICE]
    return MARKS[Mark.SUPPRESSED] if value is None else None


def _label(row: dict[str, Any]) -> str:
    label = str(row["label"])
    return f"{label} (no member service)" if row.get("no_member_service") else label


def _by_name(row: dict[str, Any]) -> tuple[str, str]:
    return str(row["label"]).casefold(), str(row["key"])


def kept_rows(table: dict[str, Any], chosen: dict[str, str], document: dict[str, Any]) -> list[Any]:
    """The table's rows the filters keep. Prison rows know their region and charities and are
    listed by name; region rows are kept by region (a chosen prison stands for its region);
    national rows always."""
    rows: list[dict[str, Any]] = table["rows"]
    region, prison, charity = chosen["region"], chosen["prison"], chosen["charity"]
    if table["dimension"] == "prison":
        kept = [
            row
            for row in rows
            if (not region or row.get("region") == region)
            and (not prison or row["key"] == prison)
            and (not charity or charity in row.get("charities", ()))
        ]
        return sorted(kept, key=_by_name)
    if table["dimension"] == "region":
        if not region and prison:
            region = _region_of(prison, document) or ""
        return [row for row in rows if not region or row["key"] == region]
    return rows


def _region_of(prison: str, document: dict[str, Any]) -> str | None:
    for table in document["tables"]:
        for row in table["rows"]:
            if table["dimension"] == "prison" and row["key"] == prison:
                return row.get("region")  # type: ignore[no-any-return]
    return None


def grid(table: dict[str, Any], rows: list[dict[str, Any]], column: str) -> dict[str, Any]:
    """The HTML table and the chart from the same figures. A national table (one row, many
    categories) is turned on its side: a row per category reads better than 20 columns. The
    chart draws one figure (the chosen column) per row, so it stays readable on a phone."""
    columns = table["columns"]
    if table["dimension"] == "national":
        heads = ["Category", *(row["label"] for row in rows)]
        body = [
            (col["label"], [_cell(row["values"][col["key"]], row) for row in rows])
            for col in columns
        ]
        (row,) = rows
        series = row["label"]
        labels = [col["label"] for col in columns]
        points = [(row["values"][col["key"]], row) for col in columns]
    else:
        first = "Prison" if table["dimension"] == "prison" else "Region"
        heads = [first, *(col["label"] for col in columns)]
        body = [
            (_label(row), [_cell(row["values"][col["key"]], row) for col in columns])
            for row in rows
        ]
        series = next(col["label"] for col in columns if col["key"] == column)
        labels = [row["label"] for row in rows]
        points = [(row["values"][column], row) for row in rows]
    chart = {
        "kind": "bar",
        "title": table["title"],
        "series": series,
        "labels": labels,
        "data": [value for value, _row in points],
        "marks": [_mark(value, row) for value, row in points],
    }
    return {
        "heads": heads,
        "body": body,
        "chart": chart,
        "no_bars": all(value is None for value, _row in points),
        "all_suppressed": all(mark == MARKS[Mark.SUPPRESSED] for mark in chart["marks"]),
    }
