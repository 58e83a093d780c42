"""A POPS caseworker at HMP Liverpool signs in with a TOTP code and opens a case for a referral,
in Chromium, with every page checked by axe-core and no Content Security Policy violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.conftest import fresh_code
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


def _accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}: {violations}"


def test_liverpool_caseworker_signs_in_and_opens_a_case(page, live_server, world, backend, clock):
    actor = world.actors["pops_liverpool"]
    page.goto(f"{live_server}/cases")
    assert page.url.endswith("/login")  # deny by default
    _accessible(page, "choose organisation")
    page.get_by_role("link", name="POPS").click()
    _accessible(page, "sign in")

    page.get_by_label("Username").fill(actor.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    _accessible(page, "sign in with errors")

    page.get_by_label("Username").fill(actor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/o/pops/login/code")
    _accessible(page, "security code")
    page.get_by_label("Security code").fill(fresh_code(actor.totp_secret, clock))
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Your caseload")).to_be_visible()
    # Our module scripts ran (they are deferred, so wait for them) under the strict CSP.
    page.locator("body.js-enabled.govuk-frontend-supported").wait_for(
        state="attached", timeout=5000
    )
    assert "LPI-20-WORLD" in page.content()
    assert "WDI-20-WORLD" not in page.content() and "DMI-20-WORLD" not in page.content()
    _accessible(page, "home")

    page.get_by_role("link", name="Open a case").click()
    referral = page.get_by_role("group", name="Date of referral")
    referral.get_by_label("Day").fill("31")
    referral.get_by_label("Month").fill("2")
    referral.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Open case").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    _accessible(page, "open a case with errors")

    referral = page.get_by_role("group", name="Date of referral")
    referral.get_by_label("Day").fill("2")
    page.get_by_label("Self-referral").check()
    page.get_by_label("Full name").first.fill("Robin Browsercase")
    page.get_by_label("Prison number", exact=True).fill("E6789FG")
    page.get_by_role("button", name="Open case").click()
    assert re.search(r"/cases/[0-9a-f-]{36}$", page.url)
    expect(page.get_by_role("heading", name="Robin Browsercase")).to_be_visible()
    assert "Case LPI-26-" in page.content()
    _accessible(page, "case")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"caseworker-case-{backend}.png"), full_page=True)

    page.get_by_role("link", name="Cases").first.click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    _accessible(page, "case list")

    page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/o/pops/login")
    page.goto(f"{live_server}/cases")
    assert page.url.endswith("/login")
    csp = [m for m in page.console_messages if "Content Security Policy" in m]
    assert csp == []
