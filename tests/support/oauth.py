"""The ministry's OAuth2 clients in tests: probe views standing in for the release endpoints,
clients made as the operator makes them, and token requests as a client makes them.

The probes are added to a fresh app before its first request (``app.add_url_rule``): a plain
function and a MethodView's method, as the release endpoints will be. No probe is part of the
application.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app.api.oauth import require_oauth
from app.domain.audit_chain import PLATFORM_CHAIN
from app.models import AuditEntry, OAuthClient, OAuthToken, Organisation
from app.models.oauth import METRICS_READ
from app.services.accounts.oauth_clients import create_client, issue_token, new_access_token
from app.services.platform.audit import Origin
from tenants.flask import current_tenant_or_none
from tests.support.clock import DEFAULT_NOW
from tests.support.world import World

TOKEN_URL = "/oauth/token"
PROBE = "/api/v1/test-probe/figures"
PROBE_VIEW = "/api/v1/test-probe/view"
ORIGIN = Origin("test", lambda: DEFAULT_NOW)


def _probe() -> object:
    # What a release endpoint would see: no tenant context, so no case table can be read.
    return jsonify(figures="released", tenant=repr(current_tenant_or_none()))


class _ProbeView(MethodView):
    @require_oauth(METRICS_READ)
    def get(self) -> object:
        return _probe()


def add_probes(app: Flask) -> Flask:
    app.add_url_rule(PROBE, "test_probe", require_oauth(METRICS_READ)(_probe))
    app.add_url_rule(PROBE_VIEW, view_func=_ProbeView.as_view("test_probe_view"))
    return app


def make_client(
    owner_sessions: sessionmaker[Session], world: World, name: str = "BI system"
) -> tuple[str, str]:
    """A ministry client made by the service as the operator's command makes it: id, secret."""
    with owner_sessions() as session:
        ministry = session.get(Organisation, world.organisations["ministry"])
        assert ministry is not None
        client, secret = create_client(session, ministry, name, ORIGIN)
        return client.client_id, secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def ask_token(
    client: FlaskClient,
    client_id: str,
    secret: str,
    *,
    scope: str | None = None,
    how: str = "basic",
) -> TestResponse:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    if how == "basic":
        return client.post(TOKEN_URL, data=form, headers=basic(client_id, secret))
    return client.post(TOKEN_URL, data={**form, "client_id": client_id, "client_secret": secret})


def access_token(app: Flask, client_id: str, secret: str) -> str:
    response = ask_token(app.test_client(), client_id, secret)
    assert response.status_code == 200, response.text
    return response.get_json()["access_token"]


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def stored_tokens(sessions: sessionmaker[Session]) -> list[OAuthToken]:
    with sessions() as session:
        return list(session.scalars(select(OAuthToken)))


def platform_events(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.chain == PLATFORM_CHAIN, AuditEntry.action == action)
                .order_by(AuditEntry.sequence)
            )
        )


def store_token(
    app: Flask, client_id: str, *, scope: str, issued_ago: timedelta = timedelta(0)
) -> str:
    """A token stored as the token endpoint stores one, with any scope and issue time: what a
    silently narrowed request, or one made long ago, would have left."""
    secret = new_access_token()
    when = app.extensions["continuum"].clock() - issued_ago
    with app.extensions["continuum"].session_factory() as session:
        client = session.get(OAuthClient, uuid.UUID(client_id))
        assert client is not None
        issue_token(
            session,
            client,
            Origin("test", lambda: when),
            access_token=secret,
            scope=scope,
            seconds=app.extensions["continuum"].settings.oauth_token_seconds,
        )
    return secret
