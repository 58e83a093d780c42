"""A figure across published quarters (app.domain.figures.release.trend): read from the documents
alone, oldest quarter first; a suppressed figure is marked suppressed, a known zero keeps its 0 and
says why, and a figure an older quarter did not have is "not published that quarter", never
suppressed. No Flask, no database."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.figures.release.trend import Figure, Mark, TrendTable, trend, trend_tables


def _document(quarter: str, revision: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "quarter": quarter,
        "revision": revision,
        "tables": [
            {
                "id": "prison_activity",
                "title": "Families supported and contacts, by prison",
                "dimension": "prison",
                "columns": [
                    {"key": "families", "label": "Families supported"},
                    {"key": "children", "label": "Children"},
                ],
                "rows": rows,
            },
            {
                "id": "region_outcomes",
                "title": "Outcomes, by region",
                "dimension": "region",
                "columns": [{"key": "mean", "label": "Mean distance travelled"}],
                "rows": [
                    {
                        "key": "Wales",
                        "label": "Wales",
                        "values": {"mean": None},
                        "no_member_service": True,
                    },
                    {"key": "North West", "label": "North West", "values": {"mean": 1.5}},
                ],
            },
        ],
    }


def _prison(key: str, label: str, families: int | None, children: int | None) -> dict[str, Any]:
    return {"key": key, "label": label, "values": {"families": families, "children": children}}


HISTORY = [
    # Given newest first, as app.services.figures.releases.current_releases returns them.
    _document(
        "2026Q3",
        2,
        [_prison("WDI", "Wakefield (HMP)", 15, None), _prison("LPI", "Liverpool (HMP)", 20, 10)],
    ),
    _document("2026Q2", 1, [_prison("LPI", "Liverpool (HMP)", None, None)]),
    _document("2025Q4", 1, [_prison("LPI", "Liverpool (HMP)", 35, 40)]),
]


def test_points_run_oldest_quarter_first_with_each_documents_revision():
    points = trend(HISTORY, Figure("prison_activity", "LPI", "families"))

    assert [(p.quarter, p.revision) for p in points] == [
        ("2025Q4", 1),
        ("2026Q2", 1),
        ("2026Q3", 2),
    ]


def test_a_published_figure_keeps_its_value_and_a_suppressed_one_is_marked():
    points = trend(HISTORY, Figure("prison_activity", "LPI", "families"))

    assert [(p.value, p.mark) for p in points] == [
        (35, Mark.PUBLISHED),
        (None, Mark.SUPPRESSED),
        (20, Mark.PUBLISHED),
    ]


def test_a_row_an_older_quarter_did_not_have_is_not_published_there_not_suppressed():
    points = trend(HISTORY, Figure("prison_activity", "WDI", "families"))

    assert [p.mark for p in points] == [Mark.NOT_PUBLISHED, Mark.NOT_PUBLISHED, Mark.PUBLISHED]
    assert points[0].value is None


def test_a_table_or_column_missing_from_a_quarter_is_not_published_there():
    older = _document("2025Q3", 1, [_prison("LPI", "Liverpool (HMP)", 30, 25)])
    del older["tables"][1]
    for row in older["tables"][0]["rows"]:
        del row["values"]["children"]

    children = trend([*HISTORY, older], Figure("prison_activity", "LPI", "children"))
    outcomes = trend([*HISTORY, older], Figure("region_outcomes", "North West", "mean"))

    assert children[0].mark is outcomes[0].mark is Mark.NOT_PUBLISHED
    assert [p.mark for p in outcomes[1:]] == [Mark.PUBLISHED] * 3


def test_a_region_no_member_serves_is_marked_so_never_suppressed():
    points = trend(HISTORY, Figure("region_outcomes", "Wales", "mean"))

    assert {p.mark for p in points} == {Mark.NO_MEMBER_SERVICE}


def test_a_known_zero_keeps_its_zero():
    history = [_document("2026Q3", 1, [])]
    history[0]["tables"][1]["columns"].append({"key": "families", "label": "Families"})
    for row in history[0]["tables"][1]["rows"]:
        row["values"]["families"] = 0 if row.get("no_member_service") else 40

    (point,) = trend(history, Figure("region_outcomes", "Wales", "families"))

    assert (point.value, point.mark) == (0, Mark.NO_MEMBER_SERVICE)


def test_choices_are_every_table_row_and_column_any_quarter_published():
    tables = trend_tables(HISTORY)

    prisons = tables["prison_activity"]
    assert isinstance(prisons, TrendTable)
    assert list(tables) == ["prison_activity", "region_outcomes"]
    assert prisons.title == "Families supported and contacts, by prison"
    # Prisons by name; Wakefield was published in one quarter only and is still a choice.
    assert prisons.rows == [("LPI", "Liverpool (HMP)"), ("WDI", "Wakefield (HMP)")]
    assert prisons.columns == [("families", "Families supported"), ("children", "Children")]


@pytest.mark.parametrize("field", ["table", "row", "column"])
def test_a_figure_no_quarter_published_has_no_points_marked_published(field):
    figure = {"table": "prison_activity", "row": "LPI", "column": "families", field: "nothing"}

    points = trend(HISTORY, Figure(**figure))

    assert {p.mark for p in points} == {Mark.NOT_PUBLISHED}
