"""Equality monitoring, on pages of its own: never on the family page (DESIGN.md section 2).
Every view of it is audited as its own action by the equality use cases."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.errors import InvalidInput, NotFound
from app.http.audit import request_origin
from app.services.cases import equality
from app.services.cases.equality import EqualityAnswers
from app.services.cases.family_file import MemberView
from app.web.family_page import load_form, read_file, render_family
from app.web.forms import FormFields, form_errors
from schemas.casework import EqualityIn
from tenants.flask import require_context, tenant_session

bp = Blueprint("equality", __name__, url_prefix="/cases/<uuid:case_id>/equality")

EQUALITY = FormFields(
    labels={
        "ethnicity": "their ethnic group",
        "sex": "their sex",
        "disability": "whether they have a disability",
        "first_language": "their first language",
    },
    choices=frozenset({"ethnicity", "sex", "disability"}),
)


def _answers(case_id: uuid.UUID) -> dict[uuid.UUID, EqualityAnswers]:
    return equality.read_equality(tenant_session(), require_context(), request_origin(), case_id)


@bp.get("")
def overview(case_id: uuid.UUID) -> ResponseReturnValue:
    """Each family member's answers. The names come from the family file, read and audited
    as a read of the case; the answers are audited as a read of equality monitoring."""
    file = read_file(case_id)
    return render_family("families/equality.html", file, answers=_answers(case_id))


@bp.route("/<uuid:member_id>", methods=("GET", "POST"))
def record(case_id: uuid.UUID, member_id: uuid.UUID) -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            data = load_form(EqualityIn(), EQUALITY)
            equality.record_equality(
                tenant_session(),
                require_context(),
                request_origin(),
                case_id,
                member_id,
                EqualityAnswers(**data),
            )
        except InvalidInput as exc:
            errors = form_errors(exc.errors, EQUALITY)
        else:
            flash("Equality monitoring answers saved", "success")
            return redirect(url_for("equality.overview", case_id=case_id))
    file = read_file(case_id)
    return render_family(
        "families/equality_member.html",
        file,
        errors,
        spec=EQUALITY,
        member=_member(file.members, member_id),
        answers=None if request.method == "POST" else _answers(case_id).get(member_id),
    )


def _member(members: tuple[MemberView, ...], member_id: uuid.UUID) -> MemberView:
    for member in members:
        if member.id == member_id:
            return member
    raise NotFound("family member")
