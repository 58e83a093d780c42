"""Staff case pages: a route loads input, calls one service, renders the result."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.domain.errors import InvalidInput
from app.services import cases
from app.services.reference import prisons_by_code
from app.web.audit import request_origin
from app.web.forms import date_from_parts, flatten_errors
from schemas.cases import CaseCreate, CaseQuery
from tenants.flask import current_tenant_or_none, require_context, tenant_session

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> str:
    if current_tenant_or_none() is None:
        return render_template("home_other.html")
    context = require_context()
    recent = cases.list_cases(
        tenant_session(), context, request_origin(), cases.CaseFilter(), per_page=10
    )
    prisons = prisons_by_code(tenant_session(), context.prison_codes)
    return render_template("cases/home.html", recent=recent, prisons=prisons)


@bp.get("/cases")
def case_list() -> str:
    context = require_context()
    try:
        query = CaseQuery().load(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidInput(flatten_errors(exc.messages)) from exc
    filters = cases.CaseFilter.from_query(query)
    page = cases.list_cases(
        tenant_session(), context, request_origin(), filters, query["page"], query["per_page"]
    )
    prisons = prisons_by_code(tenant_session(), context.prison_codes)
    return render_template("cases/list.html", page=page, prisons=prisons, query=query)


@bp.get("/cases/<uuid:case_id>")
def case_detail(case_id: uuid.UUID) -> str:
    case = cases.get_case(tenant_session(), require_context(), request_origin(), case_id)
    prisons = prisons_by_code(tenant_session(), [case.prison_code])
    return render_template("cases/detail.html", case=case, prison=prisons[case.prison_code])


@bp.route("/cases/new", methods=["GET", "POST"])
def case_new() -> str | Response:
    context = require_context()
    prisons = prisons_by_code(tenant_session(), context.prison_codes)
    errors: dict[str, list[str]] = {}
    form = request.form
    if request.method == "POST":
        raw = {"prison_code": form.get("prison_code", "")}
        opened_on = date_from_parts(form, "opened_on")
        if opened_on:
            raw["opened_on"] = opened_on
        try:
            data = CaseCreate().load(raw)
            case = cases.open_case(tenant_session(), context, request_origin(), **data)
        except ValidationError as exc:
            errors = flatten_errors(exc.messages)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            return redirect(url_for("web.case_detail", case_id=case.id))
    status = 400 if errors else 200
    return render_template("cases/new.html", prisons=prisons, errors=errors, form=form), status  # type: ignore[return-value]
