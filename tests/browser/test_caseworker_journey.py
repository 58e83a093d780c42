"""A Liverpool family support worker's round, in Chromium: sign in with a TOTP code, find a family
from the header search, record a phone call and the family's consent, and see both on the family
page's timeline and the consent receipt. axe-core checks every page; no page breaks the CSP."""

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


def _sign_in(page, live_server: str, actor, clock) -> None:
    page.goto(f"{live_server}/o/{actor.org_slug}/login")
    page.get_by_label("Username").fill(actor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(fresh_code(actor.totp_secret, clock))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your caseload")).to_be_visible()


def _choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def test_liverpool_worker_finds_a_family_records_a_call_and_consent(
    page, live_server, world, backend, clock
):
    actor = world.actors["pops_liverpool"]
    number, name = world.people[("pops", "LPI")]
    _sign_in(page, live_server, actor, clock)
    _accessible(page, "home")

    search = page.get_by_role("search", name="Find a family")
    search.get_by_label("Find a family by prison number or name").fill(number.lower())
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 case found")).to_be_visible()
    _accessible(page, "search results")
    page.get_by_role("link", name=re.compile(name)).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    _accessible(page, "family page")

    page.get_by_role("link", name="Record a contact").click()
    page.get_by_role("button", name="Save contact").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select the kind of contact")
    _accessible(page, "contact form with errors")
    summary.get_by_role("link", name="Select the kind of contact").click()
    assert page.evaluate("document.activeElement.id") == "kind"  # the link lands on the field
    _choose(page, "What kind of contact was it?", "Phone call")
    page.get_by_label("Summary (optional)").fill("Talked through the first visit to Liverpool.")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_text("Contact recorded")).to_be_visible()

    page.get_by_role("link", name="Record consent").click()
    _accessible(page, "consent form")
    _choose(page, "Whose consent is this?", "Person in custody")
    _choose(page, "What is the consent for?", "Contact the family and support them")
    _choose(page, "Was consent given or refused?", "Given")
    for category in ("Identity", "Contact details", "Needs"):
        _choose(page, "Which kinds of information does it cover?", category)
    _choose(page, "How was consent given?", "Verbal")
    _choose(page, "How was it checked?", "In person, identity seen")
    page.get_by_role("button", name="Save consent").click()
    expect(page.get_by_text("Consent recorded")).to_be_visible()

    timeline = page.locator(".moj-timeline")
    expect(timeline.get_by_role("heading", name="Phone call")).to_be_visible()
    expect(timeline.get_by_text("Talked through the first visit to Liverpool.")).to_be_visible()
    expect(
        timeline.get_by_role("heading", name="Consent given: contact the family")
    ).to_be_visible()
    _accessible(page, "family page with a contact and consent")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"caseworker-family-{backend}.png"), full_page=True)

    page.get_by_role("link", name=re.compile(r"^Receipt")).first.click()
    expect(page.get_by_role("heading", name="Your consent receipt")).to_be_visible()
    expect(page.get_by_text("Contact details")).to_be_visible()
    # The print button is hidden without JavaScript and shown by the external print.js.
    expect(page.get_by_role("button", name="Print this receipt")).to_be_visible()
    _accessible(page, "consent receipt")
    page.screenshot(path=str(ARTIFACTS / f"caseworker-receipt-{backend}.png"), full_page=True)

    csp = [m for m in page.console_messages if "Content Security Policy" in m]
    assert csp == []
