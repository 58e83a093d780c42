"""A ministry analyst reads the published 2026Q3 release in Chromium (issue 5 item 4, issue 12).

The analyst signs in with a password and a security code, opens the dashboard from the home
page, sees Chart.js draw the chosen table (from the JSON block, under the CSP), reads a
suppressed cell as "suppressed" in the table, downloads the CSV, and axe-core finds nothing to
fix. Every table fits the page at 1280 px and scrolls inside its own box on a 390 px phone,
where the chart still shows every label. The trend over published quarters draws a suppressed
quarter as a hatched band, and passes axe-core at both widths. Screenshots go to
test-artifacts/browser/ like the other journeys."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from app.domain.figures.periods import Quarter
from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.conftest import fresh_code
from tests.support.releases import figure_in_both, publish_quarter
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# How many pixels of a slot are the hatch's grey (#505a5f), read back from the canvas.
GREY_PIXELS = """([x, y, w, h]) => {
  const chart = Chart.getChart('dashboard-chart');
  const ratio = chart.currentDevicePixelRatio;
  const data = chart.ctx.getImageData(x * ratio, y * ratio, w * ratio, h * ratio).data;
  let grey = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - 80) < 30 && Math.abs(data[i + 1] - 90) < 30
        && Math.abs(data[i + 2] - 95) < 30) grey += 1;
  }
  return grey;
}"""


def _accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}: {violations}"


def _shoot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{backend}.png"), full_page=True)


def _sign_in(page, live_server, world, clock) -> None:  # type: ignore[no-untyped-def]
    analyst = world.actors["ministry"]
    page.goto(f"{live_server}/o/{analyst.org_slug}/login")
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(fresh_code(analyst.totp_secret, clock))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()


def _drawn(page) -> dict:  # type: ignore[no-untyped-def]
    """The chart Chart.js drew: its labels, the ticks its index axis shows, its box."""
    page.wait_for_function("() => window.Chart && Chart.getChart('dashboard-chart') !== undefined")
    return page.evaluate(  # type: ignore[no-any-return]
        """() => {
          const chart = Chart.getChart('dashboard-chart');
          const axis = chart.options.indexAxis === 'y' ? chart.scales.y : chart.scales.x;
          return {labels: chart.data.labels.length, ticks: axis.ticks.length,
                  width: chart.canvas.getBoundingClientRect().width,
                  right: chart.canvas.getBoundingClientRect().right,
                  area: chart.chartArea};
        }"""
    )


def _page_width(page) -> int:  # type: ignore[no-untyped-def]
    return page.evaluate("() => document.documentElement.scrollWidth")  # type: ignore[no-any-return]


def _table_box(page) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate(  # type: ignore[no-any-return]
        """() => {
          const box = document.querySelector('.app-table-scroll');
          return {scroll: box.scrollWidth, client: box.clientWidth,
                  overflow: getComputedStyle(box).overflowX};
        }"""
    )


def test_ministry_analyst_reads_the_chart_and_table_and_downloads_the_csv(
    page,
    live_server,
    world,
    backend,
    seeded,
    app_sessions,
    clock,
):
    release = publish_quarter(app_sessions, world)
    analyst = world.actors["ministry"]

    page.goto(f"{live_server}/o/{analyst.org_slug}/login")
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(fresh_code(analyst.totp_secret, clock))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()

    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Dashboard"
    ).click()
    expect(page.get_by_role("heading", name="Figures dashboard")).to_be_visible()
    page.get_by_label("Table", exact=True).select_option("prison_activity")
    page.get_by_role("button", name="Show figures").click()

    canvas = page.locator("canvas#dashboard-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('dashboard-chart') !== undefined")
    drawn = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas')).data.datasets.length"
    )
    assert drawn >= 1

    table = page.get_by_role(
        "table", name=re.compile("^Families supported and contacts, by prison")
    )
    document = json.loads(release.content)
    prison = next(t for t in document["tables"] if t["id"] == "prison_activity")
    # The seeded families are few: the release suppresses cells of this table.
    assert any(v is None for row in prison["rows"] for v in row["values"].values())
    expect(table.get_by_role("cell", name="suppressed").first).to_be_visible()
    expect(
        page.get_by_text("hidden so that a suppressed figure cannot be worked out")
    ).to_be_visible()
    _accessible(page, "dashboard")
    _shoot(page, "prison-activity", backend)

    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile(r"^Download every table of .*\(CSV\)$")).click()
    download = downloading.value
    assert download.suggested_filename == "continuum-2026Q3-r1.csv"
    saved = ARTIFACTS / f"dashboard-{backend}.csv"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"quarter,revision,table,")

    page.get_by_role("link", name="The rules applied to published figures").first.click()
    expect(page.get_by_role("heading", name="Rules applied to published figures")).to_be_visible()
    _accessible(page, "rules")

    csp = [m for m in page.console_messages if "Content Security Policy" in m]
    assert csp == []


def test_tables_fit_the_page_at_1280_and_scroll_in_their_own_box_on_a_phone(
    page,
    live_server,
    world,
    backend,
    seeded,
    app_sessions,
    clock,
):
    release = publish_quarter(app_sessions, world)
    document = json.loads(release.content)
    _sign_in(page, live_server, world, clock)

    page.set_viewport_size(DESKTOP)
    for table in document["tables"]:
        page.goto(f"{live_server}/dashboard?table={table['id']}")
        box = _table_box(page)
        assert box["scroll"] <= box["client"], (table["id"], box)
        assert _page_width(page) <= DESKTOP["width"], table["id"]
        drawn = _drawn(page)
        assert drawn["ticks"] == drawn["labels"], table["id"]  # every row named on the axis
    _accessible(page, "dashboard at 1280 px")

    page.set_viewport_size(PHONE)
    # A national table is drawn on its side (a row per category), so the widest is another.
    widest = max(
        (t for t in document["tables"] if t["dimension"] != "national"),
        key=lambda t: len(t["columns"]),
    )
    page.goto(f"{live_server}/dashboard?table={widest['id']}")
    box = _table_box(page)
    assert box["overflow"] == "auto"
    assert box["scroll"] > box["client"], box  # the table scrolls inside its box...
    assert _page_width(page) <= PHONE["width"]  # ...and the page does not scroll sideways
    drawn = _drawn(page)
    assert drawn["right"] <= PHONE["width"] and drawn["width"] >= 300
    assert drawn["ticks"] == drawn["labels"]
    _accessible(page, "dashboard at 390 px")
    _shoot(page, "phone", backend)
    page.locator("figure.app-dashboard-chart").screenshot(
        path=str(ARTIFACTS / f"dashboard-phone-chart-{backend}.png")
    )


def test_ministry_analyst_reads_a_trend_with_its_suppressed_quarter_marked(
    page,
    live_server,
    world,
    backend,
    seeded,
    app_sessions,
    clock,
):
    quarters = [
        publish_quarter(app_sessions, world, Quarter(2026, 2)),
        publish_quarter(app_sessions, world, threshold=1, base=1),
    ]
    table, row, column = figure_in_both(quarters)
    values = [
        next(r for r in json.loads(q.content)["tables"] if r["id"] == table) for q in quarters
    ]
    values = [next(r for r in t["rows"] if r["key"] == row)["values"][column] for t in values]
    suppressed, published = (
        values.index(None),
        next(i for i, v in enumerate(values) if v is not None),
    )
    _sign_in(page, live_server, world, clock)

    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server}/dashboard")
        page.get_by_role("link", name="Trends across published quarters").click()
        expect(page.get_by_role("heading", name="Trend across published quarters")).to_be_visible()
        page.get_by_label("Table", exact=True).select_option(table)
        page.get_by_label("Prison", exact=True).select_option(row)
        page.get_by_label("Figure", exact=True).select_option(column)
        page.get_by_role("button", name="Show trend").click()

        trend = page.get_by_role("table", name=re.compile("by published quarter, oldest first$"))
        expect(trend.get_by_role("row")).to_have_count(1 + len(quarters))
        expect(trend.get_by_role("cell", name="suppressed")).to_have_count(1)
        drawn = _drawn(page)
        assert drawn["ticks"] == drawn["labels"] == len(quarters)
        assert drawn["right"] <= viewport["width"]
        assert _page_width(page) <= viewport["width"]
        # The suppressed quarter's slot is hatched; the published quarter's slot is not.
        slots = page.evaluate(
            """(indexes) => {
              const chart = Chart.getChart('dashboard-chart');
              const area = chart.chartArea;
              return indexes.map((i) => [chart.scales.x.getPixelForValue(i) - 10, area.top + 4,
                                         20, (area.bottom - area.top) / 3]);
            }""",
            [suppressed, published],
        )
        assert page.evaluate(GREY_PIXELS, slots[0]) > 20
        assert page.evaluate(GREY_PIXELS, slots[1]) == 0
        _accessible(page, f"trend at {viewport['width']} px")
        _shoot(page, f"trend-{viewport['width']}", backend)
        page.locator("figure.app-dashboard-chart").screenshot(
            path=str(ARTIFACTS / f"dashboard-trend-chart-{viewport['width']}-{backend}.png")
        )

    csp = [m for m in page.console_messages if "Content Security Policy" in m]
    assert csp == []
