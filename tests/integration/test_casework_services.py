"""The case-record use cases called directly, on SQLite and PostgreSQL: each read and write of
personal data is exactly one audit event naming the case first; a refused write leaves no row and
no event; search stays inside the caller's charity and prisons; and the manager-only actions
refuse caseworkers. (Consent immutability and encryption: test_case_record_integrity.py.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.errors import Forbidden, InvalidInput
from app.domain.outcomes import framework
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    ClosureReason,
    ConsentMethod,
    ConsentPurpose,
    ConsentVerification,
    ContactKind,
    Disability,
    Ethnicity,
    MemberKind,
    Relationship,
    Sex,
)
from app.models import AuditEntry, Base, Case, CaseStatus
from app.services.cases.access_log import who_viewed
from app.services.cases.caseload import caseload
from app.services.cases.cases import close_case, update_case
from app.services.cases.casework import (
    add_action,
    add_contact,
    add_note,
    record_assessment,
    settle_action,
)
from app.services.cases.consent_withdrawal import withdraw_consent
from app.services.cases.consents import consent_receipt
from app.services.cases.equality import EqualityAnswers, read_equality, record_equality
from app.services.cases.family_file import add_member, read_family
from app.services.cases.referrals import open_case
from app.services.cases.search import find_cases
from app.services.platform import audit
from tenants.model import is_tenant_table
from tests.support.cases import TODAY, Desk, give_consent

NEW_PERSON = PersonDetails(name="Ann Example", prison_number="C3456DE")
PARTNER = MemberDetails(
    kind=MemberKind.ADULT, relationship=Relationship.PARTNER, name="Bethany Quill"
)
SCORES = dict.fromkeys(framework().area_codes(), 5)
TENANT_MODELS = [m.class_ for m in Base.registry.mappers if is_tenant_table(m.local_table)]


@pytest.fixture
def lpi(world) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


def _events(app_sessions) -> list[AuditEntry]:
    with app_sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _last_event(app_sessions, charity_id: uuid.UUID) -> AuditEntry:
    with app_sessions() as session:
        return session.scalars(
            select(AuditEntry)
            .where(AuditEntry.chain == str(charity_id))
            .order_by(AuditEntry.sequence.desc())
            .limit(1)
        ).one()


# --- audit: exactly one event per read or write, naming the case first ------------------------

# Each arranges what it needs, then returns the one call under test.
Operation = Callable[[Desk, uuid.UUID], Callable[[], object]]


def _settle_action(d: Desk, case_id: uuid.UUID) -> Callable[[], object]:
    item = d.do(add_action, case_id, description="Book a family day", owner=ActionOwner.WORKER)
    return lambda: d.do(settle_action, case_id, item.id, status=ActionStatus.DONE)


def _withdraw_consent(d: Desk, case_id: uuid.UUID) -> Callable[[], object]:
    consent = give_consent(d, case_id)
    return lambda: d.do(
        withdraw_consent,
        case_id,
        consent.id,
        method=ConsentMethod.WRITTEN,
        verification=ConsentVerification.SIGNED_FORM,
    )


def _consent_receipt(d: Desk, case_id: uuid.UUID) -> Callable[[], object]:
    consent = give_consent(d, case_id)
    return lambda: d.do(consent_receipt, case_id, consent.id)


def _caseload(d: Desk, case_id: uuid.UUID) -> Callable[[], object]:
    d.do(update_case, case_id, review_due_on=TODAY)  # so the home page shows the case
    return lambda: d.do(caseload)


def _record_equality(d: Desk, case_id: uuid.UUID) -> Callable[[], object]:
    member = d.do(add_member, case_id, PARTNER)
    answers = EqualityAnswers(Ethnicity.WHITE_IRISH, Sex.FEMALE, Disability.NO)
    return lambda: d.do(record_equality, case_id, member.id, answers)


OPERATIONS: dict[str, Operation] = {
    "open_case": lambda d, _: lambda: d.do(open_case, prison_code="LPI", person=NEW_PERSON),
    "read_family": lambda d, c: lambda: d.do(read_family, c),
    "update_case": lambda d, c: lambda: d.do(update_case, c, safeguarding=True),
    "close_case": lambda d, c: lambda: d.do(close_case, c, reason=ClosureReason.OUTCOMES_MET),
    "add_member": lambda d, c: lambda: d.do(add_member, c, PARTNER),
    "add_contact": lambda d, c: (
        lambda: d.do(
            add_contact, c, kind=ContactKind.VISIT, occurred_on=TODAY, first_time_visitor=True
        )
    ),
    "add_note": lambda d, c: lambda: d.do(add_note, c, body="Talked through visiting times."),
    "record_assessment": lambda d, c: (
        lambda: d.do(record_assessment, c, assessed_on=TODAY, scores=SCORES)
    ),
    "add_action": lambda d, c: (
        lambda: d.do(add_action, c, description="Call the school", owner=ActionOwner.WORKER)
    ),
    "settle_action": _settle_action,
    "record_consent": lambda d, c: lambda: give_consent(d, c),
    "withdraw_consent": _withdraw_consent,
    "consent_receipt": _consent_receipt,
    "find_cases": lambda d, _: lambda: d.do(find_cases, "A1234BC"),
    "caseload": _caseload,
    "read_equality": lambda d, c: lambda: d.do(read_equality, c),
    "record_equality": _record_equality,
    "who_viewed": lambda d, c: lambda: d.do(who_viewed, c),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_read_and_write_of_a_case_is_one_audit_event_naming_the_case_first(
    operation, desk, app_sessions, world, lpi
):
    manager = desk("pops_manager")
    call = OPERATIONS[operation](manager, lpi)
    charity = manager.context.charity_id
    before = _events(app_sessions)
    result = call()
    after = _events(app_sessions)
    assert len(after) == len(before) + 1
    new = _last_event(app_sessions, charity)
    expected = result.id if isinstance(result, Case) else lpi
    assert json.loads(new.record_ids)[0] == str(expected)
    assert new.actor == str(manager.context.user_id)
    with app_sessions() as session:
        assert audit.verify(session, str(charity)).ok


# --- a refused write leaves nothing ----------------------------------------------------------

REFUSED_WRITES: dict[str, Callable[[Desk, uuid.UUID], object]] = {
    "open_case": lambda d, _: d.do(
        open_case, prison_code="LPI", person=PersonDetails("Ann Example", "not a number")
    ),
    "update_case": lambda d, c: d.do(update_case, c, review_due_on=date(2020, 1, 1)),
    "close_case": lambda d, c: d.do(
        close_case, c, reason=ClosureReason.OTHER, closed_on=date(2020, 1, 1)
    ),
    "add_member": lambda d, c: d.do(
        add_member, c, MemberDetails(MemberKind.CHILD, Relationship.CHILD, name="Kit")
    ),
    "add_contact": lambda d, c: d.do(
        add_contact, c, kind=ContactKind.PHONE, occurred_on=TODAY + timedelta(days=1)
    ),
    "add_note": lambda d, c: d.do(add_note, c, body="   "),
    "record_assessment": lambda d, c: d.do(
        record_assessment, c, assessed_on=TODAY, scores={**SCORES, "work": 11}
    ),
    "add_action": lambda d, c: d.do(add_action, c, description="", owner=ActionOwner.FAMILY),
    "record_consent": lambda d, c: give_consent(d, c, purpose=ConsentPurpose.TRANSFER),
    "record_equality": lambda d, c: d.do(
        record_equality,
        c,
        uuid.uuid4(),
        EqualityAnswers(Ethnicity.NOT_STATED, Sex.NOT_STATED, Disability.NOT_STATED),
    ),
}


def _snapshot(d: Desk, case_id: uuid.UUID) -> tuple[dict[str, int], tuple[object, ...]]:
    """Rows of every case table the actor can see, and what a failed change could have touched."""
    with d.session() as session:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in TENANT_MODELS
        }
        case = session.get_one(Case, case_id)
        return counts, (case.status, case.review_due_on, case.closed_on, case.updated_at)


@pytest.mark.parametrize("operation", sorted(REFUSED_WRITES))
def test_an_invalid_write_leaves_no_row_and_no_event(operation, desk, app_sessions, lpi):
    manager = desk("pops_manager")
    rows_before = _snapshot(manager, lpi)
    events_before = len(_events(app_sessions))
    with pytest.raises(InvalidInput) as refused:
        REFUSED_WRITES[operation](manager, lpi)
    assert refused.value.errors
    assert _snapshot(manager, lpi) == rows_before
    assert len(_events(app_sessions)) == events_before


# --- search stays in scope ---------------------------------------------------------------------


def test_a_prison_number_finds_only_the_callers_charity_and_prisons(desk, world, lpi):
    manager = desk("pops_manager")
    moved = manager.do(
        open_case, prison_code="WDI", person=PersonDetails("Daniel Moved", "A1234BC")
    )
    found = [s.case.id for s in desk("pops_liverpool").do(find_cases, "a1234 bc")]
    assert found == [lpi]
    assert {s.case.id for s in manager.do(find_cases, "A1234BC")} == {lpi, moved.id}
    durham = [s.case.id for s in desk("nepacs_durham").do(find_cases, "A1234BC")]
    assert durham == [world.cases[("nepacs", "DMI")]]


def test_a_name_search_matches_part_of_a_name_within_scope(desk, world, lpi):
    worker = desk("pops_liverpool")
    worker.do(add_member, lpi, PARTNER)

    def found(who: Desk, words: str) -> list[uuid.UUID]:
        return [s.case.id for s in who.do(find_cases, words)]

    assert found(worker, "worldc") == [lpi]
    assert found(worker, "DANIEL world") == [lpi]
    assert found(worker, "quill") == [lpi]
    assert found(worker, "Wakefieldcase") == []
    assert found(worker, "Durhamcase") == []
    assert found(desk("pops_manager"), "wakefield") == [world.cases[("pops", "WDI")]]
    with pytest.raises(InvalidInput):
        worker.do(find_cases, "d")


# --- manager-only actions -----------------------------------------------------------------------


def test_a_caseworker_cannot_close_a_safeguarding_case_and_a_site_manager_can(desk, lpi):
    worker, manager = desk("pops_liverpool"), desk("pops_manager")
    worker.do(update_case, lpi, safeguarding=True)
    with pytest.raises(Forbidden):
        worker.do(close_case, lpi, reason=ClosureReason.OUTCOMES_MET)
    assert worker.do(read_family, lpi).case.status == CaseStatus.ACTIVE.value
    closed = manager.do(close_case, lpi, reason=ClosureReason.OUTCOMES_MET)
    assert (closed.status, closed.closed_on) == (CaseStatus.CLOSED.value, TODAY)


def test_who_viewed_lists_reads_of_the_familys_cases_for_a_manager_only(desk, world, lpi):
    worker, manager = desk("pops_liverpool"), desk("pops_manager")
    family_id = worker.do(read_family, lpi).case.family_id
    second = worker.do(open_case, prison_code="LPI", family_id=family_id)
    worker.do(read_family, second.id)
    desk("pops_wakefield").do(read_family, world.cases[("pops", "WDI")])
    accesses = manager.do(who_viewed, lpi)
    seen = [(a.actor, a.action) for a in accesses]
    assert seen.count(("pops_liverpool", "case.read")) == 2
    assert ("pops_liverpool", "case.create") in seen
    assert all(actor != "pops_wakefield" for actor, _ in seen)
    assert all(a.source == "test" for a in accesses)
    with pytest.raises(Forbidden):
        worker.do(who_viewed, lpi)
