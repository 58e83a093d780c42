"""Staff case pages: the caseworker's home, the case list, search, a new referral, the family
page and who has viewed it. A route loads input, calls one use case, renders the result."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.domain.errors import InvalidInput
from app.http.audit import request_origin
from app.http.fields import flatten_errors
from app.http.vault import request_vault
from app.models import Prison
from app.services.cases import access_log, cases, referrals
from app.services.cases.caseload import caseload
from app.services.cases.search import find_cases
from app.services.platform.reference import prisons_by_code
from app.web.family_page import family_page, load_form
from app.web.forms import FormFields, form_errors
from schemas.cases import CaseQuery
from schemas.casework import CaseIn, SearchQuery
from tenants.flask import current_tenant_or_none, require_context, tenant_session

bp = Blueprint("web", __name__)

REFERRAL = FormFields(
    labels={
        "prison_code": "the prison",
        "referral_source": "who made the referral",
        "opened_on": "the date of the referral",
        "person.name": "the full name of the person in custody",
        "person.prison_number": "their prison number",
        "person.date_of_birth": "their date of birth",
        "person.expected_release_on": "their expected release date",
        "main_contact.relationship": "the main contact's relationship to them",
        "main_contact.name": "the main contact's full name",
        "main_contact.phone": "the main contact's phone number",
        "main_contact.email": "the main contact's email address",
        "main_contact.address": "the main contact's address",
        "needs": "the family's needs",
        "safeguarding": "whether there is a safeguarding concern",
        "review_due_on": "the first review date",
    },
    dates=frozenset(
        {"opened_on", "person.date_of_birth", "person.expected_release_on", "review_due_on"}
    ),
    lists=frozenset({"needs"}),
    choices=frozenset(
        {"prison_code", "referral_source", "main_contact.relationship", "safeguarding"}
    ),
    groups=frozenset({"person"}),
)
SEARCH = FormFields(labels={"q": "a prison number or a name"})


def _prisons() -> dict[str, Prison]:
    return prisons_by_code(tenant_session(), require_context().prison_codes)


@bp.get("/")
def home() -> ResponseReturnValue:
    if current_tenant_or_none() is None:
        return render_template("home_other.html")
    load = caseload(tenant_session(), require_context(), request_origin(), request_vault())
    return render_template("cases/home.html", load=load, prisons=_prisons())


@bp.get("/cases")
def case_list() -> ResponseReturnValue:
    context = require_context()
    try:
        query = CaseQuery().load(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidInput(flatten_errors(exc.messages)) from exc
    filters = cases.CaseFilter.from_query(query)
    page = cases.list_cases(
        tenant_session(), context, request_origin(), filters, query["page"], query["per_page"]
    )
    rows = cases.summarise(tenant_session(), request_vault(), page.items)
    return render_template("cases/list.html", page=page, rows=rows, prisons=_prisons(), query=query)


@bp.get("/search")
def search() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    found = None
    if "q" in request.args:
        try:
            query = SearchQuery().load({"q": request.args.get("q", "").strip()})
            found = find_cases(
                tenant_session(), require_context(), request_origin(), request_vault(), query["q"]
            )
        except ValidationError as exc:
            errors = form_errors(exc.messages, SEARCH)
        except InvalidInput as exc:
            errors = form_errors(exc.errors, SEARCH)
    page = render_template(
        "cases/search.html",
        found=found,
        errors=errors,
        q=request.args.get("q", ""),
        prisons=_prisons(),
    )
    return page, 400 if errors else 200


@bp.route("/cases/new", methods=["GET", "POST"])
def case_new() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            data = load_form(CaseIn(), REFERRAL)
            case = referrals.open_case(
                tenant_session(), require_context(), request_origin(), request_vault(), **data
            )
        except InvalidInput as exc:
            errors = form_errors(exc.errors, REFERRAL)
        else:
            flash(f"Referral opened as case {case.reference}", "success")
            return redirect(url_for("web.case_detail", case_id=case.id))
    page = render_template(
        "cases/new.html", prisons=_prisons(), errors=errors, form=request.form, spec=REFERRAL
    )
    return page, 400 if errors else 200


@bp.get("/cases/<uuid:case_id>")
def case_detail(case_id: uuid.UUID) -> ResponseReturnValue:
    return family_page("families/family.html", case_id)


@bp.get("/cases/<uuid:case_id>/access-log")
def access_log_page(case_id: uuid.UUID) -> ResponseReturnValue:
    accesses = access_log.who_viewed(tenant_session(), require_context(), request_origin(), case_id)
    return render_template("families/access_log.html", accesses=accesses, case_id=case_id)
