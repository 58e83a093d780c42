"""Consent validity as pure rules (app.domain.consent, DESIGN.md section 5): which consent is in
force on a day, for which purpose, data, recipient and person; withdrawal works forward from its
own date; and when a family objects to statistical use. No Flask, no database."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from app.domain.consent import (
    DEFAULT_VALIDITY,
    ConsentFacts,
    ConsentState,
    default_expiry,
    objects_to_statistics,
    state_of,
    valid_consent,
    withdrawals,
)
from app.domain.vocabulary import ConsentDecision, ConsentPurpose, DataCategory

GIVEN_ON = date(2026, 3, 1)
PIC = "person_in_custody"
SISTER = str(uuid.uuid4())
RECEIVER = uuid.uuid4()
OTHER_CHARITY = uuid.uuid4()
EVERYTHING = frozenset(DataCategory)


def given(
    *,
    purpose: ConsentPurpose = ConsentPurpose.CONTACT,
    subject_key: str = PIC,
    categories: frozenset[DataCategory] = frozenset({DataCategory.IDENTITY}),
    valid_from: date = GIVEN_ON,
    expires_on: date | None = None,
    recipient: uuid.UUID | None = None,
) -> ConsentFacts:
    return ConsentFacts(
        id=uuid.uuid4(),
        subject_key=subject_key,
        purpose=purpose,
        decision=ConsentDecision.GIVEN,
        categories=categories,
        valid_from=valid_from,
        expires_on=expires_on if expires_on is not None else default_expiry(valid_from),
        recipient_charity_id=recipient,
    )


def refused(purpose: ConsentPurpose, on: date, subject_key: str = PIC) -> ConsentFacts:
    return ConsentFacts(
        id=uuid.uuid4(),
        subject_key=subject_key,
        purpose=purpose,
        decision=ConsentDecision.REFUSED,
        categories=frozenset(),
        valid_from=on,
        expires_on=None,
    )


def withdrawal(of: ConsentFacts, on: date) -> ConsentFacts:
    return ConsentFacts(
        id=uuid.uuid4(),
        subject_key=of.subject_key,
        purpose=of.purpose,
        decision=ConsentDecision.WITHDRAWN,
        categories=of.categories,
        valid_from=on,
        expires_on=None,
        recipient_charity_id=of.recipient_charity_id,
        withdraws_id=of.id,
    )


# --- state_of ---------------------------------------------------------------------------------


def test_a_given_consent_is_active_from_its_first_day_to_its_last():
    consent = given(expires_on=GIVEN_ON + timedelta(days=30))
    assert state_of(consent, GIVEN_ON, {}) is ConsentState.ACTIVE
    assert state_of(consent, GIVEN_ON + timedelta(days=30), {}) is ConsentState.ACTIVE


def test_a_consent_is_not_yet_valid_the_day_before_it_starts():
    assert state_of(given(), GIVEN_ON - timedelta(days=1), {}) is ConsentState.NOT_YET_VALID


def test_a_consent_has_expired_the_day_after_its_last_day():
    consent = given(expires_on=GIVEN_ON + timedelta(days=30))
    assert state_of(consent, GIVEN_ON + timedelta(days=31), {}) is ConsentState.EXPIRED


def test_a_refusal_is_a_refusal_on_every_day():
    refusal = refused(ConsentPurpose.CONTACT, GIVEN_ON)
    for day in (GIVEN_ON - timedelta(days=1), GIVEN_ON, GIVEN_ON + timedelta(days=400)):
        assert state_of(refusal, day, {}) is ConsentState.REFUSED


def test_withdrawal_works_forward_from_its_own_date():
    consent = given()
    withdrawn_on = GIVEN_ON + timedelta(days=10)
    known = withdrawals([consent, withdrawal(consent, withdrawn_on)])
    assert state_of(consent, withdrawn_on - timedelta(days=1), known) is ConsentState.ACTIVE
    assert state_of(consent, withdrawn_on, known) is ConsentState.WITHDRAWN
    assert state_of(consent, withdrawn_on + timedelta(days=200), known) is ConsentState.WITHDRAWN


def test_a_withdrawal_record_grants_nothing_of_its_own_on_any_day():
    consent = given()
    record = withdrawal(consent, GIVEN_ON + timedelta(days=10))
    known = withdrawals([consent, record])
    for day in (GIVEN_ON, record.valid_from, record.valid_from + timedelta(days=30)):
        assert state_of(record, day, known) is ConsentState.WITHDRAWN


def test_the_earliest_of_two_withdrawals_counts():
    consent = given()
    late = withdrawal(consent, GIVEN_ON + timedelta(days=20))
    early = withdrawal(consent, GIVEN_ON + timedelta(days=5))
    assert withdrawals([consent, late, early]) == {consent.id: early.valid_from}
    assert withdrawals([consent, early, late]) == {consent.id: early.valid_from}


def test_default_expiry_is_one_year():
    assert default_expiry(GIVEN_ON) == GIVEN_ON + DEFAULT_VALIDITY
    assert timedelta(days=365) == DEFAULT_VALIDITY


# --- valid_consent ----------------------------------------------------------------------------


def test_valid_consent_finds_the_consent_for_the_purpose_asked_about():
    contact = given(purpose=ConsentPurpose.CONTACT)
    statistics = given(purpose=ConsentPurpose.STATISTICS)
    found = valid_consent(
        [contact, statistics], subject_key=PIC, purpose=ConsentPurpose.CONTACT, on=GIVEN_ON
    )
    assert found == contact


def contact_consent_of(records: list[ConsentFacts], subject_key: str) -> ConsentFacts | None:
    return valid_consent(
        records, subject_key=subject_key, purpose=ConsentPurpose.CONTACT, on=GIVEN_ON
    )


def test_a_consent_for_another_purpose_is_not_valid_for_this_one():
    assert contact_consent_of([given(purpose=ConsentPurpose.STATISTICS)], PIC) is None


def test_a_consent_of_another_person_is_not_theirs_to_give():
    sisters = given(subject_key=SISTER)
    assert contact_consent_of([sisters], PIC) is None
    assert contact_consent_of([sisters], SISTER) == sisters


def test_a_consent_covers_only_the_categories_it_names():
    consent = given(categories=frozenset({DataCategory.IDENTITY, DataCategory.NEEDS}))

    def covers(*wanted: DataCategory) -> bool:
        found = valid_consent(
            [consent],
            subject_key=PIC,
            purpose=ConsentPurpose.CONTACT,
            on=GIVEN_ON,
            categories=wanted,
        )
        return found is not None

    assert covers()
    assert covers(DataCategory.IDENTITY)
    assert covers(DataCategory.IDENTITY, DataCategory.NEEDS)
    assert not covers(DataCategory.NOTES)
    assert not covers(DataCategory.IDENTITY, DataCategory.CHILDREN)


def test_a_transfer_consent_is_valid_only_for_the_charity_it_names():
    consent = given(purpose=ConsentPurpose.TRANSFER, recipient=RECEIVER, categories=EVERYTHING)

    def for_charity(charity: uuid.UUID) -> ConsentFacts | None:
        return valid_consent(
            [consent],
            subject_key=PIC,
            purpose=ConsentPurpose.TRANSFER,
            on=GIVEN_ON,
            recipient_charity_id=charity,
        )

    assert for_charity(RECEIVER) == consent
    assert for_charity(OTHER_CHARITY) is None


@pytest.mark.parametrize(
    ("offset_days", "valid"),
    [(-1, False), (0, True), (364, True), (365, True), (366, False)],
    ids=["before", "first_day", "near_end", "last_day", "after_expiry"],
)
def test_a_consent_is_valid_only_between_its_dates(offset_days, valid):
    consent = given()
    found = valid_consent(
        [consent],
        subject_key=PIC,
        purpose=ConsentPurpose.CONTACT,
        on=GIVEN_ON + timedelta(days=offset_days),
    )
    assert (found is not None) is valid


def test_a_withdrawn_consent_is_valid_before_the_withdrawal_and_not_after():
    consent = given()
    withdrawn_on = GIVEN_ON + timedelta(days=40)
    records = [consent, withdrawal(consent, withdrawn_on)]

    def on(day: date) -> ConsentFacts | None:
        return valid_consent(records, subject_key=PIC, purpose=ConsentPurpose.CONTACT, on=day)

    assert on(withdrawn_on - timedelta(days=1)) == consent
    assert on(withdrawn_on) is None
    assert on(withdrawn_on + timedelta(days=1)) is None


def test_a_later_refusal_does_not_end_a_consent_only_a_withdrawal_does():
    consent = given(purpose=ConsentPurpose.CONTACT)
    later_no = refused(ConsentPurpose.CONTACT, GIVEN_ON + timedelta(days=3))
    found = valid_consent(
        [consent, later_no],
        subject_key=PIC,
        purpose=ConsentPurpose.CONTACT,
        on=GIVEN_ON + timedelta(days=10),
    )
    assert found == consent


def test_the_most_recent_of_two_active_consents_is_the_one_in_force():
    older = given(valid_from=GIVEN_ON)
    newer = given(valid_from=GIVEN_ON + timedelta(days=30))
    for records in ([older, newer], [newer, older]):
        found = valid_consent(
            records,
            subject_key=PIC,
            purpose=ConsentPurpose.CONTACT,
            on=GIVEN_ON + timedelta(days=60),
        )
        assert found == newer


def test_withdrawing_the_newer_consent_leaves_the_older_one_in_force():
    older = given(valid_from=GIVEN_ON)
    newer = given(valid_from=GIVEN_ON + timedelta(days=30))
    records = [older, newer, withdrawal(newer, GIVEN_ON + timedelta(days=50))]
    found = valid_consent(
        records, subject_key=PIC, purpose=ConsentPurpose.CONTACT, on=GIVEN_ON + timedelta(days=60)
    )
    assert found == older


# --- objects_to_statistics --------------------------------------------------------------------


def test_a_family_that_said_nothing_does_not_object_to_statistics():
    assert not objects_to_statistics([], GIVEN_ON)
    assert not objects_to_statistics([given(purpose=ConsentPurpose.CONTACT)], GIVEN_ON)


def test_a_refusal_of_statistical_use_is_an_objection_from_its_date():
    refusal = refused(ConsentPurpose.STATISTICS, GIVEN_ON)
    assert not objects_to_statistics([refusal], GIVEN_ON - timedelta(days=1))
    assert objects_to_statistics([refusal], GIVEN_ON)


def test_a_yes_to_statistics_is_no_objection():
    assert not objects_to_statistics([given(purpose=ConsentPurpose.STATISTICS)], GIVEN_ON)


def test_withdrawing_a_yes_to_statistics_is_an_objection_from_the_withdrawal():
    yes = given(purpose=ConsentPurpose.STATISTICS)
    withdrawn_on = GIVEN_ON + timedelta(days=7)
    records = [yes, withdrawal(yes, withdrawn_on)]
    assert not objects_to_statistics(records, withdrawn_on - timedelta(days=1))
    assert objects_to_statistics(records, withdrawn_on)


def test_a_yes_after_a_refusal_ends_the_objection():
    records = [
        refused(ConsentPurpose.STATISTICS, GIVEN_ON),
        given(purpose=ConsentPurpose.STATISTICS, valid_from=GIVEN_ON + timedelta(days=10)),
    ]
    assert objects_to_statistics(records, GIVEN_ON + timedelta(days=5))
    assert not objects_to_statistics(records, GIVEN_ON + timedelta(days=10))


def test_a_refusal_on_the_same_day_as_a_yes_wins():
    """Two words on one day: the family's no is taken as their latest word."""
    records = [
        given(purpose=ConsentPurpose.STATISTICS),
        refused(ConsentPurpose.STATISTICS, GIVEN_ON),
    ]
    assert objects_to_statistics(records, GIVEN_ON)
    assert objects_to_statistics(list(reversed(records)), GIVEN_ON)


def test_a_refusal_of_another_purpose_is_no_objection_to_statistics():
    assert not objects_to_statistics([refused(ConsentPurpose.CONTACT, GIVEN_ON)], GIVEN_ON)
