"""What leaves the API about the work on a case: output allowlists, every field dump-only.

A write answers with the record it made as stored in clear (``...Record``): its id, dates and
categories. The personal text the caller has just sent (names, contact details, notes) is not
echoed back; it is read, decrypted and audited, with the family file (``FamilyFileOut``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from app.domain.consent import ConsentState
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    AgeBand,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    ContactKind,
    DataCategory,
    Disability,
    Ethnicity,
    MemberKind,
    Need,
    Relationship,
    Sex,
)
from schemas.cases import CaseOut, stored
from schemas.common import OutputSchema


def _split(record: Any) -> list[str]:
    """A stored record keeps its categories as one sorted, comma-separated string."""
    return [c for c in record.categories.split(",") if c]


# --- the person in custody and the family ----------------------------------------------------


class PersonOut(OutputSchema):
    name = fields.String(dump_only=True, allow_none=True)
    prison_number = fields.String(dump_only=True, allow_none=True)
    date_of_birth = fields.Date(dump_only=True, allow_none=True)
    expected_release_on = fields.Date(dump_only=True, allow_none=True)
    prison_code = fields.String(dump_only=True)


class MemberRecord(OutputSchema):
    id = fields.UUID(dump_only=True)
    kind = stored(MemberKind, dump_only=True)
    relationship = stored(Relationship, dump_only=True)
    age_band = stored(AgeBand, dump_only=True, allow_none=True)
    is_main_contact = fields.Boolean(dump_only=True)


class MemberOut(MemberRecord):
    name = fields.String(dump_only=True, allow_none=True)
    date_of_birth = fields.Date(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)
    email = fields.String(dump_only=True, allow_none=True)
    address = fields.String(dump_only=True, allow_none=True)


# --- the day's work --------------------------------------------------------------------------


class ContactRecord(OutputSchema):
    id = fields.UUID(dump_only=True)
    kind = stored(ContactKind, dump_only=True)
    occurred_on = fields.Date(dump_only=True)
    first_time_visitor = fields.Boolean(dump_only=True)
    children_present = fields.Boolean(dump_only=True)
    children_count = fields.Integer(dump_only=True, allow_none=True)
    duration_minutes = fields.Integer(dump_only=True, allow_none=True)


class ContactOut(ContactRecord):
    summary = fields.String(dump_only=True, allow_none=True)
    recorded_by = fields.String(dump_only=True, metadata={"description": "the worker's name"})


class AssessmentRecord(OutputSchema):
    id = fields.UUID(dump_only=True)
    framework = fields.String(dump_only=True)
    assessed_on = fields.Date(dump_only=True)


class AssessmentOut(AssessmentRecord):
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        dump_only=True,
        metadata={"description": "score by area code of the framework"},
    )
    recorded_by = fields.String(dump_only=True, metadata={"description": "the worker's name"})


class ActionRecord(OutputSchema):
    id = fields.UUID(dump_only=True)
    owner = stored(ActionOwner, dump_only=True)
    due_on = fields.Date(dump_only=True, allow_none=True)
    status = stored(ActionStatus, dump_only=True)
    completed_on = fields.Date(dump_only=True, allow_none=True)


class ActionOut(ActionRecord):
    description = fields.String(dump_only=True, allow_none=True)
    overdue = fields.Boolean(dump_only=True)


class NoteRecord(OutputSchema):
    id = fields.UUID(dump_only=True)
    written_at = fields.DateTime(dump_only=True)


class NoteOut(NoteRecord):
    body = fields.String(dump_only=True)
    written_by = fields.String(dump_only=True, metadata={"description": "the worker's name"})


# --- consent ---------------------------------------------------------------------------------


class _ConsentFields(OutputSchema):
    id = fields.UUID(dump_only=True)
    subject = stored(ConsentSubject, dump_only=True)
    family_member_id = fields.UUID(dump_only=True, allow_none=True)
    given_by_member_id = fields.UUID(dump_only=True, allow_none=True)
    purpose = stored(ConsentPurpose, dump_only=True)
    recipient_charity_id = fields.UUID(dump_only=True, allow_none=True)
    decision = stored(ConsentDecision, dump_only=True)
    method = stored(ConsentMethod, dump_only=True)
    verification = stored(ConsentVerification, dump_only=True)
    valid_from = fields.Date(dump_only=True)
    expires_on = fields.Date(dump_only=True, allow_none=True)
    withdraws_id = fields.UUID(
        dump_only=True,
        allow_none=True,
        metadata={"description": "on a withdrawal, the consent it withdraws"},
    )
    recorded_at = fields.DateTime(dump_only=True)


class ConsentRecordOut(_ConsentFields):
    categories = fields.Function(
        _split,
        dump_only=True,
        metadata={
            "type": "array",
            "items": {"type": "string", "enum": [c.value for c in DataCategory]},
        },
    )


class ConsentOut(_ConsentFields):
    categories = fields.List(stored(DataCategory), dump_only=True)
    state = stored(ConsentState, dump_only=True)
    recorded_by = fields.String(dump_only=True, metadata={"description": "the worker's name"})


class ConsentReceiptOut(OutputSchema):
    """What a family member agreed to, with whom and until when, in words they can keep."""

    consent_id = fields.UUID(dump_only=True)
    case_reference = fields.String(dump_only=True)
    charity_name = fields.String(dump_only=True)
    prison_code = fields.String(dump_only=True)
    subject = stored(ConsentSubject, dump_only=True)
    subject_name = fields.String(dump_only=True, allow_none=True)
    given_by_name = fields.String(dump_only=True, allow_none=True)
    purpose = stored(ConsentPurpose, dump_only=True)
    recipient_charity = fields.String(dump_only=True, allow_none=True)
    categories = fields.List(stored(DataCategory), dump_only=True)
    decision = stored(ConsentDecision, dump_only=True)
    method = stored(ConsentMethod, dump_only=True)
    verification = stored(ConsentVerification, dump_only=True)
    valid_from = fields.Date(dump_only=True)
    expires_on = fields.Date(dump_only=True, allow_none=True)
    state = stored(ConsentState, dump_only=True)
    withdrawn_on = fields.Date(dump_only=True, allow_none=True)
    recorded_at = fields.DateTime(dump_only=True)


# --- the family file -------------------------------------------------------------------------


class TimelineEntryOut(OutputSchema):
    on = fields.Date(dump_only=True)
    kind = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    detail = fields.String(dump_only=True, allow_none=True)
    by = fields.String(dump_only=True, allow_none=True)
    record_id = fields.UUID(dump_only=True)


class FamilyFileOut(OutputSchema):
    """Everything about one case, newest work first; reading it is one audit event."""

    family_id = fields.UUID(
        attribute="case.family_id",
        dump_only=True,
        metadata={"description": "to open a later case for the same family"},
    )
    case = fields.Nested(CaseOut, dump_only=True)
    needs = fields.List(stored(Need), dump_only=True)
    person = fields.Nested(PersonOut, dump_only=True)
    members = fields.List(fields.Nested(MemberOut), dump_only=True)
    contacts = fields.List(fields.Nested(ContactOut), dump_only=True)
    assessments = fields.List(fields.Nested(AssessmentOut), dump_only=True)
    distance = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        dump_only=True,
        metadata={"description": "latest minus first score, by area scored at least twice"},
    )
    actions = fields.List(fields.Nested(ActionOut), dump_only=True)
    notes = fields.List(fields.Nested(NoteOut), dump_only=True)
    consents = fields.List(fields.Nested(ConsentOut), dump_only=True)
    timeline = fields.List(fields.Nested(TimelineEntryOut), dump_only=True)


# --- equality monitoring (apart from the family file) ----------------------------------------


class EqualityAnswersOut(OutputSchema):
    ethnicity = stored(Ethnicity, dump_only=True)
    sex = stored(Sex, dump_only=True)
    disability = stored(Disability, dump_only=True)
    first_language = fields.String(dump_only=True, allow_none=True)


class EqualityOut(EqualityAnswersOut):
    family_member_id = fields.UUID(dump_only=True)


class FamilyEqualityOut(OutputSchema):
    answers = fields.Dict(
        keys=fields.UUID(),
        values=fields.Nested(EqualityAnswersOut),
        dump_only=True,
        metadata={"description": "by family member id; members who gave no answers are absent"},
    )
