"""The ministry's dashboard (issue 5 item 4), on SQLite and PostgreSQL: the ministry analyst and
the coordinator read the published release of 2026Q3 (families seeded at every charity by
tests/integration/test_metrics.py, few enough that most cells are suppressed); nobody else does;
downloads are the stored bytes, or a CSV that is the same bytes every time; drafts are missing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid

import pytest

from app.domain.release_csv import HEADER, release_csv, safe_text
from app.models.releases import Release
from tests.integration.test_metrics import desk, seeded  # noqa: F401
from tests.support.releases import build_quarter, publish_quarter

SUPPRESSED_CELL = re.compile(r"<td[^>]*>\s*<abbr class=\"app-suppressed\"[^>]*>suppressed</abbr>")


@pytest.fixture
def release(seeded, app_sessions, world) -> Release:  # noqa: F811
    return publish_quarter(app_sessions, world)


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


def test_chart_data_has_gaps_where_the_table_says_suppressed(release, signed_in):
    page = signed_in("ministry").get("/dashboard?table=prison_activity")
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text)
    assert block is not None
    chart = json.loads(block.group(1))
    document = json.loads(release.content)
    prison = next(t for t in document["tables"] if t["id"] == "prison_activity")

    assert chart["labels"] == [row["label"] for row in prison["rows"]]
    first = prison["columns"][0]["key"]
    assert chart["datasets"][0]["data"] == [row["values"][first] for row in prison["rows"]]


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
    from app.domain.metric_periods import Quarter

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
    from app.domain.metric_catalogue import CATALOGUE

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
