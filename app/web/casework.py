"""The day's work on one case: family members, contacts, notes, assessments, the action plan,
keeping the case current and closing it. Each form loads its schema and calls one use case."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from app.domain.outcomes import DEFAULT_FRAMEWORK, framework
from app.http.audit import request_origin
from app.http.vault import request_vault
from app.services.cases import cases, casework, family_file
from app.services.cases.family_file import FamilyFile
from app.services.cases.key_workers import key_workers
from app.services.platform.audit import Origin
from app.web.family_page import form_round_trip, load_form
from app.web.forms import FormFields
from schemas.casework import (
    ActionIn,
    ActionSettlement,
    AssessmentIn,
    CaseChange,
    CaseClosure,
    ContactIn,
    MemberIn,
    NoteIn,
)
from tenants.context import TenantContext
from tenants.flask import require_context, tenant_session

bp = Blueprint("casework", __name__, url_prefix="/cases/<uuid:case_id>")
FORM = ("GET", "POST")

MEMBER = FormFields(
    labels={
        "kind": "whether they are an adult or a child",
        "relationship": "their relationship to the person in custody",
        "name": "their full name",
        "date_of_birth": "their date of birth",
        "age_band": "the child's age",
        "phone": "their phone number",
        "email": "their email address",
        "address": "their address",
        "is_main_contact": "whether they are the main contact",
    },
    dates=frozenset({"date_of_birth"}),
    choices=frozenset({"kind", "relationship", "age_band", "is_main_contact"}),
)
CONTACT = FormFields(
    labels={
        "kind": "the kind of contact",
        "occurred_on": "the date of the contact",
        "first_time_visitor": "whether it was a first visit",
        "children_present": "whether children were there",
        "children_count": "the number of children",
        "duration_minutes": "how long it took in minutes",
        "summary": "the summary",
    },
    dates=frozenset({"occurred_on"}),
    choices=frozenset({"kind", "first_time_visitor", "children_present"}),
)
NOTE = FormFields(labels={"body": "the note"})
ACTION = FormFields(
    labels={
        "description": "what will be done",
        "owner": "who will do it",
        "due_on": "the date it is due",
    },
    dates=frozenset({"due_on"}),
    choices=frozenset({"owner"}),
)
SETTLEMENT = FormFields(labels={"status": "done or dropped"}, choices=frozenset({"status"}))
CHANGE = FormFields(
    labels={
        "key_worker_id": "the key worker",
        "review_due_on": "the review date",
        "safeguarding": "whether there is a safeguarding concern",
        "add_needs": "the needs to add",
    },
    dates=frozenset({"review_due_on"}),
    lists=frozenset({"add_needs"}),
    choices=frozenset({"key_worker_id", "safeguarding"}),
)
CLOSURE = FormFields(
    labels={"reason": "why the case is closing", "closed_on": "the date the case closed"},
    dates=frozenset({"closed_on"}),
    choices=frozenset({"reason"}),
)


def assessment_fields(code: str = DEFAULT_FRAMEWORK) -> FormFields:
    """One 1 to 10 choice per area of the framework, after the date."""
    areas = {
        f"scores.{area.code}": f"a score for {area.label.lower()}" for area in framework(code).areas
    }
    return FormFields(
        labels={"assessed_on": "the date of the assessment", **areas},
        dates=frozenset({"assessed_on"}),
        integers=frozenset(areas),
        choices=frozenset(areas),
    )


def _who() -> tuple[Session, TenantContext, Origin]:
    return tenant_session(), require_context(), request_origin()


@bp.route("/members/new", methods=FORM)
def add_member(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        details = load_form(MemberIn(), MEMBER)
        return family_file.add_member(*_who(), request_vault(), case_id, details)

    return form_round_trip(
        case_id, "families/member_new.html", MEMBER, write, "Family member added"
    )


@bp.route("/contacts/new", methods=FORM)
def add_contact(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(ContactIn(), CONTACT)
        return casework.add_contact(*_who(), request_vault(), case_id, **data)

    return form_round_trip(case_id, "families/contact_new.html", CONTACT, write, "Contact recorded")


@bp.route("/notes/new", methods=FORM)
def add_note(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(NoteIn(), NOTE)
        return casework.add_note(*_who(), request_vault(), case_id, **data)

    return form_round_trip(case_id, "families/note_new.html", NOTE, write, "Note added")


@bp.route("/assessments/new", methods=FORM)
def record_assessment(case_id: uuid.UUID) -> ResponseReturnValue:
    spec = assessment_fields()

    def write() -> object:
        data = load_form(AssessmentIn(), spec)
        return casework.record_assessment(*_who(), case_id, **data)

    return form_round_trip(
        case_id,
        "families/assessment_new.html",
        spec,
        write,
        "Outcome assessment recorded",
        framework=framework(),
    )


@bp.route("/actions/new", methods=FORM)
def add_action(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(ActionIn(), ACTION)
        return casework.add_action(*_who(), request_vault(), case_id, **data)

    return form_round_trip(case_id, "families/action_new.html", ACTION, write, "Action added")


@bp.post("/actions/<uuid:action_id>/settle")
def settle_action(case_id: uuid.UUID, action_id: uuid.UUID) -> ResponseReturnValue:
    data = load_form(ActionSettlement(), SETTLEMENT)
    item = casework.settle_action(*_who(), case_id, action_id, **data)
    flash(f"Action marked {item.status}", "success")
    return redirect(url_for("web.case_detail", case_id=case_id, _anchor="actions"))


@bp.route("/change", methods=FORM)
def change_case(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(CaseChange(), CHANGE)
        return cases.update_case(*_who(), case_id, **data)

    def choices(file: FamilyFile) -> dict[str, object]:
        return {"key_workers": key_workers(*_who()[:2], file.case.prison_code)}

    return form_round_trip(case_id, "cases/change.html", CHANGE, write, "Case updated", choices)


@bp.route("/close", methods=FORM)
def close_case(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(CaseClosure(), CLOSURE)
        return cases.close_case(*_who(), case_id, **data)

    return form_round_trip(case_id, "cases/close.html", CLOSURE, write, "Case closed")
