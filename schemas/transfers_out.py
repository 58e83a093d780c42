"""What leaves the API about transfers between charities: output allowlists, every field dump-only.

A step (propose, offer, accept...) answers with the transfer as stored (``TransferRecord``):
states, prisons and dates, never the other charity's case id. Reading one transfer
(``TransferOut``) adds what the reading side may see: the sender the family's consent person by
person; the receiver, while the offer stands, only the package the consent let cross, each
section present only when the family agreed to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from marshmallow import fields, pre_dump, validate

from app.domain.transfers.machine import Party, TransferOrigin, TransferReason, TransferState
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    AgeBand,
    ConsentMethod,
    ConsentSubject,
    ConsentVerification,
    ContactKind,
    DataCategory,
    MemberKind,
    Need,
    ReferralSource,
    Relationship,
)
from app.models.transfers import CaseTransfer
from schemas.cases import stored
from schemas.common import OutputSchema


# What the two dumps below read from a transfer use case's answer, named by its shape: the
# schemas sit beside the use cases, not above them, so they import none of them.
class _Accepted(Protocol):
    """An acceptance: the transfer as stored, and the receiver's new case."""

    @property
    def transfer(self) -> CaseTransfer: ...

    @property
    def case_id(self) -> uuid.UUID: ...


class _Side(Protocol):
    @property
    def side(self) -> Party: ...


class _TransferDetail(Protocol):
    """One transfer as the reading side may see it (every field of ``TransferSummaryOut`` is read
    from ``summary``)."""

    @property
    def summary(self) -> _Side: ...

    @property
    def steps(self) -> Sequence[object]: ...

    @property
    def package(self) -> object | None: ...

    @property
    def offered_categories(self) -> Sequence[DataCategory]: ...

    @property
    def consents(self) -> Sequence[object]: ...

    @property
    def case_categories(self) -> Sequence[DataCategory]: ...

    @property
    def gate_open(self) -> bool: ...

    @property
    def receiver_case_id(self) -> uuid.UUID | None: ...


class _PackedDate(fields.Date):
    """A date kept in a package as ISO text (the package is sealed as JSON)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return super()._serialize(value, attr, obj, **kwargs)


class _PackedDateTime(fields.DateTime):
    """A moment kept in a package as ISO text."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return super()._serialize(value, attr, obj, **kwargs)


# --- what a step answers ---------------------------------------------------------------------


class TransferRecord(OutputSchema):
    """A transfer as stored: the same for both sides, naming neither side's case."""

    id = fields.UUID(dump_only=True)
    state = stored(TransferState, dump_only=True)
    origin = stored(TransferOrigin, dump_only=True)
    sender_prison_code = fields.String(dump_only=True)
    receiver_prison_code = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    offered_at = fields.DateTime(dump_only=True, allow_none=True)
    expires_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "when an unanswered offer lapses"},
    )
    decided_at = fields.DateTime(dump_only=True, allow_none=True)


class AcceptedOut(TransferRecord):
    """The accepted transfer and the receiver's own new case."""

    receiver_case_id = fields.UUID(dump_only=True)

    @pre_dump
    def _with_case(self, accepted: _Accepted, **_: Any) -> dict[str, Any]:
        row = accepted.transfer
        stored_fields = {name: getattr(row, name) for name in TransferRecord._declared_fields}
        return {**stored_fields, "receiver_case_id": accepted.case_id}


class RequestSentOut(OutputSchema):
    """A request was sent. The same answer whether or not the other charity holds a matching
    case: the sender answers the request, so it is no way to find out about its families."""

    status = fields.Constant("sent", dump_only=True, metadata={"type": "string", "enum": ["sent"]})
    transfer_id = fields.UUID(attribute="id", dump_only=True)


# --- the list and the timeline -----------------------------------------------------------------


class TransferSummaryOut(OutputSchema):
    """One transfer as the reading side sees it: ids, prisons, states and dates only."""

    id = fields.UUID(dump_only=True)
    side = stored(Party, dump_only=True, metadata={"description": "your side of the transfer"})
    state = stored(TransferState, dump_only=True)
    origin = stored(TransferOrigin, dump_only=True)
    other_charity = fields.String(dump_only=True)
    sender_prison_code = fields.String(dump_only=True)
    sender_prison_name = fields.String(dump_only=True)
    receiver_prison_code = fields.String(dump_only=True)
    receiver_prison_name = fields.String(dump_only=True)
    sender_case_id = fields.UUID(
        dump_only=True,
        allow_none=True,
        metadata={"description": "your case, on the sender's side; null on the receiver's"},
    )
    created_at = fields.DateTime(dump_only=True)
    offered_at = fields.DateTime(dump_only=True, allow_none=True)
    expires_at = fields.DateTime(dump_only=True, allow_none=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    overdue = fields.Boolean(
        dump_only=True, metadata={"description": "an offer past its expiry, not yet lapsed"}
    )
    waiting_on = stored(
        Party,
        dump_only=True,
        allow_none=True,
        metadata={"description": "whose move it is; null once the transfer has ended"},
    )


class TransferList(OutputSchema):
    items = fields.List(fields.Nested(TransferSummaryOut), dump_only=True)


class StepOut(OutputSchema):
    state = stored(TransferState, dump_only=True)
    at = fields.DateTime(dump_only=True)
    party = stored(Party, dump_only=True)
    by = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the person's name; null for the platform's steps"},
    )
    reason = stored(TransferReason, dump_only=True, allow_none=True)


# --- the package the receiver sees while the offer stands ------------------------------------


class PackageCaseOut(OutputSchema):
    reference = fields.String(dump_only=True, metadata={"description": "the sender's reference"})
    opened_on = _PackedDate(dump_only=True)
    referral_source = stored(ReferralSource, dump_only=True)
    safeguarding = fields.Boolean(
        dump_only=True, metadata={"description": "present only when needs were consented"}
    )


class PackagePersonOut(OutputSchema):
    name = fields.String(dump_only=True, allow_none=True)
    prison_number = fields.String(dump_only=True, allow_none=True)
    date_of_birth = _PackedDate(dump_only=True, allow_none=True)
    expected_release_on = _PackedDate(dump_only=True, allow_none=True)


class PackageMemberOut(OutputSchema):
    ref = fields.String(
        dump_only=True, metadata={"description": "this member's key within the package"}
    )
    kind = stored(MemberKind, dump_only=True)
    relationship = stored(Relationship, dump_only=True)
    is_main_contact = fields.Boolean(dump_only=True)
    age_band = stored(AgeBand, dump_only=True, allow_none=True)
    name = fields.String(dump_only=True, allow_none=True)
    date_of_birth = _PackedDate(dump_only=True, allow_none=True)
    # Present only when this adult's own consent covers contact details.
    phone = fields.String(dump_only=True, allow_none=True)
    email = fields.String(dump_only=True, allow_none=True)
    address = fields.String(dump_only=True, allow_none=True)


class PackageContactOut(OutputSchema):
    kind = stored(ContactKind, dump_only=True)
    occurred_on = _PackedDate(dump_only=True)
    first_time_visitor = fields.Boolean(dump_only=True)
    children_present = fields.Boolean(dump_only=True)
    children_count = fields.Integer(dump_only=True, allow_none=True)
    duration_minutes = fields.Integer(dump_only=True, allow_none=True)
    summary = fields.String(dump_only=True, allow_none=True)


class PackageAssessmentOut(OutputSchema):
    framework = fields.String(dump_only=True)
    assessed_on = _PackedDate(dump_only=True)
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        dump_only=True,
        metadata={"description": "score by area code of the framework"},
    )


class PackageActionOut(OutputSchema):
    description = fields.String(dump_only=True, allow_none=True)
    owner = stored(ActionOwner, dump_only=True)
    due_on = _PackedDate(dump_only=True, allow_none=True)
    status = stored(ActionStatus, dump_only=True)
    completed_on = _PackedDate(dump_only=True, allow_none=True)


class PackageNoteOut(OutputSchema):
    body = fields.String(dump_only=True)
    written_at = _PackedDateTime(dump_only=True)


class PackageConsentOut(OutputSchema):
    """A consent the offer rests on: what the family agreed to, and with whom."""

    subject = stored(ConsentSubject, dump_only=True)
    ref = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "the member it is for (a member's ref); null: the person in custody"
        },
    )
    given_by_ref = fields.String(dump_only=True, allow_none=True)
    categories = fields.Function(
        lambda consent: [c for c in consent["categories"].split(",") if c],
        dump_only=True,
        metadata={
            "type": "array",
            "items": {"type": "string", "enum": [c.value for c in DataCategory]},
        },
    )
    method = stored(ConsentMethod, dump_only=True)
    verification = stored(ConsentVerification, dump_only=True)
    valid_from = _PackedDate(dump_only=True)
    expires_on = _PackedDate(dump_only=True, allow_none=True)
    recorded_at = _PackedDateTime(dump_only=True)


class PackageOut(OutputSchema):
    """Exactly what the family's consent let cross: a section the consent does not cover is
    absent, not empty. Names of the sender's staff never cross."""

    case = fields.Nested(PackageCaseOut, dump_only=True)
    person = fields.Nested(PackagePersonOut, dump_only=True)
    members = fields.List(fields.Nested(PackageMemberOut), dump_only=True)
    needs = fields.List(stored(Need), dump_only=True)
    contacts = fields.List(fields.Nested(PackageContactOut), dump_only=True)
    assessments = fields.List(fields.Nested(PackageAssessmentOut), dump_only=True)
    actions = fields.List(fields.Nested(PackageActionOut), dump_only=True)
    notes = fields.List(fields.Nested(PackageNoteOut), dump_only=True)
    consents = fields.List(fields.Nested(PackageConsentOut), dump_only=True)


# --- one transfer, as the reading side may see it ----------------------------------------------


class PersonConsentOut(OutputSchema):
    """One person's consent to this transfer today, as the sender sees it."""

    key = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(
        dump_only=True, validate=validate.OneOf(["person_in_custody", "adult", "child"])
    )
    goes = fields.Boolean(
        dump_only=True, metadata={"description": "whether this person's details would cross"}
    )
    consent_id = fields.UUID(dump_only=True, allow_none=True)
    categories = fields.List(stored(DataCategory), dump_only=True)
    expires_on = fields.Date(dump_only=True, allow_none=True)


_SUMMARY_FIELDS = tuple(TransferSummaryOut._declared_fields)


class TransferOut(TransferSummaryOut):
    """One transfer. Sections for the other side are absent: the receiver gets ``package``
    (while the offer stands), ``offered_categories`` and, once accepted, ``receiver_case_id``;
    the sender gets ``consents``, ``case_categories`` and ``gate_open`` (while it is open)."""

    steps = fields.List(fields.Nested(StepOut), dump_only=True)
    package = fields.Nested(PackageOut, dump_only=True)
    offered_categories = fields.List(
        stored(DataCategory),
        dump_only=True,
        metadata={
            "description": "what of the case as a whole was offered (identity and contact "
            "details go person by person, under each person's own consent)"
        },
    )
    receiver_case_id = fields.UUID(
        dump_only=True, metadata={"description": "your new case, once you accepted"}
    )
    consents = fields.List(fields.Nested(PersonConsentOut), dump_only=True)
    case_categories = fields.List(
        stored(DataCategory),
        dump_only=True,
        metadata={"description": "what of the case as a whole the consents let cross"},
    )
    gate_open = fields.Boolean(
        dump_only=True, metadata={"description": "whether the family's consents allow the offer"}
    )

    @pre_dump
    def _for_the_side(self, detail: _TransferDetail, **_: Any) -> dict[str, Any]:
        summary = detail.summary
        out: dict[str, Any] = {name: getattr(summary, name) for name in _SUMMARY_FIELDS}
        out["steps"] = detail.steps
        if summary.side is Party.RECEIVER:
            out["offered_categories"] = detail.offered_categories
            if detail.package is not None:
                out["package"] = detail.package
            if detail.receiver_case_id is not None:
                out["receiver_case_id"] = detail.receiver_case_id
        else:
            out["consents"] = detail.consents
            out["case_categories"] = detail.case_categories
            out["gate_open"] = detail.gate_open
        return out
