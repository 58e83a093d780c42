"""The web's sessions: who is signed in, for how long, and what they may reach meanwhile.

The deny-by-default gate (app.http.gate) sends every request to a web page that is not public to
``signed_in_member``, registered here: a signed-in member of staff of an open session that has
not timed out, or a redirect to sign in. A user whose password someone else chose reaches only
``PASSWORD_CHANGE_ENDPOINTS`` until they choose their own.

Ending a session. Flask's session is a signed cookie the server does not keep, so clearing it at
sign-out only empties the browser's copy: any other copy (a saved cookie, a shared computer's
profile, a thief's) stayed signed in until a timeout (issue 13). Each sign-in therefore opens a
server-side session (``web_sessions``, app.services.accounts.accounts) whose random secret travels
in the cookie; the user loader signs a request in only while that session is open, and sign-out ends
it. That ends one session and leaves the user's other devices signed in; ending all of them at once
(signing out everywhere, a password change, an admin's reset or deactivation) stays the epoch's
job, one number on the user's row rather than a row per session to find and end.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.extensions import app_clock, login_manager
from app.http.gate import Side, register_authenticator
from app.models import User
from app.services.accounts import accounts
from tenants.flask import db_session, set_actor

# All a signed-in user may reach while they must change their password (static is public).
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout"})

# The key in the session cookie for the secret of its server-side session.
WEB_SESSION_KEY = "web_session"


def _now() -> int:
    """Seconds since the epoch by the app's clock: sessions time out by it, as steps are dated."""
    return int(app_clock()().timestamp())


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, epoch = session_id.partition(":")
    try:
        parsed = uuid.UUID(user_id)
    except ValueError:
        return None
    user = db_session().get(User, parsed)
    if user is None or not user.active or str(user.session_epoch) != epoch:
        return None
    secret = session.get(WEB_SESSION_KEY)
    if not isinstance(secret, str) or not accounts.web_session_is_live(
        db_session(), user.id, secret
    ):
        return None
    return user


def _absolute_limit() -> datetime:
    """Sessions that began before this have outlived the absolute timeout."""
    settings = current_app.extensions["continuum"].settings
    return app_clock()() - timedelta(hours=settings.session_absolute_hours)


def _begin(user: User, auth_at: int) -> None:
    secret = accounts.open_web_session(db_session(), user, app_clock()())
    session.clear()
    login_user(user, remember=False, fresh=True)
    # Not session.permanent: flask-login's strong protection only marks a permanent session
    # non-fresh when the fingerprint changes, instead of ending it. Timeouts are enforced here.
    session[WEB_SESSION_KEY] = secret
    session["auth_at"] = auth_at
    session["seen_at"] = _now()


def start_session(user: User) -> None:
    """Called once both sign-in steps pass; a fresh session, on the server and in the cookie,
    prevents fixation. The user's sessions past the absolute timeout are forgotten first."""
    accounts.forget_web_sessions(db_session(), user, _absolute_limit())
    _begin(user, _now())


def renew_session(user: User) -> None:
    """After the user's own action raised their session epoch (a password change): this
    browser's session carries the new epoch, so only the others end; it moves to a new
    server-side session too, so a copy of the cookie from before the change is refused. The
    sign-in time is kept, so the absolute timeout still counts from the sign-in."""
    auth_at = session.get("auth_at", 0)
    _end_server_session()
    _begin(user, auth_at)


def _end_server_session() -> None:
    secret = session.get(WEB_SESSION_KEY)
    if isinstance(secret, str):
        accounts.end_web_session(db_session(), secret, app_clock()())


def end_session() -> None:
    """Sign this browser out: its server-side session ends, so no copy of the cookie signs
    anyone in again, and the cookie is emptied. The user's other sessions carry on."""
    _end_server_session()
    logout_user()
    session.clear()


def _session_expired() -> bool:
    settings = current_app.extensions["continuum"].settings
    now = _now()
    auth_at = session.get("auth_at", 0)
    seen_at = session.get("seen_at", 0)
    if now - auth_at > settings.session_absolute_hours * 3600:
        return True
    return now - seen_at > settings.session_idle_minutes * 60


def signed_in_member() -> Response | None:
    """The web's authenticator (app.http.gate): the signed-in member of staff, or a redirect to
    sign in; while their password must change, a redirect to change it."""
    if not current_user.is_authenticated:
        set_actor(None)
        return redirect(url_for("auth.choose_organisation"))
    if _session_expired():
        slug = current_user.organisation.slug
        end_session()
        set_actor(None)
        flash("You were signed out because your session expired. Sign in again.", "important")
        return redirect(url_for("auth.login", slug=slug))
    session["seen_at"] = _now()
    user = current_user._get_current_object()
    set_actor(user)
    if user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.change_password"))
    return None


def _fingerprint() -> str:
    """The session's fingerprint: the connection's address and the browser.

    flask-login's own takes the first X-Forwarded-For entry, which the client sets, so a stolen
    cookie could claim its victim's address. ``request.remote_addr`` is the socket's peer, or
    what a ProxyFix configured for the real proxy says.
    """
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha512(f"{request.remote_addr}|{agent}".encode()).hexdigest()


def init_security(app: Flask) -> None:
    login_manager.session_protection = "strong"
    # flask-login has no public hook for this; the attribute is its documented-in-code seam.
    login_manager._session_identifier_generator = _fingerprint
    login_manager.login_view = "auth.choose_organisation"
    register_authenticator(app, Side.WEB, signed_in_member)

    @app.context_processor
    def _actor() -> dict[str, object]:
        return {"tenant": g.get("tenant")}
