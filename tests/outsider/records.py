"""What a reader is told besides the documents, counted from the figures a release was built
from: every count of a document as the figures give it (the total, or one charity's share), for
a charity's own records and for the exact changes of a revision. Shared by the outsider tests;
the reader itself (reader.py) never sees the figures."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.figures.catalogue import Figures, Tally
from tests.outsider.reader import EXCLUDED, Cell

# The tallies by (table, row, column), and the families each table excluded.
Counts = tuple[Mapping[tuple[str, str, str], Tally], Mapping[str, int]]


def release_name(document: Mapping[str, Any]) -> str:
    """The reader's name for a release (tests/outsider/reader.py)."""
    return f"{document['quarter']}r{document['revision']}"


def cells_of(document: Mapping[str, Any], counts: Counts) -> dict[Cell, int]:
    """Every count of the document as ``counts`` give it: the families behind a count of
    families, the number counted otherwise; averages are not counts."""
    tallies, excluded = counts
    name = release_name(document)
    found: dict[Cell, int] = {}
    for table in document["tables"]:
        found[Cell(name, table["id"], "", EXCLUDED)] = excluded.get(table["id"], 0)
        for column in table["columns"]:
            for row in table["rows"]:
                tally = tallies.get((table["id"], row["key"], column["key"]), Tally())
                cell = Cell(name, table["id"], row["key"], column["key"])
                if column["measure"] == "families":
                    found[cell] = tally.families
                elif column["measure"] == "count":
                    found[cell] = tally.count
    return found


def totals(parts: Sequence[Figures]) -> Counts:
    """Every cell's total over the charities, of a release's quarterly and yearly figures."""
    return (
        {key: tally for part in parts for key, tally in part.total().items()},
        {table: n for part in parts for table, n in part.excluded().items()},
    )


def share(parts: Sequence[Figures], charity_id: uuid.UUID) -> Counts:
    """One charity's exact contribution to every cell, as it knows it."""
    return (
        {key: tally for part in parts for key, tally in part.of(charity_id).cells.items()},
        {table: n for part in parts for table, n in part.of(charity_id).excluded.items()},
    )
