"""API authentication: a personal token as ``Authorization: Bearer``, and nothing else.

Cookies never authenticate an API request, so the API needs no CSRF token and a page's session
cannot be ridden by a script on another site. ``bearer_member`` is the API's authenticator,
registered with the deny-by-default gate (app.http.gate) by ``init_api``.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import Unauthorized

from app.domain.errors import PasswordChangeRequired
from app.extensions import app_clock
from app.models import User
from app.services.accounts.accounts import user_for_token
from tenants.flask import db_session, set_actor


def bearer_actor() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return user_for_token(db_session(), secret.strip(), app_clock()())


def bearer_member() -> None:
    """The API's authenticator (app.http.gate): the member of staff whose live token the request
    carries; refused (401) without one."""
    actor = bearer_actor()
    if actor is None:
        raise Unauthorized(www_authenticate=None)
    set_actor(actor)
    if actor.must_change_password:
        # Refused, and audited as a refusal, until the user chooses their own password on the
        # web: someone else knows the one they have.
        raise PasswordChangeRequired("password change required")
