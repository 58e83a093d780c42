"""A ministry analyst reads the published 2026Q3 release in Chromium (issue 5 item 4).

The analyst signs in with a password and a security code, opens the dashboard from the home
page, sees Chart.js draw the chosen table (from the JSON block, under the CSP), reads a
suppressed cell as "suppressed" in the table, downloads the CSV, and axe-core finds nothing to
fix. Screenshots go to test-artifacts/browser/ like the other journeys."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.conftest import fresh_code
from tests.integration.test_metrics import desk, seeded  # noqa: F401
from tests.support.releases import publish_quarter
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


def _accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}: {violations}"


def _shoot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{backend}.png"), full_page=True)


def test_ministry_analyst_reads_the_chart_and_table_and_downloads_the_csv(
    page,
    live_server,
    world,
    backend,
    seeded,  # noqa: F811
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
        page.get_by_role("link", name="(CSV)").click()
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
