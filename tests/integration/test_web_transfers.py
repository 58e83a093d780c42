"""The staff web pages for transfers between charities, driven as the people at each end drive
them: a POPS worker at Liverpool proposes and offers a family's case to NEPACS (Durham), a NEPACS
manager reads the offer and answers it, and everyone else sees nothing they should not.

The receiver's page is read for what must NOT be there as much as for what must: the family's
consent here covers who they are, so a contact summary and a case note recorded before the offer
never reach NEPACS's HTML. Rows are counted below every wall (the owner on SQLite, the superuser
on PostgreSQL), so a write the app could not see would still count.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.transfers.machine import TransferReason
from app.domain.vocabulary import ConsentPurpose, ContactKind, DataCategory
from app.models import Case, CaseStatus, CaseTransfer
from app.services import transfers
from app.services.cases import casework
from app.services.platform.audit import Origin
from app.services.transfers.steps import steps_of
from tests.conftest import csrf_from
from tests.support.cases import Desk, desks, give_consent
from tests.support.clock import DEFAULT_NOW
from tests.support.world import World

# The app's clock is the test's (tests/support/clock.py); the desks read it too.
TODAY = DEFAULT_NOW.date()
CONTACT_SECRET = "Talked through the visit booking with Shannon at the gate"
NOTE_SECRET = "Worried about the eldest at school this week"
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')

Sessions = sessionmaker[Session]
Clients = Callable[[str], FlaskClient]


@pytest.fixture
def case_id(world: World) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


# --- helpers ---------------------------------------------------------------------------------


def _transfer_count(all_rows: Sessions) -> int:
    with all_rows() as session:
        return session.scalar(select(func.count()).select_from(CaseTransfer)) or 0


def _state(all_rows: Sessions, transfer_id: uuid.UUID) -> str:
    with all_rows() as session:
        return session.get_one(CaseTransfer, transfer_id).state


def _case_status(all_rows: Sessions, case_id: uuid.UUID) -> str:
    with all_rows() as session:
        return session.get_one(Case, case_id).status


def _summary_links(html: str) -> list[str]:
    summary = html[html.index("govuk-error-summary") :]
    summary = summary[: summary.index("</ul>")]
    return re.findall(r'<a href="#([^"]+)">', summary)


def _step(client: FlaskClient, transfer_id: uuid.UUID, step: str, **data: str):
    """Press a button on the transfer page, as a browser does: with the page's CSRF token and
    (for offer and accept) its idempotency key."""
    page = client.get(f"/transfers/{transfer_id}")
    assert page.status_code == 200, page.text
    form: dict[str, str] = {"csrf_token": csrf_from(page.text), **data}
    key = IDEMPOTENCY.search(page.text)
    if key is not None and step in ("offer", "accept"):
        form["idempotency_key"] = key[1]
    return client.post(f"/transfers/{transfer_id}/{step}", data=form)


def _consent_to_nepacs(desk: Callable[..., Desk], world: World, case_id: uuid.UUID) -> None:
    give_consent(
        desk("pops_liverpool"),
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY}),
    )


def _offered(desk: Callable[..., Desk], world: World, case_id: uuid.UUID) -> uuid.UUID:
    """A transfer of the Liverpool case to Durham, consented (identity only) and offered."""
    _consent_to_nepacs(desk, world, case_id)
    worker = desk("pops_liverpool")
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    return worker.do(transfers.offer_transfer, proposed.id).id


# --- the happy path through the web ------------------------------------------------------------


def test_pops_worker_offers_through_the_web_and_nepacs_manager_accepts_only_what_was_consented(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID, all_rows: Sessions
):
    worker = desk("pops_liverpool")
    worker.do(
        casework.add_contact, case_id, kind=ContactKind.PHONE, occurred_on=TODAY,
        summary=CONTACT_SECRET,
    )  # fmt: skip
    worker.do(casework.add_note, case_id, body=NOTE_SECRET)
    _consent_to_nepacs(desk, world, case_id)
    liverpool, manager = signed_in("pops_liverpool"), signed_in("nepacs_manager")

    choose = liverpool.get(f"/cases/{case_id}/transfers/new")
    assert choose.status_code == 200 and 'value="DMI"' in choose.text
    assert 'value="WDI"' not in choose.text  # POPS's own prisons are no destination
    check = liverpool.get(f"/cases/{case_id}/transfers/new?to_prison_code=DMI")
    assert check.status_code == 200
    assert "Transfer to NEPACS" in check.text and "Goes" in check.text
    proposed = liverpool.post(
        f"/cases/{case_id}/transfers/new",
        data={
            "to_prison_code": "DMI",
            "reason": "person_moved",
            "csrf_token": csrf_from(check.text),
        },
    )
    assert proposed.status_code == 302, proposed.text
    transfer_id = uuid.UUID(proposed.location.rsplit("/", 1)[-1])
    assert _state(all_rows, transfer_id) == "proposed"

    offered = _step(liverpool, transfer_id, "offer")
    assert offered.status_code == 302, offered.text
    assert _state(all_rows, transfer_id) == "offered"

    listed = manager.get("/transfers")
    assert f"/transfers/{transfer_id}" in listed.text and "Waiting on you" in listed.text
    offer = manager.get(f"/transfers/{transfer_id}")
    assert offer.status_code == 200
    assert "Daniel Worldcase" in offer.text and "A1234BC" in offer.text
    assert "Accept the case" in offer.text
    for secret in (CONTACT_SECRET, NOTE_SECRET):
        assert secret not in offer.text and secret not in listed.text

    accepted = _step(manager, transfer_id, "accept")
    assert accepted.status_code == 302, accepted.text
    new_case = uuid.UUID(accepted.location.rsplit("/", 1)[-1])
    page = manager.get(accepted.location)
    assert page.status_code == 200
    assert "Transferred from POPS" in page.text and "Daniel Worldcase" in page.text
    for secret in (CONTACT_SECRET, NOTE_SECRET):
        assert secret not in page.text
    assert f"/cases/{new_case}" in manager.get(f"/transfers/{transfer_id}").text

    sender_page = liverpool.get(f"/cases/{case_id}")
    assert _case_status(all_rows, case_id) == CaseStatus.TRANSFERRED_OUT.value
    assert "Transferred out" in sender_page.text
    assert "Transfer to NEPACS (Durham (HMP &amp; YOI)): accepted" in sender_page.text
    assert "Transfer to NEPACS (Durham (HMP &amp; YOI)): offered" in sender_page.text
    assert "Transfer this family&#39;s case" not in sender_page.text


# --- steps dated by different clocks (issue 11) ---------------------------------------------------


def test_an_offer_dated_hours_ahead_of_the_server_is_still_answered_and_shown_in_order(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID, all_rows: Sessions
):
    """The rule (docs/decisions.md, "One clock"): steps are ordered by their place in the
    transfer, not by the time each clock wrote on them. An offer made by a desk (an import, the
    demo's --today, a feed) whose clock runs six hours ahead of the server's is answered through
    the web at the server's earlier time, and the page lists the answer after the offer."""
    ahead = DEFAULT_NOW + timedelta(hours=6)
    _consent_to_nepacs(desk, world, case_id)
    importer = replace(desk("pops_liverpool"), origin=Origin("import", clock=lambda: ahead))
    proposed = importer.do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    transfer_id = importer.do(transfers.offer_transfer, proposed.id).id

    manager = signed_in("nepacs_manager")
    declined = _step(manager, transfer_id, "decline", reason="no_capacity")
    assert declined.status_code == 302, declined.text
    assert _state(all_rows, transfer_id) == "declined"
    with all_rows() as session:
        taken = [(s.state, s.at) for s in steps_of(session, transfer_id)]
    assert [state for state, _ in taken] == ["proposed", "offered", "declined"]
    assert taken[-1][1] < taken[-2][1]  # the answer's own clock was behind the offer's

    page = signed_in("pops_liverpool").get(f"/transfers/{transfer_id}")
    timeline = page.text[page.text.index('id="steps"') :]
    titles = re.findall(r'moj-timeline__title">([^<]+)<', timeline)
    assert titles[:2] == ["Declined", "Offered"], titles  # newest first, by sequence


# --- who sees what -------------------------------------------------------------------------------


def test_nepacs_caseworker_sees_the_offer_but_may_not_accept_it(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID, all_rows: Sessions
):
    transfer_id = _offered(desk, world, case_id)
    durham = signed_in("nepacs_durham")
    assert f"/transfers/{transfer_id}" in durham.get("/transfers").text
    page = durham.get(f"/transfers/{transfer_id}")
    assert page.status_code == 200 and "Daniel Worldcase" in page.text
    assert "Accept the case" not in page.text and "Decline the case" not in page.text
    refused = _step(durham, transfer_id, "accept", idempotency_key=str(uuid.uuid4()))
    assert refused.status_code == 403
    assert _state(all_rows, transfer_id) == "offered"


def test_pact_manager_gets_404_for_the_transfer_and_lists_nothing(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID
):
    transfer_id = _offered(desk, world, case_id)
    pact = signed_in("pact_manager")
    foreign = pact.get(f"/transfers/{transfer_id}")
    missing = pact.get(f"/transfers/{uuid.uuid4()}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.data == missing.data
    listed = pact.get("/transfers")
    assert listed.status_code == 200
    assert "/transfers/" + str(transfer_id) not in listed.text
    assert "No cases are on their way to you." in listed.text


def test_nepacs_manager_sees_nothing_of_a_transfer_proposed_but_not_offered(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID
):
    _consent_to_nepacs(desk, world, case_id)
    proposed = desk("pops_liverpool").do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    manager = signed_in("nepacs_manager")
    hidden = manager.get(f"/transfers/{proposed.id}")
    missing = manager.get(f"/transfers/{uuid.uuid4()}")
    assert hidden.status_code == 404 and hidden.data == missing.data
    listed = manager.get("/transfers")
    assert str(proposed.id) not in listed.text and "Incoming (0 open)" in listed.text
    assert signed_in("pops_liverpool").get(f"/transfers/{proposed.id}").status_code == 200


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "to_prison_code",
    [None, "", "WDI", "LPI", "ZZZ", "durham"],
    ids=["no-prison", "empty", "own-other-prison", "own-prison", "unknown-code", "not-a-code"],
)
def test_propose_form_refuses_bad_prison_naming_the_field_and_writes_nothing(
    signed_in: Clients, case_id: uuid.UUID, all_rows: Sessions, to_prison_code: str | None
):
    liverpool = signed_in("pops_liverpool")
    page = liverpool.get(f"/cases/{case_id}/transfers/new")
    data = {"csrf_token": csrf_from(page.text), "reason": "person_moved"}
    if to_prison_code is not None:
        data["to_prison_code"] = to_prison_code
    before = _transfer_count(all_rows)
    refused = liverpool.post(f"/cases/{case_id}/transfers/new", data=data)
    assert refused.status_code == 400, refused.text
    assert _summary_links(refused.text) == ["to_prison_code"]
    assert _transfer_count(all_rows) == before


def test_checking_consent_for_own_charitys_prison_names_the_field(
    signed_in: Clients, case_id: uuid.UUID
):
    page = signed_in("pops_liverpool").get(f"/cases/{case_id}/transfers/new?to_prison_code=WDI")
    assert page.status_code == 400
    assert _summary_links(page.text) == ["to_prison_code"]


def test_offer_without_consent_points_to_recording_it_and_changes_nothing(
    signed_in: Clients, desk, case_id: uuid.UUID, all_rows: Sessions
):
    proposed = desk("pops_liverpool").do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    liverpool = signed_in("pops_liverpool")
    page = liverpool.get(f"/transfers/{proposed.id}")
    assert "Awaiting consent" in page.text
    assert f"/cases/{case_id}/consents/new" in page.text
    assert "Offer the case" not in page.text
    refused = _step(liverpool, proposed.id, "offer", idempotency_key=str(uuid.uuid4()))
    assert refused.status_code == 409
    assert _summary_links(refused.text) == ["actions"]
    assert _state(all_rows, proposed.id) == "awaiting_consent"


def test_nepacs_manager_declines_with_a_reason_and_the_case_returns_to_the_sender(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID, all_rows: Sessions
):
    transfer_id = _offered(desk, world, case_id)
    assert _case_status(all_rows, case_id) == CaseStatus.TRANSFER_PENDING.value
    manager = signed_in("nepacs_manager")
    no_reason = _step(manager, transfer_id, "decline")
    assert no_reason.status_code == 400
    assert _summary_links(no_reason.text) == ["reason"]
    assert _state(all_rows, transfer_id) == "offered"
    declined = _step(manager, transfer_id, "decline", reason="no_capacity")
    assert declined.status_code == 302, declined.text
    assert _state(all_rows, transfer_id) == "declined"
    assert _case_status(all_rows, case_id) == CaseStatus.ACTIVE.value
    after = manager.get(f"/transfers/{transfer_id}")
    assert after.status_code == 200 and "Daniel Worldcase" not in after.text
    sender = signed_in("pops_liverpool").get(f"/transfers/{transfer_id}")
    assert "No capacity to take the case" in sender.text


def test_pops_worker_cancels_an_offer_and_nepacs_loses_sight_of_the_family(
    signed_in: Clients, desk, world: World, case_id: uuid.UUID, all_rows: Sessions
):
    transfer_id = _offered(desk, world, case_id)
    cancelled = _step(signed_in("pops_liverpool"), transfer_id, "cancel", reason="sent_in_error")
    assert cancelled.status_code == 302, cancelled.text
    assert _state(all_rows, transfer_id) == "cancelled"
    assert _case_status(all_rows, case_id) == CaseStatus.ACTIVE.value
    page = signed_in("nepacs_manager").get(f"/transfers/{transfer_id}")
    assert page.status_code == 200 and "Daniel Worldcase" not in page.text


# --- a receiving manager's request ---------------------------------------------------------------


@pytest.mark.parametrize("prison_number", ["A1234BC", "Z9999ZZ"], ids=["matches", "no-match"])
def test_nepacs_manager_request_says_only_that_it_was_sent(
    signed_in: Clients, all_rows: Sessions, prison_number: str
):
    manager = signed_in("nepacs_manager")
    form = manager.get("/transfers/requests/new")
    assert form.status_code == 200 and 'value="LPI"' in form.text
    sent = manager.post(
        "/transfers/requests/new",
        data={
            "prison_number": prison_number,
            "from_prison_code": "LPI",
            "to_prison_code": "DMI",
            "reason": "person_moved",
            "csrf_token": csrf_from(form.text),
        },
        follow_redirects=True,
    )
    assert sent.status_code == 200 and "Request sent" in sent.text
    assert "Daniel Worldcase" not in sent.text
    assert _transfer_count(all_rows) == 1


def test_request_form_names_every_missing_field_and_sends_nothing(
    signed_in: Clients, all_rows: Sessions
):
    manager = signed_in("nepacs_manager")
    form = manager.get("/transfers/requests/new")
    refused = manager.post(
        "/transfers/requests/new",
        data={"prison_number": "not a number", "csrf_token": csrf_from(form.text)},
    )
    assert refused.status_code == 400
    assert _summary_links(refused.text) == [
        "prison_number",
        "from_prison_code",
        "to_prison_code",
        "reason",
    ]
    assert _transfer_count(all_rows) == 0


def test_pops_worker_agrees_to_a_request_for_the_case(
    signed_in: Clients, desk, case_id: uuid.UUID, all_rows: Sessions
):
    requested = desk("nepacs_manager").do(
        transfers.request_transfer,
        prison_number="A1234BC",
        from_prison_code="LPI",
        to_prison_code="DMI",
        reason=TransferReason.PERSON_MOVED,
    )
    liverpool = signed_in("pops_liverpool")
    assert f"/transfers/{requested.id}" in liverpool.get("/transfers").text
    agreed = _step(liverpool, requested.id, "grant")
    assert agreed.status_code == 302, agreed.text
    assert _state(all_rows, requested.id) == "awaiting_consent"
    page = liverpool.get(f"/transfers/{requested.id}")
    assert "record the family&#39;s consent, then offer the case" in page.text
    assert "Awaiting consent" in page.text
    assert f"/cases/{case_id}/consents/new" in page.text


# --- what is overdue -------------------------------------------------------------------------------


def test_an_offer_nobody_answered_in_time_shows_overdue_and_cannot_be_accepted(
    app, signed_in: Clients, world: World, case_id: uuid.UUID, all_rows: Sessions
):
    weeks_ago = desks(app, world)("pops_liverpool", TODAY - timedelta(days=20))
    give_consent(
        weeks_ago,
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY}),
    )
    proposed = weeks_ago.do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    transfer_id = weeks_ago.do(transfers.offer_transfer, proposed.id).id
    manager = signed_in("nepacs_manager")
    for client in (manager, signed_in("pops_liverpool")):
        assert "Overdue" in client.get("/transfers").text
    with all_rows() as session:
        cases_before = session.scalar(select(func.count()).select_from(Case))
    late = _step(manager, transfer_id, "accept")
    assert late.status_code == 409
    assert _summary_links(late.text) == ["actions"]
    assert _state(all_rows, transfer_id) == "offered"
    with all_rows() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == cases_before
