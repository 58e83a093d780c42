"""The ministry's dashboard (issue 5 item 4, issue 12), on SQLite and PostgreSQL: the ministry
analyst and the coordinator read the published release of 2026Q3 (families seeded at every
charity by tests/integration/test_metrics.py, few enough that most cells are suppressed); nobody
else does; downloads are the stored bytes, or a CSV that is the same bytes every time; drafts are
missing. The analyst's dashboard (issue 12): a figure's trend over every published quarter, a
chart per figure with suppressed points marked, prisons by name, quarters in plain English, and
the table as filtered as CSV and JSON. Every expectation is read from the published documents."""

from __future__ import annotations

import csv
import hashlib
import html as markup
import io
import json
import re
import uuid

import pytest

from app.domain.figures.periods import Quarter
from app.domain.figures.release.csv_file import HEADER, release_csv, safe_text
from app.models.releases import Release
from tests.support.releases import (
    build_quarter,
    figure_in_both,
    publish_quarter,
    release_table,
)

SUPPRESSED_CELL = re.compile(r"<td[^>]*>\s*<abbr class=\"app-suppressed\"[^>]*>suppressed</abbr>")
QUARTER_CODE = re.compile(r"\b\d{4}Q[1-4]\b")
PLAIN = {"2026Q2": "April to June 2026", "2026Q3": "July to September 2026"}


@pytest.fixture
def release(seeded, app_sessions, world) -> Release:
    return publish_quarter(app_sessions, world)


@pytest.fixture
def quarters(seeded, app_sessions, world) -> list[Release]:
    """2026Q2 under the 10-5 rule, then 2026Q3 with a threshold of 1 (so its small counts are
    published): oldest first, a figure suppressed in one quarter and published in the other."""
    second = publish_quarter(app_sessions, world, Quarter(2026, 2))
    third = publish_quarter(app_sessions, world, threshold=1, base=1)
    return [second, third]


@pytest.mark.parametrize("key", ["ministry", "coordinator"])
def test_metrics_readers_see_the_published_quarter(release, signed_in, key):
    page = signed_in(key).get("/dashboard")

    assert page.status_code == 200
    assert "2026Q3" in page.text
    assert release.sha256 in page.text
    assert 'id="chart-data"' in page.text
    assert "Families excluded (objected to statistical use)" in page.text
    assert f"/dashboard/releases/{release.id}.csv" in page.text
    assert f"/dashboard/releases/{release.id}.json" in page.text


@pytest.mark.parametrize("key", ["pops_liverpool", "pops_manager", "pops_admin"])
def test_charity_staff_are_refused_the_dashboard(release, signed_in, key):
    client = signed_in(key)

    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/rules").status_code == 403
    assert client.get(f"/dashboard/releases/{release.id}.csv").status_code == 403
    assert client.get("/dashboard/trend").status_code == 403
    for suffix in ("csv", "json"):
        assert client.get(f"/dashboard/releases/{release.id}/table.{suffix}").status_code == 403


def test_anonymous_visitor_is_sent_to_sign_in(release, app):
    response = app.test_client().get("/dashboard")

    assert response.status_code == 302
    assert "login" in response.location or "/o" in response.location


def test_ministry_sees_suppressed_cells_as_suppressed_with_the_legend(release, signed_in):
    page = signed_in("ministry").get("/dashboard?table=prison_activity")
    document = json.loads(release.content)
    prison = next(t for t in document["tables"] if t["id"] == "prison_activity")
    suppressed = sum(v is None for row in prison["rows"] for v in row["values"].values())

    assert suppressed > 0
    assert len(SUPPRESSED_CELL.findall(page.text)) == suppressed
    assert "hidden so that a suppressed figure cannot be worked out" in page.text


def test_chart_marks_suppressed_figures_where_the_table_says_suppressed(release, signed_in):
    page = signed_in("ministry").get("/dashboard?table=prison_activity")
    chart = _chart(page.text)
    prison = release_table(release, "prison_activity")
    rows = sorted(prison["rows"], key=lambda row: row["label"])
    first = prison["columns"][0]

    assert chart["kind"] == "bar"
    assert chart["series"] == first["label"]
    assert chart["labels"] == [row["label"] for row in rows]
    assert chart["data"] == [row["values"][first["key"]] for row in rows]
    # A suppressed figure is marked, never drawn as 0 or left as an unexplained gap.
    assert None in chart["data"]
    assert chart["marks"] == [
        "suppressed" if row["values"][first["key"]] is None else None for row in rows
    ]


def _chart(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html)
    assert block is not None
    return json.loads(block.group(1))  # type: ignore[no-any-return]


def test_filters_keep_the_rows_of_a_region_and_a_charity(release, signed_in):
    client = signed_in("ministry")

    north_west = client.get("/dashboard?table=prison_activity&region=North+West")
    nepacs = client.get("/dashboard?table=prison_activity&charity=nepacs")

    assert north_west.status_code == nepacs.status_code == 200
    assert _row_heads(north_west.text) == ["Liverpool (HMP)"]
    assert _row_heads(nepacs.text) == ["Durham (HMP &amp; YOI)"]


def _row_heads(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="govuk-table__header">([^<]*)</th>', html)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("quarter=2019Q1", "quarter"),
        ("table=cases", "table"),
        ("region=Atlantis", "region"),
        ("prison=XYZ", "prison"),
        ("charity=nobody", "charity"),
    ],
)
def test_unknown_filter_value_is_refused_naming_the_field(release, signed_in, query, field):
    page = signed_in("ministry").get(f"/dashboard?{query}")

    assert page.status_code == 400
    assert "govuk-error-summary" in page.text
    assert f'href="#filter-{field}"' in page.text
    assert f'id="filter-{field}-error"' in page.text


def test_json_download_is_the_stored_release_byte_for_byte(release, signed_in):
    response = signed_in("ministry").get(f"/dashboard/releases/{release.id}.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == release.content.encode("utf-8")
    assert hashlib.sha256(response.data).hexdigest() == release.sha256
    assert response.headers["ETag"] == f'"{release.sha256}"'
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="continuum-2026Q3-r1.json"'


def test_csv_download_is_byte_identical_and_has_every_cell(release, signed_in):
    client = signed_in("ministry")
    first = client.get(f"/dashboard/releases/{release.id}.csv")
    second = client.get(f"/dashboard/releases/{release.id}.csv")
    document = json.loads(release.content)
    lines = list(csv.reader(io.StringIO(first.data.decode("utf-8"))))
    cells = sum(len(t["rows"]) * len(t["columns"]) for t in document["tables"])

    assert first.status_code == 200
    assert first.data == second.data == release_csv(document)
    assert tuple(lines[0]) == HEADER
    # A line per cell and one per table for its excluded families.
    assert len(lines) - 1 == cells + len(document["tables"])
    assert all(line[0] == "2026Q3" and line[1] == "1" for line in lines[1:])
    assert "suppressed" in {line[-1] for line in lines[1:]}
    assert 'filename="continuum-2026Q3-r1.csv"' in first.headers["Content-Disposition"]


def test_csv_labels_cannot_run_as_formulas():
    assert safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_text("+1") == "'+1"
    assert safe_text("@SUM") == "'@SUM"
    assert safe_text("-2") == "'-2"
    assert safe_text("Liverpool (HMP)") == "Liverpool (HMP)"


def test_draft_and_missing_release_get_the_same_not_found(release, signed_in, app_sessions, world):
    from app.domain.figures.periods import Quarter

    draft_id = build_quarter(app_sessions, world, Quarter(2026, 3), reason="a correction")
    client = signed_in("ministry")

    for suffix in ("json", "csv"):
        draft = client.get(f"/dashboard/releases/{draft_id}.{suffix}")
        missing = client.get(f"/dashboard/releases/{uuid.uuid4()}.{suffix}")
        assert draft.status_code == missing.status_code == 404
        assert draft.data == missing.data


def test_dashboard_pages_have_no_inline_script(release, signed_in):
    client = signed_in("ministry")

    for path in ("/dashboard", "/dashboard?table=national_ethnicity", "/dashboard/rules", "/"):
        page = client.get(path)
        scripts = re.findall(r"<script\b([^>]*)>", page.text)
        assert scripts, path
        for attributes in scripts:
            assert "src=" in attributes or 'type="application/json"' in attributes, path
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_rules_page_states_the_rules_and_every_table(release, signed_in):
    from app.domain.figures.catalogue import CATALOGUE

    page = signed_in("coordinator").get("/dashboard/rules")

    assert page.status_code == 200
    assert "fewer than 10 families" in page.text
    assert "nearest 5" in page.text
    for table in CATALOGUE:
        assert table.title in page.text


def test_ministry_home_and_navigation_point_to_the_dashboard(release, signed_in):
    home = signed_in("ministry").get("/")

    assert home.status_code == 200
    assert 'href="/dashboard"' in home.text
    assert ">Dashboard</a>" in home.text


def test_before_any_release_the_dashboard_says_so(signed_in):
    page = signed_in("ministry").get("/dashboard")

    assert page.status_code == 200
    assert "No figures have been published yet." in page.text


def test_a_region_no_member_serves_reads_as_zeros_marked_never_as_suppressed(release, signed_in):
    """Wales has no prison a member serves: the region tables show its counts as 0 and say why,
    an average there says "no member service", and the CSV says the same."""
    document = json.loads(release.content)
    unserved = {
        (table["id"], row["key"])
        for table in document["tables"]
        for row in table["rows"]
        if row.get("no_member_service")
    }
    assert ("region_needs", "Wales") in unserved and ("region_outcomes", "Wales") in unserved
    client = signed_in("ministry")
    for table_id in ("region_needs", "region_outcomes"):
        page = client.get(f"/dashboard?table={table_id}&region=Wales")
        assert page.status_code == 200
        assert "Wales (no member service)" in page.text
        assert not SUPPRESSED_CELL.findall(page.text), table_id
    lines = list(csv.reader(io.StringIO(client.get(f"/dashboard/releases/{release.id}.csv").text)))
    wales = [line for line in lines[1:] if line[4] == "Wales"]
    assert wales and {line[-1] for line in wales} == {"0", "no member service"}


# --- the analyst's dashboard (issue 12) --------------------------------------------------------


def _visible_text(html: str) -> str:
    """What a reader sees: no script blocks, no tags (so no URLs, values or file names)."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _body_rows(html: str, table_id: str) -> list[list[str]]:
    """The body rows of the table with this id, each cell's text with tags stripped."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, flags=re.S)
    assert table is not None, table_id
    body = re.search(r"<tbody.*?</tbody>", table.group(0), flags=re.S)
    assert body is not None
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(0), flags=re.S)
    return [
        [
            markup.unescape(" ".join(re.sub(r"<[^>]+>", " ", cell).split()))
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        ]
        for row in rows
    ]


def test_prisons_are_listed_by_name(release, signed_in):
    page = signed_in("ministry").get("/dashboard?table=prison_activity")
    labels = [row["label"] for row in release_table(release, "prison_activity")["rows"]]

    shown = [row[0] for row in _body_rows(page.text, "figures-table")]

    assert len(labels) > 1
    assert shown == sorted(labels, key=str.casefold)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard",
        "/dashboard?table=national_ethnicity",
        "/dashboard?table=region_needs",
        "/dashboard/trend",
        "/dashboard/rules",
    ],
)
def test_every_quarter_the_reader_sees_is_in_plain_english(quarters, signed_in, path):
    page = signed_in("ministry").get(path)

    assert page.status_code == 200
    assert QUARTER_CODE.findall(_visible_text(page.text)) == []
    assert PLAIN["2026Q3"] in page.text


def test_the_code_stays_in_urls_and_downloads(release, signed_in):
    page = signed_in("ministry").get("/dashboard")

    assert 'value="2026Q3"' in page.text
    assert (
        "continuum-2026Q3-r1"
        in signed_in("ministry")
        .get(f"/dashboard/releases/{release.id}/table.csv")
        .headers["Content-Disposition"]
    )


def test_a_year_table_names_its_months(release, signed_in):
    period = release_table(release, "national_ethnicity")["period"]
    page = signed_in("ministry").get("/dashboard?table=national_ethnicity")
    start, end = period["start"].split("-"), period["end"].split("-")

    assert start[0] != end[0]  # the year to September spans new year
    assert re.search(rf"[A-Z][a-z]+ {start[0]} to [A-Z][a-z]+ {end[0]}", _visible_text(page.text))


# --- trend over published quarters ----------------------------------------------------------


def _expected_text(value: int | float | None) -> str:
    return "suppressed" if value is None else f"{value:,}"


def test_trend_shows_every_published_quarter_oldest_first(quarters, signed_in):
    table, row, column = figure_in_both(quarters)
    page = signed_in("ministry").get(f"/dashboard/trend?table={table}&row={row}&column={column}")
    expected = []
    for release in quarters:  # oldest first
        values = next(r for r in release_table(release, table)["rows"] if r["key"] == row)["values"]
        expected.append(
            [PLAIN[release.quarter], str(release.revision), _expected_text(values[column])]
        )

    assert page.status_code == 200
    assert _body_rows(page.text, "trend-table") == expected
    assert "suppressed" in {line[-1] for line in expected}


def test_trend_chart_marks_suppressed_quarters_and_never_draws_them_as_zero(quarters, signed_in):
    table, row, column = figure_in_both(quarters)
    page = signed_in("ministry").get(f"/dashboard/trend?table={table}&row={row}&column={column}")
    chart = _chart(page.text)
    values = [
        next(r for r in release_table(release, table)["rows"] if r["key"] == row)["values"][column]
        for release in quarters
    ]

    assert chart["kind"] == "line"
    assert chart["data"] == values
    assert chart["marks"] == ["suppressed" if v is None else None for v in values]
    assert "suppressed" in chart["marks"]
    assert [" ".join(label) for label in chart["labels"]] == [PLAIN[r.quarter] for r in quarters]


def test_trend_reads_the_latest_revision_of_a_quarter(release, signed_in, app_sessions, world):
    """2026Q3 revised after 2026Q2 was published: the trend takes revision 2 of 2026Q3."""
    publish_quarter(app_sessions, world, Quarter(2026, 2))
    revised = publish_quarter(app_sessions, world, reason="a correction")
    page = signed_in("ministry").get("/dashboard/trend?table=prison_activity")

    rows = _body_rows(page.text, "trend-table")

    assert (release.revision, revised.revision) == (1, 2)
    assert [line[:2] for line in rows] == [[PLAIN["2026Q2"], "1"], [PLAIN["2026Q3"], "2"]]


def test_trend_of_a_region_no_member_serves_reads_zero_with_the_reason(quarters, signed_in):
    table = release_table(quarters[-1], "region_needs")
    column = table["columns"][0]["key"]
    wales = next(row for row in table["rows"] if row["key"] == "Wales")
    assert wales.get("no_member_service") and wales["values"][column] == 0

    page = signed_in("ministry").get(
        f"/dashboard/trend?table=region_needs&row=Wales&column={column}"
    )

    assert [line[-1] for line in _body_rows(page.text, "trend-table")] == [
        "0 (no member service)"
    ] * len(quarters)
    assert not SUPPRESSED_CELL.findall(page.text)


def test_trend_defaults_to_the_first_figure_of_the_newest_release(quarters, signed_in):
    table = json.loads(quarters[-1].content)["tables"][0]
    first_row = min(table["rows"], key=lambda row: row["label"].casefold())

    page = signed_in("coordinator").get("/dashboard/trend")

    assert page.status_code == 200
    assert first_row["label"] in page.text and table["columns"][0]["label"] in page.text
    assert len(_body_rows(page.text, "trend-table")) == len(quarters)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("table=cases", "table"),
        ("table=prison_activity&row=XYZ", "row"),
        ("table=prison_activity&row=North+West", "row"),
        ("table=prison_activity&column=nothing", "column"),
    ],
)
def test_unknown_trend_choice_is_refused_naming_the_field(release, signed_in, query, field):
    page = signed_in("ministry").get(f"/dashboard/trend?{query}")

    assert page.status_code == 400
    assert f'href="#trend-{field}"' in page.text
    assert f'id="trend-{field}-error"' in page.text


def test_charity_staff_are_refused_the_trend_and_the_table_downloads(release, signed_in):
    client = signed_in("pops_admin")

    assert client.get("/dashboard/trend").status_code == 403
    for suffix in ("csv", "json"):
        assert client.get(f"/dashboard/releases/{release.id}/table.{suffix}").status_code == 403


def test_before_any_release_the_trend_says_so(signed_in):
    page = signed_in("ministry").get("/dashboard/trend")

    assert page.status_code == 200
    assert "No figures have been published yet." in page.text


# --- charts by region -----------------------------------------------------------------------


def test_region_chart_is_one_figure_by_region_with_suppressed_marked(release, signed_in):
    table = release_table(release, "region_needs")
    column = next(
        c for c in table["columns"] if any(row["values"][c["key"]] is None for row in table["rows"])
    )
    page = signed_in("ministry").get(f"/dashboard?table=region_needs&column={column['key']}")
    chart = _chart(page.text)

    assert chart["series"] == column["label"]
    assert chart["labels"] == [row["label"] for row in table["rows"]]
    assert chart["data"] == [row["values"][column["key"]] for row in table["rows"]]
    assert chart["marks"] == [
        "no member service"
        if row.get("no_member_service")
        else ("suppressed" if row["values"][column["key"]] is None else None)
        for row in table["rows"]
    ]


def test_unknown_chart_figure_is_refused_naming_the_field(release, signed_in):
    page = signed_in("ministry").get("/dashboard?table=region_needs&column=nothing")

    assert page.status_code == 400
    assert 'href="#filter-column"' in page.text


# --- the table as filtered, as CSV and JSON -----------------------------------------------------


def test_csv_of_the_table_as_filtered_has_its_rows_and_nothing_else(release, signed_in):
    client = signed_in("ministry")
    query = "table=prison_activity&region=North+West"
    response = client.get(f"/dashboard/releases/{release.id}/table.csv?{query}")
    again = client.get(f"/dashboard/releases/{release.id}/table.csv?{query}")
    table = release_table(release, "prison_activity")
    kept = [row for row in table["rows"] if row.get("region") == "North West"]
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    whole = list(csv.reader(io.StringIO(release_csv(json.loads(release.content)).decode())))

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data == again.data
    assert tuple(lines[0]) == HEADER
    assert kept and {line[4] for line in lines[1:]} == {
        *(row["key"] for row in kept),
        "excluded_families",
    }
    # Every line is the whole release's line for the same cell.
    assert all(line in whole for line in lines[1:])
    assert len(lines) - 1 == len(kept) * len(table["columns"]) + 1
    assert (
        'filename="continuum-2026Q3-r1-prison_activity.csv"'
        in response.headers["Content-Disposition"]
    )


def test_json_of_the_table_as_filtered_is_the_documents_rows_in_the_pages_order(release, signed_in):
    response = signed_in("ministry").get(
        f"/dashboard/releases/{release.id}/table.json?table=prison_activity&charity=pops"
    )
    table = release_table(release, "prison_activity")
    kept = sorted(
        (row for row in table["rows"] if "pops" in row["charities"]),
        key=lambda row: row["label"].casefold(),
    )
    body = response.get_json()

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert len(kept) > 1
    assert body["quarter"] == "2026Q3" and body["revision"] == 1
    assert body["release_sha256"] == release.sha256
    assert body["filters"] == {"table": "prison_activity", "charity": "pops"}
    assert body["table"]["rows"] == kept
    assert body["table"]["columns"] == table["columns"]
    assert body["table"]["excluded_families"] == table["excluded_families"]


def test_table_downloads_leave_the_stored_release_as_it_was(release, signed_in, app_sessions):
    client = signed_in("ministry")
    for suffix in ("csv", "json"):
        assert client.get(f"/dashboard/releases/{release.id}/table.{suffix}").status_code == 200

    with app_sessions() as session:
        stored = session.get(Release, release.id)
        assert stored is not None
        assert stored.content == release.content
        assert hashlib.sha256(stored.content.encode("utf-8")).hexdigest() == release.sha256


@pytest.mark.parametrize("suffix", ["csv", "json"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("table=cases", "table"),
        ("region=Atlantis", "region"),
        ("prison=XYZ", "prison"),
        ("charity=nobody", "charity"),
        ("quarter=2019Q1", "quarter"),
    ],
)
def test_table_download_refuses_an_unknown_filter_naming_the_field(
    release, signed_in, suffix, query, field
):
    response = signed_in("ministry").get(f"/dashboard/releases/{release.id}/table.{suffix}?{query}")

    assert response.status_code == 400
    assert f'href="#filter-{field}"' in response.text
    assert f'id="filter-{field}-error"' in response.text


def test_table_download_of_a_draft_or_missing_release_is_the_same_not_found(
    release, signed_in, app_sessions, world
):
    draft_id = build_quarter(app_sessions, world, Quarter(2026, 3), reason="a correction")
    client = signed_in("ministry")

    for suffix in ("json", "csv"):
        draft = client.get(f"/dashboard/releases/{draft_id}/table.{suffix}")
        missing = client.get(f"/dashboard/releases/{uuid.uuid4()}/table.{suffix}")
        assert draft.status_code == missing.status_code == 404
        assert draft.data == missing.data


def test_page_links_to_the_table_as_filtered(release, signed_in):
    page = signed_in("ministry").get("/dashboard?table=prison_activity&region=North+West")

    for suffix in ("csv", "json"):
        link = re.search(
            rf'href="(/dashboard/releases/{release.id}/table\.{suffix}\?[^"]*)"', page.text
        )
        assert link is not None, suffix
        assert "table=prison_activity" in link.group(1) and "region=North+West" in link.group(1)
