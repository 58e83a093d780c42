"""A charity admin's pages (staff, prisons, who looked at a case) and a site manager's overview.

A route loads its input, calls one service, renders the result; the services check who may.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from werkzeug.wrappers import Response

from app.domain.errors import Forbidden, InvalidInput
from app.http.audit import request_origin
from app.http.fields import flatten_errors
from app.services.accounts import staff
from app.services.accounts.staff import StaffAdmin
from app.services.cases import oversight
from app.web.forms import FormFields, form_errors, read_form
from schemas.staff import AccessLogQuery, PrisonsIn, StaffIn
from tenants.flask import current_actor, require_context, tenant_session

bp = Blueprint("admin", __name__)

Page = str | tuple[str, int] | Response
NEW_STAFF = FormFields(
    labels={
        "display_name": "their full name",
        "username": "a username",
        "role": "a role",
        "prisons": "at least one prison",
    },
    lists=frozenset({"prisons"}),
    choices=frozenset({"role"}),
)
PRISONS = FormFields(labels={"prisons": "at least one prison"}, lists=frozenset({"prisons"}))


def _admin() -> StaffAdmin:
    actor = current_actor()
    if actor is None:  # the deny-by-default guard never lets this happen
        raise Forbidden("no actor")
    return StaffAdmin(actor.id, actor.organisation_id, actor.role_enum)


def _load(schema: Schema, raw: dict[str, Any], spec: FormFields | None = None) -> dict[str, Any]:
    """The schema's data, or InvalidInput with GOV.UK messages keyed by the form's inputs."""
    try:
        return schema.load(raw)  # type: ignore[no-any-return]
    except ValidationError as exc:
        errors = form_errors(exc.messages, spec) if spec else flatten_errors(exc.messages)
        raise InvalidInput(errors) from exc


@bp.get("/admin/users")
def users() -> str:
    members = staff.list_staff(tenant_session(), _admin(), request_origin())
    return render_template("admin/users.html", members=members)


@bp.route("/admin/users/new", methods=["GET", "POST"])
def new_user() -> Page:
    errors: dict[str, list[str]] = {}
    form = request.form
    if request.method == "POST":
        try:
            data = _load(StaffIn(), read_form(form, NEW_STAFF), NEW_STAFF)
            set_up = staff.create_staff(tenant_session(), _admin(), request_origin(), **data)
        except InvalidInput as exc:
            errors = form_errors(exc.errors, NEW_STAFF)
        else:
            return render_template("admin/set_up.html", set_up=set_up, new=True)
    prisons = staff.assignable_prisons(tenant_session(), _admin())
    page = render_template(
        "admin/new_user.html",
        prisons=prisons,
        roles=staff.ROLE_LABELS,
        errors=errors,
        form=form,
        chosen=set(form.getlist("prisons")),
    )
    return (page, 400) if errors else page


@bp.get("/admin/users/<uuid:user_id>")
def user(user_id: uuid.UUID) -> str:
    page = staff.staff_page(tenant_session(), _admin(), request_origin(), user_id)
    return render_template("admin/user.html", page=page, errors={})


@bp.post("/admin/users/<uuid:user_id>/prisons")
def user_prisons(user_id: uuid.UUID) -> Page:
    try:
        data = _load(PrisonsIn(), read_form(request.form, PRISONS), PRISONS)
        staff.assign_prisons(tenant_session(), _admin(), request_origin(), user_id, **data)
    except InvalidInput as exc:
        errors = form_errors(exc.errors, PRISONS)
        page = staff.staff_page(tenant_session(), _admin(), request_origin(), user_id)
        return render_template("admin/user.html", page=page, errors=errors), 400
    flash("Prisons saved. The change applies from their next page.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/admin/users/<uuid:user_id>/deactivate")
def deactivate(user_id: uuid.UUID) -> Response:
    staff.deactivate_staff(tenant_session(), _admin(), request_origin(), user_id)
    flash("Account deactivated. They have been signed out and cannot sign in.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/admin/users/<uuid:user_id>/reactivate")
def reactivate(user_id: uuid.UUID) -> Response:
    staff.reactivate_staff(tenant_session(), _admin(), request_origin(), user_id)
    flash("Account reactivated. They can sign in again.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/admin/users/<uuid:user_id>/second-factor/reset")
def reset_second_factor(user_id: uuid.UUID) -> str:
    set_up = staff.reset_second_factor(tenant_session(), _admin(), request_origin(), user_id)
    return render_template("admin/set_up.html", set_up=set_up, new=False)


@bp.get("/admin/access-log")
def access_log() -> Page:
    try:
        # An empty box is the form before a search, not a wrong id.
        query = _load(AccessLogQuery(), {k: v for k, v in request.args.items() if v.strip()})
    except InvalidInput as exc:
        # Still the admin's page only: a refused role gets its 403, not the form.
        oversight.charity_access_log(tenant_session(), _admin(), request_origin(), None)
        page = render_template(
            "admin/access_log.html", accesses=None, case_id=None, errors=exc.errors
        )
        return page, 400
    accesses = oversight.charity_access_log(
        tenant_session(), _admin(), request_origin(), query["case"]
    )
    return render_template(
        "admin/access_log.html", accesses=accesses, case_id=query["case"], errors={}
    )


@bp.get("/manager")
def manager() -> str:
    caseload = oversight.caseload_by_prison(tenant_session(), require_context(), request_origin())
    return render_template("admin/manager.html", caseload=caseload)
