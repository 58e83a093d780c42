"""API authentication: a personal token as ``Authorization: Bearer``, and nothing else.

Cookies never authenticate an API request, so the API needs no CSRF token and a page's session
cannot be ridden by a script on another site.
"""

from __future__ import annotations

from flask import request

from app.extensions import app_clock
from app.models import User
from app.services.accounts import user_for_token
from tenants.flask import db_session


def bearer_actor() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return user_for_token(db_session(), secret.strip(), app_clock()())
