"""A family's case moves from POPS (Liverpool) to NEPACS (Durham), in Chromium (issue 4).

A POPS worker records a call, a note and the person in custody's consent to share their identity
and contacts with NEPACS, proposes the transfer to HMP Durham and offers it; a NEPACS site manager
sees exactly that in the offer (the note stays behind), accepts it and finds the family's case at
Durham; the POPS worker finds the old case transferred out and kept as it was. axe-core checks
every page; no page breaks the CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.conftest import fresh_code
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser

CALL = "Talked through the move to Durham with Mrs Worldcase."
NOTE = "Private worry about the older child, kept at Liverpool."


def _accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}: {violations}"


def _sign_in(page, live_server: str, actor, clock, offset_steps: int = 0) -> None:
    """Both steps; a second sign-in of the same actor uses the next code (the last is spent)."""
    page.goto(f"{live_server}/o/{actor.org_slug}/login")
    page.get_by_label("Username").fill(actor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(fresh_code(actor.totp_secret, clock, offset_steps))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your caseload")).to_be_visible()


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def _choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def _shoot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"transfer-{name}-{backend}.png"), full_page=True)


def _open_family(page, number: str, name: str) -> None:
    search = page.get_by_role("search", name="Find a family")
    search.get_by_label("Find a family by prison number or name").fill(number)
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 case found")).to_be_visible()
    page.get_by_role("link", name=re.compile(name)).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def _record_history(page) -> None:
    page.get_by_role("link", name="Record a contact").click()
    _choose(page, "What kind of contact was it?", "Phone call")
    page.get_by_label("Summary (optional)").fill(CALL)
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_text("Contact recorded")).to_be_visible()

    page.get_by_role("link", name="Add a note").click()
    _accessible(page, "note form")
    page.get_by_label("Note", exact=True).fill(NOTE)
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_text("Note added")).to_be_visible()


def _record_transfer_consent(page) -> None:
    page.get_by_role("link", name="Record consent").click()
    _accessible(page, "consent form")
    _choose(page, "Whose consent is this?", "Person in custody")
    _choose(page, "What is the consent for?", "Share with a named charity for a transfer")
    page.get_by_label("If for a transfer: which charity would the case go to?").select_option(
        label="NEPACS"
    )
    _choose(page, "Was consent given or refused?", "Given")
    for category in ("Identity", "Contacts"):
        _choose(page, "Which kinds of information does it cover?", category)
    _choose(page, "How was consent given?", "Verbal")
    _choose(page, "How was it checked?", "In person, identity seen")
    page.get_by_role("button", name="Save consent").click()
    expect(page.get_by_text("Consent recorded")).to_be_visible()
    expect(
        page.locator(".moj-timeline").get_by_role(
            "heading", name="Consent given: share with a named charity for a transfer"
        )
    ).to_be_visible()


def _propose_and_offer(page) -> None:
    page.get_by_role("link", name="Transfer this family's case").click()
    expect(page.get_by_role("heading", name="Transfer this family's case")).to_be_visible()
    _accessible(page, "choose a prison")
    prisons = page.get_by_label("Which prison is the person in custody moving to?")
    durham = prisons.locator("option", has_text=re.compile(r"^Durham .*\(NEPACS\)$")).text_content()
    prisons.select_option(label=durham)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Transfer to NEPACS at"))).to_be_visible()
    consents = page.get_by_role("table", name=re.compile("consent to sharing"))
    person = consents.get_by_role("row", name=re.compile("^Person in custody"))
    expect(person).to_contain_text("Goes")
    expect(person).to_contain_text("Identity")
    going = page.get_by_role("heading", name="Case records that would go").locator("+ ul")
    expect(going).to_have_text("Contacts")  # the notes stay behind
    expect(page.locator(".govuk-warning-text")).to_have_count(0)  # consent allows the offer
    _accessible(page, "confirm the transfer")
    page.get_by_role("button", name="Propose the transfer").click()

    expect(page.get_by_role("heading", name="Transfer to NEPACS", exact=True)).to_be_visible()
    _accessible(page, "proposed transfer")
    page.get_by_role("button", name="Offer the case to NEPACS").click()
    expect(page.get_by_text("Case offered")).to_be_visible()
    state = page.locator(".govuk-summary-list__row", has_text="State")
    expect(state).to_contain_text("Offered")
    expect(page.get_by_role("button", name="Offer the case to NEPACS")).to_have_count(0)
    _accessible(page, "offered transfer")


def test_pops_worker_offers_a_case_with_consent_and_nepacs_manager_accepts_only_what_was_agreed(
    page, live_server, world, backend, clock
):
    worker, manager = world.actors["pops_liverpool"], world.actors["nepacs_manager"]
    number, name = world.people[("pops", "LPI")]

    # 1. The POPS worker at Liverpool records history and the family's consent to the transfer.
    _sign_in(page, live_server, worker, clock)
    _accessible(page, "POPS home")
    _open_family(page, number, name)
    _accessible(page, "POPS family page")
    _record_history(page)
    _record_transfer_consent(page)
    _accessible(page, "POPS family page with consent")

    # 2. ... proposes the transfer to HMP Durham and offers it.
    _propose_and_offer(page)
    _shoot(page, "offered", backend)
    _sign_out(page)

    # 3. The NEPACS site manager at Durham sees the offer: what was agreed, and no note.
    _sign_in(page, live_server, manager, clock)
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Transfers"
    ).click()
    expect(page.get_by_role("heading", name="Transfers", level=1)).to_be_visible()
    _accessible(page, "NEPACS transfers")
    page.get_by_role("tab", name=re.compile("^Incoming")).click()
    page.locator("#incoming").get_by_role("link", name=re.compile("^POPS")).first.click()
    expect(page.get_by_role("heading", name="Transfer from POPS", exact=True)).to_be_visible()
    expect(page.get_by_text(name, exact=True)).to_be_visible()
    expect(page.get_by_text(CALL)).to_be_visible()
    assert NOTE not in page.content()
    _accessible(page, "NEPACS offer")
    _shoot(page, "offer-received", backend)
    page.get_by_role("button", name="Accept the case").click()

    expect(page.get_by_text("Transfer accepted")).to_be_visible()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.locator("p", has_text="Transferred from POPS")).to_be_visible()
    timeline = page.locator(".moj-timeline")
    expect(timeline.get_by_role("heading", name="Phone call")).to_be_visible()
    expect(timeline.get_by_text(CALL)).to_be_visible()
    assert NOTE not in page.content()
    expect(page.get_by_role("link", name="Record a contact")).to_be_visible()  # theirs now
    _accessible(page, "NEPACS family page")
    _shoot(page, "accepted", backend)
    _sign_out(page)

    # 4. The POPS worker finds the old case transferred out, kept as it was.
    _sign_in(page, live_server, worker, clock, offset_steps=1)
    _open_family(page, number, name)
    expect(page.locator(".govuk-inset-text")).to_contain_text("transferred out")
    expect(page.get_by_role("link", name="Record a contact")).to_have_count(0)
    expect(page.get_by_role("link", name="Transfer this family's case")).to_have_count(0)
    expect(
        page.locator(".moj-timeline").get_by_role(
            "heading", name=re.compile(r"^Transfer to NEPACS\b.*: accepted$")
        )
    ).to_be_visible()
    _accessible(page, "POPS family page after the transfer")
    _shoot(page, "transferred-out", backend)

    csp = [m for m in page.console_messages if "Content Security Policy" in m]
    assert csp == []
