"""The consent gate of a transfer as a pure rule (app.domain.transfers.consent_gate, DESIGN.md
sections 5 and 6): nothing goes without the person in custody's consent to this transfer, to this
charity, in force on the day; each adult goes only under their own consent and an adult without one
stays behind without blocking the rest; case-level records go only when every adult who goes agreed;
children go under the adults' "children" category or a consent given for them. No database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.consent import ConsentFacts
from app.domain.transfers.consent_gate import (
    CASE_CATEGORIES,
    PERSON_IN_CUSTODY,
    Person,
    transfer_gate,
)
from app.domain.vocabulary import ConsentDecision, ConsentPurpose, DataCategory

ON = date(2026, 3, 2)
RECEIVER = uuid.uuid4()
OTHER_CHARITY = uuid.uuid4()
PARTNER = str(uuid.uuid4())
GRANDMOTHER = str(uuid.uuid4())
CHILD = str(uuid.uuid4())
PEOPLE = (
    Person(PERSON_IN_CUSTODY),
    Person(PARTNER),
    Person(GRANDMOTHER),
    Person(CHILD, is_child=True),
)
IDENTITY = DataCategory.IDENTITY


def consent(
    subject_key: str = PERSON_IN_CUSTODY,
    *categories: DataCategory,
    purpose: ConsentPurpose = ConsentPurpose.TRANSFER,
    recipient: uuid.UUID | None = RECEIVER,
    decision: ConsentDecision = ConsentDecision.GIVEN,
    valid_from: date = ON - timedelta(days=30),
    expires_on: date | None = ON + timedelta(days=300),
) -> ConsentFacts:
    return ConsentFacts(
        id=uuid.uuid4(),
        subject_key=subject_key,
        purpose=purpose,
        decision=decision,
        categories=frozenset(categories or (IDENTITY,)),
        valid_from=valid_from,
        expires_on=expires_on,
        recipient_charity_id=recipient,
    )


def withdrawal_of(record: ConsentFacts, on: date) -> ConsentFacts:
    return ConsentFacts(
        id=uuid.uuid4(),
        subject_key=record.subject_key,
        purpose=record.purpose,
        decision=ConsentDecision.WITHDRAWN,
        categories=record.categories,
        valid_from=on,
        expires_on=None,
        recipient_charity_id=record.recipient_charity_id,
        withdraws_id=record.id,
    )


def gate_of(*records: ConsentFacts, on: date = ON):
    return transfer_gate(records, PEOPLE, receiver=RECEIVER, on=on)


def assert_nothing_goes(gate) -> None:
    assert not gate.open
    assert gate.case_categories == frozenset()
    assert gate.consent_ids == ()
    for person in PEOPLE:
        assert not gate.goes(person.key)
        assert gate.categories_for(person.key) == frozenset()


# --- the person in custody's consent ---------------------------------------------------------


def test_a_valid_transfer_consent_from_the_person_in_custody_opens_the_gate():
    record = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.NEEDS)
    gate = gate_of(record)
    assert gate.open
    assert gate.goes(PERSON_IN_CUSTODY)
    assert gate.categories_for(PERSON_IN_CUSTODY) == record.categories
    assert gate.case_categories == frozenset({DataCategory.NEEDS})
    assert gate.consent_ids == (record.id,)


def test_without_the_person_in_custodys_consent_nothing_goes_even_with_every_adults():
    everything = tuple(DataCategory)
    gate = gate_of(consent(PARTNER, *everything), consent(GRANDMOTHER, *everything))
    assert_nothing_goes(gate)


def test_with_no_consent_at_all_nothing_goes():
    assert_nothing_goes(gate_of())


def _expired() -> list[ConsentFacts]:
    return [consent(valid_from=ON - timedelta(days=60), expires_on=ON - timedelta(days=1))]


def _not_yet_valid() -> list[ConsentFacts]:
    return [consent(valid_from=ON + timedelta(days=1), expires_on=ON + timedelta(days=100))]


def _withdrawn() -> list[ConsentFacts]:
    record = consent()
    return [record, withdrawal_of(record, ON - timedelta(days=1))]


def _withdrawn_today() -> list[ConsentFacts]:
    record = consent()
    return [record, withdrawal_of(record, ON)]


CLOSING = {
    "for_another_charity": lambda: [consent(recipient=OTHER_CHARITY)],
    "naming_no_charity": lambda: [consent(recipient=None)],
    "to_contact_the_family": lambda: [consent(purpose=ConsentPurpose.CONTACT, recipient=None)],
    "for_statistics": lambda: [consent(purpose=ConsentPurpose.STATISTICS, recipient=None)],
    "expired": _expired,
    "not_yet_valid": _not_yet_valid,
    "withdrawn": _withdrawn,
    "withdrawn_today": _withdrawn_today,
    "refused": lambda: [consent(decision=ConsentDecision.REFUSED, expires_on=None)],
    "without_identity": lambda: [consent(PERSON_IN_CUSTODY, DataCategory.NEEDS)],
}


@pytest.mark.parametrize("records", CLOSING.values(), ids=CLOSING.keys())
def test_a_person_in_custody_consent_that_is_not_for_this_transfer_today_closes_the_gate(records):
    adult = consent(PARTNER, IDENTITY, DataCategory.NEEDS)
    assert_nothing_goes(gate_of(*records(), adult))


def test_a_consent_still_opens_the_gate_on_its_last_day_and_the_day_before_a_withdrawal():
    lasting = consent(expires_on=ON)
    assert gate_of(lasting).open
    withdrawn = consent()
    assert gate_of(withdrawn, withdrawal_of(withdrawn, ON + timedelta(days=1))).open


def test_a_refusal_recorded_beside_a_valid_consent_does_not_close_the_gate():
    """A later "no" ends nothing by itself: only a withdrawal naming the consent does."""
    record = consent()
    refusal = consent(decision=ConsentDecision.REFUSED, valid_from=ON, expires_on=None)
    assert gate_of(record, refusal).consent_ids == (record.id,)


# --- adults ----------------------------------------------------------------------------------


def test_an_adult_without_their_own_consent_stays_behind_without_blocking_the_rest():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.NOTES)
    partner = consent(PARTNER, IDENTITY, DataCategory.NOTES)
    gate = gate_of(pic, partner)
    assert gate.open
    assert gate.goes(PARTNER)
    assert not gate.goes(GRANDMOTHER)
    assert gate.categories_for(GRANDMOTHER) == frozenset()
    assert gate.case_categories == frozenset({DataCategory.NOTES})
    assert set(gate.consent_ids) == {pic.id, partner.id}


@pytest.mark.parametrize("records", CLOSING.values(), ids=CLOSING.keys())
def test_an_adults_consent_that_is_not_for_this_transfer_today_leaves_them_behind(records):
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.NEEDS)
    theirs = [replace(r, subject_key=PARTNER) for r in records()]  # the same, the partner's
    gate = gate_of(pic, *theirs)
    assert gate.open
    assert not gate.goes(PARTNER)
    assert gate.categories_for(PARTNER) == frozenset()
    # An adult who stays behind does not narrow what goes of the case.
    assert gate.case_categories == frozenset({DataCategory.NEEDS})


def test_case_categories_are_what_every_going_adult_agreed_to():
    pic = consent(
        PERSON_IN_CUSTODY, IDENTITY, DataCategory.NEEDS, DataCategory.NOTES, DataCategory.CONTACTS
    )
    partner = consent(
        PARTNER, IDENTITY, DataCategory.NEEDS, DataCategory.CONTACTS, DataCategory.ASSESSMENTS
    )
    grandmother = consent(GRANDMOTHER, IDENTITY, DataCategory.CONTACTS, DataCategory.NEEDS)
    gate = gate_of(pic, partner, grandmother)
    assert gate.case_categories == frozenset({DataCategory.NEEDS, DataCategory.CONTACTS})


def test_contact_details_go_per_person_under_their_own_consent():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY)
    partner = consent(PARTNER, IDENTITY, DataCategory.CONTACT_DETAILS)
    grandmother = consent(GRANDMOTHER, IDENTITY)
    gate = gate_of(pic, partner, grandmother)
    assert DataCategory.CONTACT_DETAILS in gate.categories_for(PARTNER)
    assert DataCategory.CONTACT_DETAILS not in gate.categories_for(GRANDMOTHER)
    assert DataCategory.CONTACT_DETAILS not in gate.categories_for(PERSON_IN_CUSTODY)
    # Contact details are a person's own, never a category of the case as a whole.
    assert DataCategory.CONTACT_DETAILS not in gate.case_categories


# --- children --------------------------------------------------------------------------------


def test_children_go_when_every_going_adult_agreed_to_childrens_details():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.CHILDREN)
    partner = consent(PARTNER, IDENTITY, DataCategory.CHILDREN)
    gate = gate_of(pic, partner)
    assert gate.goes(CHILD)
    assert gate.categories_for(CHILD) == frozenset({IDENTITY})


def test_children_stay_behind_when_one_going_adult_left_childrens_details_out():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.CHILDREN)
    partner = consent(PARTNER, IDENTITY)
    gate = gate_of(pic, partner)
    assert DataCategory.CHILDREN not in gate.case_categories
    assert not gate.goes(CHILD)
    assert gate.categories_for(CHILD) == frozenset()


def test_a_child_goes_under_a_consent_given_for_them_alone():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY)
    child = consent(CHILD, IDENTITY, DataCategory.CONTACT_DETAILS)
    gate = gate_of(pic, child)
    assert gate.goes(CHILD)
    assert gate.categories_for(CHILD) == child.categories
    assert child.id in gate.consent_ids


def test_a_childs_consent_does_not_narrow_or_widen_the_case_categories():
    """The adults decide what of the case goes; a consent given for a child speaks for the child."""
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.NOTES, DataCategory.NEEDS)
    child = consent(CHILD, IDENTITY, DataCategory.ASSESSMENTS)
    gate = gate_of(pic, child)
    assert gate.case_categories == frozenset({DataCategory.NOTES, DataCategory.NEEDS})


# --- properties --------------------------------------------------------------------------------

_categories = st.frozensets(st.sampled_from(list(DataCategory)))


@st.composite
def _records(draw: st.DrawFn, key: str) -> list[ConsentFacts]:
    """Records of one person: perhaps a valid transfer consent, then up to three of any purpose,
    recipient, window and decision, some withdrawn (a withdrawal may close the valid one too)."""
    records: list[ConsentFacts] = []
    if draw(st.booleans()):  # often one that would do, so that many families get through
        records.append(consent(key, IDENTITY, *draw(_categories)))
    for _ in range(draw(st.integers(0, 3))):
        start = ON + timedelta(days=draw(st.integers(-400, 30)))
        record = consent(
            key,
            *draw(_categories),
            purpose=draw(st.sampled_from(list(ConsentPurpose))),
            recipient=draw(st.sampled_from([RECEIVER, OTHER_CHARITY, None])),
            decision=draw(st.sampled_from([ConsentDecision.GIVEN, ConsentDecision.REFUSED])),
            valid_from=start,
            expires_on=start + timedelta(days=draw(st.integers(0, 730))),
        )
        records.append(record)
        if draw(st.booleans()):
            when = ON + timedelta(days=draw(st.integers(-60, 60)))
            records.append(withdrawal_of(record, when))
    return records


@st.composite
def _families(draw: st.DrawFn) -> tuple[list[Person], list[ConsentFacts]]:
    people = [Person(PERSON_IN_CUSTODY)] + [
        Person(str(uuid.uuid4()), is_child=draw(st.booleans()))
        for _ in range(draw(st.integers(0, 4)))
    ]
    records = [r for person in people for r in draw(_records(person.key))]
    return people, records


@settings(max_examples=300)
@given(_families())
def test_case_categories_are_always_within_every_going_adults_consent(family):
    people, records = family
    gate = transfer_gate(records, people, receiver=RECEIVER, on=ON)
    assert gate.case_categories <= CASE_CATEGORIES
    children = {p.key for p in people if p.is_child}
    for person in people:
        if not gate.goes(person.key):
            assert gate.categories_for(person.key) == frozenset()
            continue
        assert gate.open
        consent_used = gate.consents.get(person.key)
        if consent_used is None:  # a child going under the adults' "children" category
            assert person.key in children
            assert DataCategory.CHILDREN in gate.case_categories
            continue
        assert consent_used.purpose is ConsentPurpose.TRANSFER
        assert consent_used.decision is ConsentDecision.GIVEN
        assert consent_used.recipient_charity_id == RECEIVER
        assert consent_used.valid_from <= ON
        assert consent_used.expires_on is None or consent_used.expires_on >= ON
        assert IDENTITY in consent_used.categories
        assert not any(r.withdraws_id == consent_used.id and r.valid_from <= ON for r in records)
        if person.key not in children:
            assert gate.case_categories <= consent_used.categories


@settings(max_examples=200)
@given(_families())
def test_nothing_goes_when_the_person_in_custodys_consent_is_absent(family):
    people, records = family
    without = [r for r in records if r.subject_key != PERSON_IN_CUSTODY]
    gate = transfer_gate(without, people, receiver=RECEIVER, on=ON)
    assert not gate.open
    assert gate.case_categories == frozenset()
    assert gate.consent_ids == ()
    for person in people:
        assert not gate.goes(person.key)
        assert gate.categories_for(person.key) == frozenset()


# --- keeping an offer --------------------------------------------------------------------------


def test_the_gate_keeps_an_offer_while_every_consent_it_rests_on_is_still_in_force():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.NEEDS)
    partner = consent(PARTNER, IDENTITY, DataCategory.NEEDS)
    at_offer = gate_of(pic, partner)
    offered = (at_offer.consent_ids, at_offer.case_categories)
    assert gate_of(pic, partner, on=ON + timedelta(days=7)).keeps(*offered)
    # Another adult consenting later, to the same, changes nothing of what was offered.
    grandmother = consent(GRANDMOTHER, IDENTITY, DataCategory.NEEDS)
    assert gate_of(pic, partner, grandmother).keeps(*offered)


def test_the_gate_drops_an_offer_when_an_adult_it_carries_withdraws():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY)
    partner = consent(PARTNER, IDENTITY, DataCategory.CONTACT_DETAILS)
    at_offer = gate_of(pic, partner)
    later = gate_of(pic, partner, withdrawal_of(partner, ON))
    assert later.open  # the person in custody's consent alone would still open it
    assert not later.keeps(at_offer.consent_ids, at_offer.case_categories)


def test_the_gate_drops_an_offer_when_a_consent_it_rests_on_lapses():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY)
    partner = consent(PARTNER, IDENTITY, expires_on=ON + timedelta(days=2))
    at_offer = gate_of(pic, partner)
    later = gate_of(pic, partner, on=ON + timedelta(days=3))
    assert later.open
    assert not later.keeps(at_offer.consent_ids, at_offer.case_categories)


def test_the_gate_drops_an_offer_when_the_family_narrows_what_goes():
    pic = consent(PERSON_IN_CUSTODY, IDENTITY, DataCategory.NOTES)
    at_offer = gate_of(pic)
    narrower = consent(PERSON_IN_CUSTODY, IDENTITY, valid_from=ON)
    later = gate_of(pic, narrower)
    assert later.open and DataCategory.NOTES not in later.case_categories
    assert not later.keeps(at_offer.consent_ids, at_offer.case_categories)
    # A new adult whose consent leaves notes out narrows the case as well.
    partner = consent(PARTNER, IDENTITY)
    assert not gate_of(pic, partner).keeps(at_offer.consent_ids, at_offer.case_categories)


def test_a_closed_gate_keeps_nothing():
    pic = consent()
    at_offer = gate_of(pic)
    assert not gate_of(pic, withdrawal_of(pic, ON)).keeps(at_offer.consent_ids, frozenset())
