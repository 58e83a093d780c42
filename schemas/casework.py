"""Input schemas for case records: allowlists shared by the web forms and the JSON API.

Ids, charity and everything the service decides (status, reference, who recorded it) are never
input. Lengths bound every string (a bad request is refused with field errors, never truncated).
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

from marshmallow import fields, post_load, validate

from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    AgeBand,
    ClosureReason,
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
    ReferralSource,
    Relationship,
    Sex,
)
from schemas.common import InputSchema

PRISON_CODE = validate.Regexp(r"^[A-Z]{3}$", error="enter a three-letter prison code")
PRISON_NUMBER = validate.Regexp(
    r"^\s*[A-Za-z]\s*[0-9]{4}\s*[A-Za-z]{2}\s*$", error="enter a prison number like A1234BC"
)
NAME = validate.Length(min=1, max=200)
SHORT_TEXT = validate.Length(max=200)
LONG_TEXT = validate.Length(min=1, max=5000)
# A date outside these years is a typing slip (a year of 0202 or 20255), never a family's history.
PLAUSIBLE_DATE = validate.Range(
    min=date(1900, 1, 1), max=date(2199, 12, 31), error="enter a real date"
)
PHONE = validate.Regexp(r"^[0-9 +()-]{6,20}$", error="enter a phone number, like 07700 900123")
# For text stored in clear: PostgreSQL text cannot hold NUL, and no such field needs a control
# character (encrypted fields are bytes, so notes may keep their line breaks).
NO_CONTROL_CHARACTERS = validate.Regexp(
    r"^[^\x00-\x1f\x7f]*$", error="remove the control characters"
)


def _enum(kind: type[Enum], **kwargs: Any) -> fields.Enum:
    return fields.Enum(kind, by_value=True, **kwargs)


class PersonIn(InputSchema):
    name = fields.String(required=True, validate=NAME)
    prison_number = fields.String(required=True, validate=PRISON_NUMBER)
    date_of_birth = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)
    expected_release_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)

    @post_load
    def _details(self, data: dict[str, Any], **_: Any) -> PersonDetails:
        return PersonDetails(**data)


class MemberIn(InputSchema):
    kind = _enum(MemberKind, required=True)
    relationship = _enum(Relationship, required=True)
    name = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)
    age_band = fields.String(load_default=None, validate=validate.OneOf([b.value for b in AgeBand]))
    phone = fields.String(load_default=None, validate=PHONE)
    email = fields.Email(load_default=None, validate=validate.Length(max=200))
    address = fields.String(load_default=None, validate=validate.Length(max=500))
    is_main_contact = fields.Boolean(load_default=False)

    @post_load
    def _details(self, data: dict[str, Any], **_: Any) -> MemberDetails:
        return MemberDetails(**data)


class MainContactIn(MemberIn):
    """The first adult recorded with a referral: always the main contact."""

    kind = _enum(MemberKind, load_default=MemberKind.ADULT)
    is_main_contact = fields.Boolean(load_default=True, validate=validate.Equal(True))


class CaseIn(InputSchema):
    """A referral: a new family (``person``, usually with a ``main_contact``) or a known one."""

    prison_code = fields.String(required=True, validate=PRISON_CODE)
    referral_source = _enum(ReferralSource, required=True)
    opened_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)
    person = fields.Nested(PersonIn, load_default=None)
    family_id = fields.UUID(load_default=None)
    main_contact = fields.Nested(MainContactIn, load_default=None)
    needs = fields.List(_enum(Need), load_default=list, validate=validate.Length(max=len(Need)))
    safeguarding = fields.Boolean(load_default=False)
    key_worker_id = fields.UUID(load_default=None)
    review_due_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)

    @post_load
    def _needs(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "needs": frozenset(data["needs"])}


class CaseChange(InputSchema):
    key_worker_id = fields.UUID(load_default=None)
    review_due_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)
    safeguarding = fields.Boolean(load_default=None)
    add_needs = fields.List(_enum(Need), load_default=list, validate=validate.Length(max=len(Need)))

    @post_load
    def _needs(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "add_needs": frozenset(data["add_needs"])}


class CaseClosure(InputSchema):
    reason = _enum(ClosureReason, required=True)
    closed_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)


class ContactIn(InputSchema):
    kind = _enum(ContactKind, required=True)
    occurred_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)
    first_time_visitor = fields.Boolean(load_default=False)
    children_present = fields.Boolean(load_default=False)
    children_count = fields.Integer(load_default=None, validate=validate.Range(min=0, max=30))
    duration_minutes = fields.Integer(load_default=None, validate=validate.Range(min=1, max=1440))
    summary = fields.String(load_default=None, validate=validate.Length(max=5000))


class NoteIn(InputSchema):
    body = fields.String(required=True, validate=LONG_TEXT)


class AssessmentIn(InputSchema):
    assessed_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)
    framework = fields.String(load_default="family_star_10", validate=validate.Length(max=40))
    scores = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.Integer(strict=True, validate=validate.Range(min=1, max=10)),
        required=True,
        validate=validate.Length(min=1, max=40),
    )


class ActionIn(InputSchema):
    description = fields.String(required=True, validate=LONG_TEXT)
    owner = _enum(ActionOwner, required=True)
    due_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)


class ActionSettlement(InputSchema):
    status = _enum(ActionStatus, required=True)
    settled_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)


class ConsentIn(InputSchema):
    subject = _enum(ConsentSubject, required=True)
    family_member_id = fields.UUID(load_default=None)
    given_by_member_id = fields.UUID(load_default=None)
    purpose = _enum(ConsentPurpose, required=True)
    recipient_charity_id = fields.UUID(load_default=None)
    categories = fields.List(
        _enum(DataCategory), load_default=list, validate=validate.Length(max=len(DataCategory))
    )
    decision = _enum(
        ConsentDecision,
        required=True,
        validate=validate.OneOf([ConsentDecision.GIVEN, ConsentDecision.REFUSED]),
    )
    method = _enum(ConsentMethod, required=True)
    verification = _enum(ConsentVerification, required=True)
    valid_from = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)
    expires_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)

    @post_load
    def _categories(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "categories": frozenset(data["categories"])}


class ConsentWithdrawal(InputSchema):
    method = _enum(ConsentMethod, required=True)
    verification = _enum(ConsentVerification, required=True)
    withdrawn_on = fields.Date(load_default=None, validate=PLAUSIBLE_DATE)


class EqualityIn(InputSchema):
    ethnicity = _enum(Ethnicity, required=True)
    sex = _enum(Sex, required=True)
    disability = _enum(Disability, required=True)
    first_language = fields.String(
        load_default=None, validate=[validate.Length(max=40), NO_CONTROL_CHARACTERS]
    )


class SearchQuery(InputSchema):
    q = fields.String(required=True, validate=validate.Length(min=2, max=100))
