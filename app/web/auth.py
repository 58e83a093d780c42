"""Signing in to one's own charity: organisation first, then password, then a TOTP code; and
the signed-in user's own account (changing the password, signing out everywhere)."""

from __future__ import annotations

import uuid

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from app.domain.errors import InvalidInput, NotFound, SignInRefused
from app.extensions import app_clock, limiter
from app.http.audit import request_origin
from app.models import Organisation, User
from app.security.passwords import MIN_LENGTH
from app.security.totp import secret_to_base32
from app.services.accounts import accounts
from app.services.accounts.accounts import LockoutPolicy
from app.services.platform.reference import organisation_by_slug
from app.web.security import end_session, renew_session, start_session
from tenants.flask import db_session

bp = Blueprint("auth", __name__)

# The password step is good for this long; then the person starts again.
PENDING_SECONDS = 300
WRONG_DETAILS = "Enter a correct username and password"
WRONG_CODE = "Enter a correct security code from your authenticator app"
PASSWORD_FIELDS = ("current_password", "new_password", "confirm_password")
# Read a little past the longest password allowed, so a longer one is refused, not cut short.
PASSWORD_READ = accounts.MAX_PASSWORD_LENGTH + 1


def _policy() -> LockoutPolicy:
    settings = current_app.extensions["continuum"].settings
    return LockoutPolicy(settings.lockout_threshold, settings.lockout_minutes)


def _login_limit() -> str:
    return current_app.extensions["continuum"].settings.login_rate_limit


def _organisation(slug: str) -> Organisation:
    try:
        return organisation_by_slug(db_session(), slug)
    except NotFound:
        abort(404)


def _pending_user(organisation: Organisation) -> User | None:
    pending = session.get("pending")
    if not pending or pending.get("org") != str(organisation.id):
        return None
    if app_clock()().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending", None)
        return None
    user = db_session().get(User, uuid.UUID(pending["user"]))
    if user is None or user.organisation_id != organisation.id:
        return None
    return user


def _check_posted_code(user: User) -> None:
    sealer = current_app.extensions["continuum"].totp_sealer
    code = request.form.get("code", "")[:16]
    accounts.check_code(db_session(), user, code, request_origin(), sealer, _policy())


@bp.get("/login")
def choose_organisation() -> str:
    organisations = db_session().query(Organisation).order_by(Organisation.kind, Organisation.name)
    return render_template("auth/choose.html", organisations=list(organisations))


@bp.route("/o/<slug>/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login(slug: str) -> str | Response:
    organisation = _organisation(slug)
    errors: dict[str, str] = {}
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")[:80]
        password = request.form.get("password", "")[:256]
        try:
            user = accounts.check_password(
                db_session(), organisation, username, password, request_origin(), _policy()
            )
        except SignInRefused:
            errors["username"] = WRONG_DETAILS
        else:
            session.clear()
            session["pending"] = {
                "user": str(user.id),
                "org": str(organisation.id),
                "at": app_clock()().timestamp(),
            }
            step = "auth.second_factor" if user.totp_confirmed else "auth.enrol"
            return redirect(url_for(step, slug=slug))
    status = 401 if errors else 200
    return render_template(  # type: ignore[return-value]
        "auth/login.html",
        organisation=organisation,
        errors=errors,
        username=username,
        policy=_policy(),
    ), status


@bp.route("/o/<slug>/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def second_factor(slug: str) -> str | Response:
    organisation = _organisation(slug)
    user = _pending_user(organisation)
    if user is None or not user.totp_confirmed:
        return redirect(url_for("auth.login", slug=slug))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            _check_posted_code(user)
        except SignInRefused:
            errors["code"] = WRONG_CODE
        else:
            start_session(user)
            return redirect(url_for("web.home"))
    status = 401 if errors else 200
    return render_template("auth/code.html", organisation=organisation, errors=errors), status  # type: ignore[return-value]


@bp.route("/o/<slug>/login/enrol", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def enrol(slug: str) -> str | Response:
    organisation = _organisation(slug)
    user = _pending_user(organisation)
    if user is None or user.totp_confirmed:
        return redirect(url_for("auth.login", slug=slug))
    sealer = current_app.extensions["continuum"].totp_sealer
    secret = accounts.start_enrolment(db_session(), user, sealer)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            _check_posted_code(user)
        except SignInRefused:
            errors["code"] = WRONG_CODE
        else:
            start_session(user)
            flash(
                "Your authenticator app is set up. You will need it every time you sign in.",
                "success",
            )
            return redirect(url_for("web.home"))
    uri = accounts.enrolment_uri(user, organisation, secret)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    status = 401 if errors else 200
    return (
        render_template(  # type: ignore[return-value]
            "auth/enrol.html",
            organisation=organisation,
            errors=errors,
            qr_data_uri=qr,
            secret=" ".join(secret_to_base32(secret)[i : i + 4] for i in range(0, 32, 4)),
        ),
        status,
    )


@bp.post("/logout")
def logout() -> Response:
    slug = current_user.organisation.slug
    end_session()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login", slug=slug))


@bp.get("/account")
def account() -> str:
    return render_template("auth/account.html")


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> str | tuple[str, int] | Response:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        user = current_user._get_current_object()
        typed = {name: request.form.get(name, "")[:PASSWORD_READ] for name in PASSWORD_FIELDS}
        try:
            accounts.change_password(db_session(), user, request_origin(), _policy(), **typed)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            renew_session(user)
            flash(
                "Your password has been changed. You have been signed out everywhere else.",
                "success",
            )
            return redirect(url_for("web.home"))
    page = render_template(
        "auth/password.html",
        errors=errors,
        min_length=MIN_LENGTH,
        policy=_policy(),
    )
    return (page, 400) if errors else page


@bp.post("/account/sessions/end")
def end_all_sessions() -> Response:
    user = current_user._get_current_object()
    slug = user.organisation.slug
    accounts.end_all_sessions(db_session(), user)
    end_session()
    flash("You have been signed out on every device.", "success")
    return redirect(url_for("auth.login", slug=slug))
