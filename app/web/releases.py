"""Charity admins' sign-off of their quarter and the coordinator's release screens (issue 5).

A charity admin signs off the charity's finished quarters (never reading a figure). The alliance
coordinator sees who has signed off, builds a quarter's release as a draft, reviews it and
publishes or discards it, and reopens a charity's quarter for a correction. A step the service
refuses (a quarter not over, not every charity signed off, a revision with no reason, a release
no longer a draft) shows the page again with the reason in the error summary and a 4xx status;
nothing is written. A missing release id is the same 404 as everywhere.

Sessions: the coordinator's request session runs as the readers' role on PostgreSQL, which may
read and publish releases but has no grant on the sign-off steps or the services they are
counted over. The build (a named system operation that reads the case tables through the walls)
runs on ``builder_session()``, a fresh session with no tenant context and the application role,
as do the coordinator's reading and reopening of sign-off steps (no case table is read there).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, NotSignedOff
from app.domain.figures.periods import Quarter
from app.http.audit import request_origin
from app.http.settings import current_settings
from app.models import Organisation
from app.models.releases import Release, ReleaseStatus, SignOffAction
from app.services.figures import releases, sign_offs
from app.services.figures.releases import Builder
from app.web.forms import FormFields, form_errors
from tenants.flask import Actor, builder_session, current_actor, tenant_session
from tenants.permissions import Permission, may

bp = Blueprint("releases", __name__)

# The finished quarters a page offers: a year's worth, the latest first.
RECENT_QUARTERS = 4
BUILD = FormFields(
    labels={"quarter": "the quarter", "reason": "why the published release is revised"},
    choices=frozenset({"quarter"}),
)
# Where a refused sign-off or release step points in the error summary.
QUARTERS = "quarters"
ACTIONS = "actions"
Errors = dict[str, list[str]]


def _actor(permission: Permission) -> Actor:
    """The signed-in actor if their role grants ``permission``; Forbidden (403) otherwise."""
    actor = current_actor()
    if actor is None or not may(actor.role_enum, permission):
        raise Forbidden(permission.value)
    return actor


def _builder() -> Builder:
    actor = _actor(Permission.RELEASE_PUBLISH)
    return Builder(actor.id, actor.organisation_id, request_origin())


def _recent_quarters() -> list[Quarter]:
    latest = Quarter.of(request_origin().clock().date()).previous()
    quarters = [latest]
    while len(quarters) < RECENT_QUARTERS:
        quarters.append(quarters[-1].previous())
    return quarters


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError as exc:  # a year out of range
        raise InvalidInput({"quarter": ["give a quarter like 2026Q3"]}) from exc


# --- a charity admin signs off the charity's quarters -----------------------------------------


def _sign_off_page(errors: Errors | None = None, status: int = 200) -> ResponseReturnValue:
    actor = _actor(Permission.FIGURES_SIGN_OFF)
    session = tenant_session()
    rows = []
    for quarter in _recent_quarters():
        step = sign_offs.last_step(session, actor.organisation_id, quarter)
        rows.append((quarter, step.action if step is not None else None, step))
    page = render_template(
        "releases/sign_off.html", rows=rows, errors=errors or {}, signed=SignOffAction
    )
    return page, status


@bp.get("/figures")
def sign_off() -> ResponseReturnValue:
    return _sign_off_page()


@bp.post("/figures/<quarter>/sign-off")
def sign_off_quarter(quarter: str) -> ResponseReturnValue:
    actor = _actor(Permission.FIGURES_SIGN_OFF)
    session = tenant_session()
    try:
        chosen = _quarter(quarter)
        sign_offs.sign_off_quarter(
            session,
            charity_id=actor.organisation_id,
            quarter=chosen,
            user_id=actor.id,
            origin=request_origin(),
        )
    except InvalidInput as exc:
        session.rollback()
        messages = [m for texts in exc.errors.values() for m in texts]
        return _sign_off_page({QUARTERS: [_sentence(m) for m in messages]}, 400)
    except Conflict as exc:
        session.rollback()
        return _sign_off_page({QUARTERS: [_sentence(str(exc))]}, 409)
    session.commit()
    flash(f"{chosen.label} signed off: records dated in it are now locked", "success")
    return redirect(url_for("releases.sign_off"))


# --- the coordinator's releases ---------------------------------------------------------------


def _sign_off_session() -> Session:
    """The sign-off steps are read and written on the application role's session (see the
    module docstring); it never has a tenant context, so no case table is reachable."""
    return builder_session()


def _index_page(
    errors: Errors | None = None, status: int = 200, form: Any = None
) -> ResponseReturnValue:
    _actor(Permission.RELEASE_PUBLISH)
    published = releases.published_releases(tenant_session())
    waiting = releases.drafts(tenant_session())
    quarters = [
        (
            quarter,
            sign_offs.sign_off_status(_sign_off_session(), quarter),
            [r for r in published if r.quarter == quarter.label],
            [r for r in waiting if r.quarter == quarter.label],
        )
        for quarter in _recent_quarters()
    ]
    page = render_template(
        "releases/index.html",
        quarters=quarters,
        quarter_options=[(quarter.label, quarter.label) for quarter, *_ in quarters],
        errors=errors or {},
        form=form if form is not None else {},
    )
    return page, status


@bp.get("/releases")
def index() -> ResponseReturnValue:
    return _index_page()


def _names(slugs: tuple[str, ...]) -> str:
    rows = _sign_off_session().execute(
        select(Organisation.slug, Organisation.name).where(Organisation.slug.in_(slugs))
    )
    found = {slug: name for slug, name in rows}
    return ", ".join(found.get(slug, slug) for slug in slugs)


@bp.post("/releases/build")
def build() -> ResponseReturnValue:
    builder = _builder()
    settings = current_settings()
    session = builder_session()
    try:
        quarter = _quarter(request.form.get("quarter", ""))
        release = releases.build_release(
            session,
            quarter,
            builder=builder,
            rules=releases.rules_from(settings.disclosure_threshold, settings.disclosure_base),
            reason=request.form.get("reason") or None,
        )
        session.commit()
    except NotSignedOff as exc:
        session.rollback()
        message = f"Not every charity has signed off the quarter yet: {_names(exc.slugs)}"
        return _index_page({"quarter": [message]}, 409, request.form)
    except InvalidInput as exc:
        session.rollback()
        return _index_page(form_errors(exc.errors, BUILD), 400, request.form)
    except Conflict as exc:  # CannotProtect among them
        session.rollback()
        return _index_page({"quarter": [_sentence(str(exc))]}, 409, request.form)
    flash(f"Draft release of {release.quarter} built: review it before publishing", "success")
    return redirect(url_for("releases.review", release_id=release.id))


@bp.post("/releases/<quarter>/reopen/<slug>")
def reopen(quarter: str, slug: str) -> ResponseReturnValue:
    actor = _actor(Permission.RELEASE_PUBLISH)
    session = _sign_off_session()
    charity = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if charity is None or not charity.is_charity:  # only a charity signs off, so only one reopens
        raise NotFound("no such charity")
    try:
        sign_offs.reopen_quarter(
            session,
            charity_id=charity.id,
            quarter=_quarter(quarter),
            user_id=actor.id,
            coordinator_org=actor.organisation_id,
            origin=request_origin(),
        )
    except InvalidInput as exc:
        session.rollback()
        messages = [m for texts in exc.errors.values() for m in texts]
        return _index_page({QUARTERS: [_sentence(m) for m in messages]}, 400)
    except Conflict as exc:
        session.rollback()
        return _index_page({QUARTERS: [f"{charity.name}: {_sentence(str(exc))}"]}, 409)
    session.commit()
    flash(f"{quarter} reopened for {charity.name}: a revision follows the correction", "success")
    return redirect(url_for("releases.index"))


# --- one release: review, publish, discard ----------------------------------------------------


def _review_page(
    release_id: uuid.UUID, errors: Errors | None = None, status: int = 200
) -> ResponseReturnValue:
    _actor(Permission.RELEASE_PUBLISH)
    release: Release = releases.release_for_review(tenant_session(), release_id)
    page = render_template(
        "releases/review.html",
        release=release,
        document=json.loads(release.content),
        draft=release.status == ReleaseStatus.DRAFT,
        errors=errors or {},
    )
    return page, status


@bp.get("/releases/<uuid:release_id>")
def review(release_id: uuid.UUID) -> ResponseReturnValue:
    return _review_page(release_id)


def _step(release_id: uuid.UUID, step: str) -> ResponseReturnValue:
    builder = _builder()
    session = tenant_session()
    try:
        if step == "publish":
            releases.publish_release(session, release_id, builder=builder)
        else:
            releases.discard_release(session, release_id, builder=builder)
    except Conflict as exc:
        session.rollback()
        return _review_page(release_id, {ACTIONS: [_sentence(str(exc))]}, 409)
    session.commit()
    if step == "publish":
        flash("Release published: the ministry can now read it", "success")
    else:
        flash("Draft discarded: nothing was published", "success")
    return redirect(url_for("releases.review", release_id=release_id))


@bp.post("/releases/<uuid:release_id>/publish")
def publish(release_id: uuid.UUID) -> ResponseReturnValue:
    return _step(release_id, "publish")


@bp.post("/releases/<uuid:release_id>/discard")
def discard(release_id: uuid.UUID) -> ResponseReturnValue:
    return _step(release_id, "discard")
