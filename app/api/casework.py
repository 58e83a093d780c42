"""``/api/v1/cases/<id>/...``: the family file and the day's work on a case, as JSON.

Each write adds to one open case you may see and answers 201 with the record as stored in clear
(``schemas.casework_out``); a closed case answers 409, a case that is not yours 404. Notes and
contacts take an optional ``Idempotency-Key`` header, so a retried request answers as the first
did and writes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from marshmallow import EXCLUDE, RAISE

from app.api.blueprint import READ, WRITE, ApiBlueprint
from app.domain.people import MemberDetails
from app.http.audit import request_origin
from app.http.vault import request_vault
from app.models import ActionItem, CaseNote, Contact, FamilyMember, OutcomeAssessment
from app.services.cases import casework, family_file
from app.services.cases.family_file import FamilyFile
from schemas.casework import (
    ActionIn,
    ActionSettlement,
    AssessmentIn,
    ContactIn,
    MemberIn,
    NoteIn,
)
from schemas.casework_out import (
    ActionRecord,
    AssessmentRecord,
    ContactRecord,
    FamilyFileOut,
    MemberRecord,
    NoteRecord,
)
from schemas.transfers import IdempotencyHeaders
from tenants.flask import require_context, tenant_session

# Headers are read leniently (undeclared ones are ignored); the key itself is validated.
HEADERS = {"location": "headers", "unknown": EXCLUDE}

blp = ApiBlueprint(
    "case_work",
    __name__,
    url_prefix="/api/v1/cases/<uuid:case_id>",
    description="The family file and the work on a case",
)


@blp.route("/family")
class Family(MethodView):
    @blp.response(200, FamilyFileOut)
    @blp.errors(*READ)
    def get(self, case_id: uuid.UUID) -> FamilyFile:
        """The family file: everything about the case, decrypted for you.

        The person in custody, the family, needs, contacts, assessments with their scores and
        distance travelled, actions, notes, consents and the timeline. Equality monitoring is
        not here (see ``/equality``)."""
        return family_file.read_family(
            tenant_session(), require_context(), request_origin(), request_vault(), case_id
        )


@blp.route("/members")
class Members(MethodView):
    @blp.arguments(MemberIn, unknown=RAISE)
    @blp.response(201, MemberRecord)
    @blp.errors(*WRITE)
    def post(self, details: MemberDetails, case_id: uuid.UUID) -> FamilyMember:
        """Add an adult or a child to the family; a new main contact replaces the old one."""
        return family_file.add_member(
            tenant_session(), require_context(), request_origin(), request_vault(), case_id, details
        )


@blp.route("/contacts")
class Contacts(MethodView):
    @blp.arguments(ContactIn, unknown=RAISE)
    @blp.arguments(IdempotencyHeaders, **HEADERS)
    @blp.response(201, ContactRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], headers: dict[str, Any], case_id: uuid.UUID) -> Contact:
        """Record a contact with the family on a day between the case's opening and today.

        A retry with the same ``Idempotency-Key`` (yours, on this case) answers 201 with the
        contact the first request recorded and records nothing; the same key with another
        contact answers 422."""
        return casework.add_contact(
            tenant_session(),
            require_context(),
            request_origin(),
            request_vault(),
            case_id,
            **data,
            idempotency_key=headers["idempotency_key"],
        )


@blp.route("/notes")
class Notes(MethodView):
    @blp.arguments(NoteIn, unknown=RAISE)
    @blp.arguments(IdempotencyHeaders, **HEADERS)
    @blp.response(201, NoteRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], headers: dict[str, Any], case_id: uuid.UUID) -> CaseNote:
        """Add a case note; a note is kept encrypted and never edited.

        A retry with the same ``Idempotency-Key`` (yours, on this case) answers 201 with the
        note the first request added and adds nothing; the same key with another note answers
        422."""
        return casework.add_note(
            tenant_session(),
            require_context(),
            request_origin(),
            request_vault(),
            case_id,
            **data,
            idempotency_key=headers["idempotency_key"],
        )


@blp.route("/assessments")
class Assessments(MethodView):
    @blp.arguments(AssessmentIn, unknown=RAISE)
    @blp.response(201, AssessmentRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], case_id: uuid.UUID) -> OutcomeAssessment:
        """Record an outcome assessment: a score for every area of the framework."""
        return casework.record_assessment(
            tenant_session(), require_context(), request_origin(), case_id, **data
        )


@blp.route("/actions")
class Actions(MethodView):
    @blp.arguments(ActionIn, unknown=RAISE)
    @blp.response(201, ActionRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], case_id: uuid.UUID) -> ActionItem:
        """Add a step to the family's action plan; it starts open."""
        return casework.add_action(
            tenant_session(), require_context(), request_origin(), request_vault(), case_id, **data
        )


@blp.route("/actions/<uuid:action_id>/settlement")
class Settlement(MethodView):
    @blp.arguments(ActionSettlement, unknown=RAISE)
    @blp.response(200, ActionRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], case_id: uuid.UUID, action_id: uuid.UUID) -> ActionItem:
        """Mark an open action done or dropped; a settled action answers 409."""
        return casework.settle_action(
            tenant_session(), require_context(), request_origin(), case_id, action_id, **data
        )
