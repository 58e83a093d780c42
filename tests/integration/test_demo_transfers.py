"""The demo's transfers between charities (app.demo.transfers), on both databases: a transfer in
every state, each as its story says, and the walk-through of issue 4 taken through the services:
a POPS worker at HMP Risley records the family's consent and offers the case to NEPACS because
the person in custody moved to HMP Durham; a NEPACS manager sees only what was consented and
accepts; the family's record continues at NEPACS; POPS keeps it read-only; both audit chains
verify."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.demo.charities import CHARITIES, DEMO_USERS, current_code, notification_email
from app.demo.families import HISTORY_LETTERS
from app.demo.histories import ContactPlan, NotePlan
from app.demo.transfer_stories import WALK_THROUGH, plan_transfer_stories
from app.domain.errors import Conflict, NotFound, TransferConsentMissing
from app.domain.transfers.machine import Party, TransferOrigin, TransferState
from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    DataCategory,
)
from app.models import AuditEntry, Case, CaseStatus, CaseTransfer, Organisation, User
from app.security.totp import STEP_SECONDS
from app.services import transfers
from app.services.cases import casework, consents, family_file
from app.services.transfers import views
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.conftest import csrf_from
from tests.support.cases import Desk, origin_on

# A fixed day and a small demo keep the tests quick and their expectations exact (the histories
# and their transfers, without the bulk background: test_demo_background).
DEMO_TODAY = date(2026, 3, 2)
FAMILIES = 12
NO_BACKGROUND = ("--background", "0")
DEMO = ("--families", str(FAMILIES), *NO_BACKGROUND)
STORIES = {story.key: story for story in plan_transfer_stories(DEMO_TODAY)}
WALK = STORIES[WALK_THROUGH]


@pytest.fixture
def demo(demo_copy):
    """A copy of the demo run on DEMO_TODAY, the app on the test's clock."""
    return demo_copy(*DEMO, "--today", str(DEMO_TODAY)).app


def _desk(app, who: str) -> Desk:
    """A demo user ("org/username") at work on the demo's today."""
    slug, username = who.split("/")
    state = app.extensions["continuum"]
    with state.session_factory() as session:
        user = session.scalars(
            select(User)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(Organisation.slug == slug, User.username == username)
        ).one()
        context = TenantContext(user.organisation_id, user.prison_codes, user.role_enum, user.id)
    return Desk(context, state.session_factory, state.root_key, origin_on(DEMO_TODAY))


def _display_name(who: str | None) -> str:
    return next(f"{u.display_name}" for u in DEMO_USERS if f"{u.organisation}/{u.username}" == who)


def _everywhere(app, slug: str) -> TenantContext:
    """The charity at every prison it serves or served."""
    spec = next(spec for spec in CHARITIES if spec.slug == slug)
    with app.extensions["continuum"].session_factory() as session:
        charity = session.scalars(select(Organisation.id).where(Organisation.slug == slug)).one()
    return TenantContext(
        charity, frozenset(code for code, _, _ in spec.services), Role.SITE_MANAGER
    )


def _transfers(app) -> dict[uuid.UUID, CaseTransfer]:
    """Every transfer either charity is party to, as each sees it through the walls."""
    found: dict[uuid.UUID, CaseTransfer] = {}
    for slug in ("pops", "nepacs"):
        with app.extensions["continuum"].session_factory() as session:
            bind_tenant(session, _everywhere(app, slug))
            found |= {row.id: row for row in session.scalars(select(CaseTransfer))}
    return found


def _walk_through(app) -> CaseTransfer:
    """The walk-through family's transfer: the only one from Risley to Durham."""
    route = WALK.route
    (row,) = [
        row
        for row in _transfers(app).values()
        if (row.sender_prison_code, row.receiver_prison_code)
        == (route.prison_code, route.to_prison_code)
    ]
    return row


def _shape(origin: TransferOrigin | str, state: TransferState | str, sender: str, to: str):
    return (str(origin), str(state), sender, to)


def test_the_same_day_draws_the_same_stories_and_a_later_day_moves_only_their_dates():
    assert {s.key: s for s in plan_transfer_stories(DEMO_TODAY)} == STORIES
    later = {s.key: s for s in plan_transfer_stories(DEMO_TODAY + timedelta(days=30))}
    for key, story in STORIES.items():
        assert later[key].begun_on - story.begun_on == timedelta(days=30)
        if story.casework is not None:
            assert later[key].casework.family.person.name == story.casework.family.person.name
    # Each family's prison number is its own, and none a history could draw: a movement or a
    # request for one of them finds that family only.
    numbers = [s.casework.family.person.prison_number for s in STORIES.values() if s.casework]
    numbers += [s.asked_for for s in STORIES.values() if s.asked_for]
    assert len(set(numbers)) == len(numbers)
    assert not {number[0] for number in numbers} & set(HISTORY_LETTERS)


def test_demo_seeds_a_transfer_in_every_state_each_as_its_story_says(demo):
    rows = _transfers(demo)
    assert Counter(
        _shape(row.origin, row.state, row.sender_prison_code, row.receiver_prison_code)
        for row in rows.values()
    ) == Counter(
        _shape(s.origin, s.state, s.route.prison_code, s.route.to_prison_code)
        for s in STORIES.values()
    )
    # Every state a step can reach: a proposal made before the family agreed awaits consent,
    # one made after stands proposed.
    assert {TransferState(row.state) for row in rows.values()} == set(TransferState)
    (ready,) = [row for row in rows.values() if row.state == TransferState.PROPOSED]
    steps = _desk(demo, STORIES["proposed"].route.sender).do(views.read_transfer, ready.id).steps
    assert [(s.state, s.party) for s in steps] == [(TransferState.PROPOSED, Party.SENDER)]
    assert {row.origin for row in rows.values()} == {
        TransferOrigin.SENDER,
        TransferOrigin.MOVEMENT,
        TransferOrigin.RECEIVER_REQUEST,
    }
    # NEPACS's managers see one offer overdue and one still in time; nothing before an offer.
    incoming = _desk(demo, "nepacs/ne.manager").do(views.list_transfers, side=Party.RECEIVER)
    offered = [t for t in incoming if t.state is TransferState.OFFERED]
    assert sorted(t.overdue for t in offered) == [False, True]
    assert not {TransferState.PROPOSED, TransferState.AWAITING_CONSENT} & {
        t.state for t in incoming
    }
    # POPS has an offer from NEPACS waiting for its manager at Risley.
    mine = _desk(demo, "pops/nw.manager").do(views.list_transfers, side=Party.RECEIVER)
    assert [t.receiver_prison_code for t in mine if t.state is TransferState.OFFERED] == ["RSI"]
    with demo.extensions["continuum"].session_factory() as session:
        emails = dict(
            session.execute(select(Organisation.slug, Organisation.notification_email)).all()
        )
    assert {slug: emails[slug] for slug in ("pops", "nepacs")} == {
        "pops": notification_email("pops"),
        "nepacs": notification_email("nepacs"),
    }
    # Running the demo again adds no transfer.
    again = demo.test_cli_runner().invoke(
        args=[
            "demo",
            "--no-serve",
            "--families",
            str(FAMILIES),
            *NO_BACKGROUND,
            "--today",
            str(DEMO_TODAY),
        ]
    )
    assert again.exit_code == 0, again.output
    assert set(_transfers(demo)) == set(rows)


def test_demo_accounts_include_a_risley_caseworker_and_a_durham_site_manager(demo, tmp_path):
    credentials = json.loads((tmp_path / "instance" / "demo-credentials.json").read_text())
    worker, manager = _desk(demo, "pops/risley.worker"), _desk(demo, "nepacs/ne.manager")
    assert credentials["pops/risley.worker"]["role"] == Role.CASEWORKER.value
    assert worker.context.prison_codes == {"RSI"}
    assert credentials["nepacs/ne.manager"]["role"] == Role.SITE_MANAGER.value
    assert "DMI" in manager.context.prison_codes


def test_accepted_story_continues_at_nepacs_with_its_history_and_pops_keeps_it_read_only(demo):
    story = STORIES["accepted"]
    assert story.casework is not None
    row = next(r for r in _transfers(demo).values() if r.state == TransferState.ACCEPTED)
    durham = _desk(demo, "nepacs/durham.worker")
    with durham.session() as session:
        received = session.scalars(select(Case).where(Case.transfer_id == row.id)).one()
    file = durham.do(family_file.read_family, received.id)
    assert received.transferred_from_prison_code == story.route.prison_code
    assert file.person.name == story.casework.family.person.name
    carried_on = [c.summary for c in story.carried_on if isinstance(c, ContactPlan)]
    assert {c.summary for c in file.contacts} == {
        *(c.summary for c in story.casework.contacts),
        *carried_on,
    }
    # Notes were not consented to: only the receiver's own went on the new case.
    assert {n.body for n in file.notes} == {
        n.body for n in story.carried_on if isinstance(n, NotePlan)
    }
    assert file.key_worker == _display_name(story.carried_on_by)
    pops = _desk(demo, story.route.sender)
    with pops.session() as session:
        assert session.get_one(Case, row.sender_case_id).status == CaseStatus.TRANSFERRED_OUT
    with pytest.raises(Conflict):
        pops.do(casework.add_note, row.sender_case_id, body="Too late: the case has moved.")


def test_walk_through_waits_at_risley_for_the_familys_consent_and_nepacs_sees_nothing(demo):
    row = _walk_through(demo)
    assert (row.origin, row.state) == (TransferOrigin.MOVEMENT, TransferState.AWAITING_CONSENT)
    assert not row.receiver_sees
    worker = _desk(demo, "pops/risley.worker")
    detail = worker.do(views.read_transfer, row.id)
    assert detail.summary.side is Party.SENDER
    # The feed's proposal found no consent, so the platform set it waiting in the same moment.
    assert [(s.state, s.party) for s in detail.steps] == [
        (TransferState.PROPOSED, Party.PLATFORM),
        (TransferState.AWAITING_CONSENT, Party.PLATFORM),
    ]
    assert detail.steps[0].at == detail.steps[1].at
    assert not detail.gate_open
    assert not any(person.goes for person in detail.consents)
    file = worker.do(family_file.read_family, row.sender_case_id)
    work = WALK.casework
    assert work is not None
    assert file.person.name == work.family.person.name
    assert sorted(m.kind for m in file.members) == ["adult", "adult", "child"]
    assert len(file.contacts) == len(work.contacts)
    assert len(file.notes) == len(work.notes) and len(file.assessments) == 2
    assert set(file.needs) == {need.value for need in work.needs}
    with pytest.raises(NotFound):
        _desk(demo, "nepacs/ne.manager").do(views.read_transfer, row.id)


def test_risley_worker_offers_with_consent_and_nepacs_manager_accepts_only_what_was_consented(
    demo,
):
    row = _walk_through(demo)
    work = WALK.casework
    assert work is not None
    worker, manager = _desk(demo, "pops/risley.worker"), _desk(demo, "nepacs/ne.manager")
    with pytest.raises(TransferConsentMissing):
        worker.do(transfers.offer_transfer, row.id)
    worker.do(
        consents.record_consent,
        row.sender_case_id,
        subject=ConsentSubject.PERSON_IN_CUSTODY,
        purpose=ConsentPurpose.TRANSFER,
        decision=ConsentDecision.GIVEN,
        method=ConsentMethod.WRITTEN,
        verification=ConsentVerification.SIGNED_FORM,
        categories=frozenset({DataCategory.IDENTITY, DataCategory.CONTACTS, DataCategory.NEEDS}),
        recipient_charity_id=manager.context.charity_id,
    )
    assert worker.do(views.read_transfer, row.id).gate_open
    worker.do(transfers.offer_transfer, row.id)

    offer = manager.do(views.read_transfer, row.id)
    assert offer.summary.state is TransferState.OFFERED
    assert offer.package is not None
    assert offer.package["person"]["name"] == work.family.person.name
    assert {c["summary"] for c in offer.package["contacts"]} == {c.summary for c in work.contacts}
    assert sorted(offer.package["needs"]) == sorted(need.value for need in work.needs)
    # Not consented: the notes, the assessments, the action plan, and the family members (no
    # member gave their own consent, and children's details were not included).
    assert not {"notes", "assessments", "actions"} & set(offer.package)
    assert offer.package["members"] == []
    shown = json.dumps(offer.package)
    assert not [n.body for n in work.notes if n.body in shown]
    assert not [m.name for m in work.family.members if m.name in shown]
    assert set(offer.offered_categories) == {DataCategory.CONTACTS, DataCategory.NEEDS}

    accepted = manager.do(transfers.accept_transfer, row.id, idempotency_key="walk-through-1")
    received = manager.do(family_file.read_family, accepted.case_id)
    assert received.case.status == CaseStatus.ACTIVE
    assert received.case.prison_code == WALK.route.to_prison_code
    assert received.case.transferred_from_prison_code == WALK.route.prison_code
    assert received.person.name == work.family.person.name
    assert {c.summary for c in received.contacts} == {c.summary for c in work.contacts}
    assert received.notes == () and received.assessments == ()
    with worker.session() as session:
        sender_case = session.get_one(Case, row.sender_case_id)
        assert sender_case.status == CaseStatus.TRANSFERRED_OUT
    # POPS still reads its record, and cannot add to it.
    kept = worker.do(family_file.read_family, row.sender_case_id)
    assert len(kept.notes) == len(work.notes)
    with pytest.raises(Conflict):
        worker.do(casework.add_note, row.sender_case_id, body="Daniel settled in at Durham.")

    # Both charities' chains record the acceptance, each naming its own case, and verify.
    pops, nepacs = worker.context.charity_id, manager.context.charity_id
    with demo.extensions["continuum"].session_factory() as session:
        accepts = {
            entry.chain: entry.record_ids
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "transfer.accept")
            )
            if str(row.id) in entry.record_ids
        }
    assert str(row.sender_case_id) in accepts[str(pops)]
    assert str(accepted.case_id) in accepts[str(nepacs)]
    verified = demo.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    for charity in (pops, nepacs):
        assert f"ok {charity} " in verified.output


# --- the walk-through in the browser, step by step as docs/user-guide.md tells it -----------


def _sign_in(app: Flask, credentials: dict, who: str) -> FlaskClient:
    """A demo user signs in with the printed password and a code from their TOTP secret."""
    entry = credentials[who]
    org = entry["organisation"]
    clock = app.extensions["continuum"].clock
    # A code is good once: the next sign-in comes a code's life (30 seconds) later.
    clock.advance(timedelta(seconds=STEP_SECONDS))
    client = app.test_client()
    page = client.get(f"/o/{org}/login")
    answer = client.post(
        f"/o/{org}/login",
        data={
            "username": entry["username"],
            "password": entry["password"],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert answer.status_code == 302, answer.text
    page = client.get(f"/o/{org}/login/code")
    answer = client.post(
        f"/o/{org}/login/code",
        data={"code": current_code(entry, clock().timestamp()), "csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 302 and answer.location == "/", answer.text
    return client


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no {name} on the page"
    return found.group(1)


def _post(client: FlaskClient, page: str, url: str, data: dict) -> TestResponse:
    return client.post(url, data={"csrf_token": csrf_from(page), **data})


@pytest.fixture
def demo_now(demo_copy):
    """The demo as a reader starts it: its histories lead up to today, by the app's clock."""
    return demo_copy(*DEMO).app


def test_readme_walk_through_in_the_browser_moves_the_case_from_risley_to_durham(
    demo_now, tmp_path
):
    app, work = demo_now, WALK.casework
    assert work is not None
    credentials = json.loads((tmp_path / "instance" / "demo-credentials.json").read_text())
    row = _walk_through(app)
    transfer, case = f"/transfers/{row.id}", f"/cases/{row.sender_case_id}"

    # POPS, HMP Risley: Transfers, then the outgoing transfer to NEPACS, Risley to Durham.
    worker = _sign_in(app, credentials, "pops/risley.worker")
    assert transfer in worker.get("/transfers").text
    page = worker.get(transfer).text
    assert "Record consent" in page and "Offer the case" not in page
    # Record consent: the person in custody, for a transfer to NEPACS.
    form = worker.get(f"{case}/consents/new").text
    with app.extensions["continuum"].session_factory() as session:
        nepacs = session.scalars(select(Organisation.id).where(Organisation.slug == "nepacs")).one()
    assert f'value="{nepacs}"' in form
    today = app.extensions["continuum"].clock().date()
    saved = _post(
        worker,
        form,
        f"{case}/consents/new",
        {
            "subject": "person_in_custody",
            "purpose": "transfer",
            "recipient_charity_id": str(nepacs),
            "decision": "given",
            "categories": ["identity", "contacts", "needs"],
            "method": "written",
            "verification": "signed_form",
            "valid_from-day": str(today.day),
            "valid_from-month": str(today.month),
            "valid_from-year": str(today.year),
        },
    )
    assert saved.status_code == 302 and saved.location == case, saved.text
    # From the family page's transfers, back to the transfer: offer the case.
    assert transfer in worker.get(case).text
    page = worker.get(transfer).text
    assert "Offer the case to NEPACS" in page
    offered = _post(
        worker, page, f"{transfer}/offer", {"idempotency_key": _hidden(page, "idempotency_key")}
    )
    assert offered.status_code == 302, offered.text

    # NEPACS, HMP Durham: the manager sees the offer, only what was consented, and accepts.
    manager = _sign_in(app, credentials, "nepacs/ne.manager")
    assert transfer in manager.get("/transfers").text
    page = manager.get(transfer).text
    shown = html.unescape(page)
    assert work.family.person.name in shown
    assert all(contact.summary in shown for contact in work.contacts)
    assert not [note.body for note in work.notes if note.body in shown]
    assert not [m.name for m in work.family.members if m.name in shown]
    accepted = _post(
        manager, page, f"{transfer}/accept", {"idempotency_key": _hidden(page, "idempotency_key")}
    )
    assert accepted.status_code == 302, accepted.text
    received = html.unescape(manager.get(accepted.location).text)
    assert work.family.person.name in received and "Transferred from" in received
    assert all(contact.summary in received for contact in work.contacts)

    # POPS keeps its record, read-only; both audit chains verify.
    assert case in worker.get("/search", query_string={"q": "Whitfield"}).text
    kept = html.unescape(worker.get(case).text)
    assert "Transferred out" in kept
    assert all(note.body in kept for note in work.notes)
    # Each side's managers see the transfer under "who has viewed this family", from their own
    # charity's audit trail.
    pops_manager = _sign_in(app, credentials, "pops/nw.manager")
    assert "Offered the case to another charity" in pops_manager.get(f"{case}/access-log").text
    assert "Accepted a transfer of the case" in manager.get(f"{accepted.location}/access-log").text
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
