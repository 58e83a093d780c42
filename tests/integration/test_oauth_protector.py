"""The ministry's OAuth2 resource protector (DESIGN.md section 9, issue 5 item 5), on probe
views standing in for the release endpoints (tests/support/oauth.py); and the walls: a ministry
client's token reaches no case data on any route of the app.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, UUIDConverter

from app.http.gate import PUBLIC_ENDPOINTS
from app.models import Base
from app.models.oauth import METRICS_READ
from app.services.accounts.oauth_clients import new_access_token
from tenants.model import is_tenant_table
from tests.support.oauth import (
    PROBE,
    PROBE_VIEW,
    access_token,
    add_probes,
    ask_token,
    bearer_header,
    make_client,
    platform_events,
    store_token,
)
from tests.support.world import World


@pytest.fixture
def oauth_app(make_app: Callable[..., Flask]) -> Flask:
    return add_probes(make_app())


@pytest.fixture
def new_client(
    owner_sessions: sessionmaker[Session], world: World
) -> Callable[..., tuple[str, str]]:
    return lambda name="BI system": make_client(owner_sessions, world, name)


# --- the resource protector ------------------------------------------------------------------


@pytest.mark.parametrize("path", [PROBE, PROBE_VIEW])
def test_live_metrics_token_reads_a_protected_view_with_no_tenant_context(
    oauth_app, new_client, path
):
    token = access_token(oauth_app, *new_client())
    response = oauth_app.test_client().get(path, headers=bearer_header(token))
    assert response.status_code == 200, response.text
    assert response.get_json() == {"figures": "released", "tenant": "None"}


@pytest.mark.parametrize("path", [PROBE, PROBE_VIEW])
def test_no_token_gets_401_with_a_bearer_challenge_and_the_error_envelope(oauth_app, path):
    response = oauth_app.test_client().get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="continuum"'
    assert response.get_json() == {
        "error": {"status": 401, "code": "unauthorised", "message": "Authentication required"}
    }


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {new_access_token()}",
        "Bearer ",
        "Bearer",
        "Basic " + base64.b64encode(b"client:secret").decode(),
    ],
    ids=["unknown", "empty", "bare", "basic"],
)
def test_a_token_that_is_not_a_live_one_gets_401(oauth_app, authorization):
    response = oauth_app.test_client().get(PROBE, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="continuum"')
    assert response.get_json()["error"]["status"] == 401


def test_a_ministry_analysts_personal_token_is_not_a_client_token(oauth_app, bearer):
    response = oauth_app.test_client().get(PROBE, headers=bearer("ministry"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_expired_token_gets_401_invalid_token(oauth_app, new_client):
    client_id, _secret = new_client()
    seconds = oauth_app.extensions["continuum"].settings.oauth_token_seconds
    expired = store_token(
        oauth_app, client_id, scope=METRICS_READ, issued_ago=timedelta(seconds=seconds + 1)
    )
    fresh = store_token(
        oauth_app, client_id, scope=METRICS_READ, issued_ago=timedelta(seconds=seconds - 60)
    )
    client = oauth_app.test_client()
    response = client.get(PROBE, headers=bearer_header(expired))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    # The same client's token still in its life passes: the refusal was the expiry's.
    assert client.get(PROBE, headers=bearer_header(fresh)).status_code == 200


@pytest.mark.parametrize("scope", ["", "profile", "metrics:write"])
def test_token_without_metrics_read_gets_403_even_when_its_scope_was_narrowed_silently(
    oauth_app, new_client, all_rows, scope
):
    client_id, _secret = new_client()
    narrowed = store_token(oauth_app, client_id, scope=scope)
    response = oauth_app.test_client().get(PROBE, headers=bearer_header(narrowed))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.get_json()["error"]["code"] == "forbidden"
    [refused] = platform_events(all_rows, "oauth.access")
    assert (refused.actor, refused.outcome) == (client_id, "refused")


def test_revoked_clients_token_stops_working_and_it_gets_no_new_one(
    oauth_app, new_client, all_rows
):
    client_id, secret = new_client()
    token = access_token(oauth_app, client_id, secret)
    client = oauth_app.test_client()
    assert client.get(PROBE, headers=bearer_header(token)).status_code == 200
    result = oauth_app.test_cli_runner().invoke(args=["clients", "revoke", client_id])
    assert result.exit_code == 0, result.output
    response = client.get(PROBE, headers=bearer_header(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    again = ask_token(client, client_id, secret)
    assert (again.status_code, again.get_json()["error"]) == (401, "invalid_client")
    assert [e.record_ids for e in platform_events(all_rows, "oauth_client.revoke")] == [
        f'["{client_id}"]'
    ]
    listed = oauth_app.test_cli_runner().invoke(args=["clients", "list"])
    assert "revoked" in listed.output


# --- the walls: an OAuth token reaches no case data ------------------------------------------


SAMPLES: dict[type, Callable[[str, World], str]] = {
    UUIDConverter: lambda name, world: str(
        world.cases[("pops", "LPI")] if name == "case_id" else uuid.uuid4()
    ),
    IntegerConverter: lambda name, world: "1",
    PathConverter: lambda name, world: "x/y",
    UnicodeConverter: lambda name, world: "pops",
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
RELEASE_API = "/api/v1/releases"


def _sample(name: str, converter: object, world: World) -> str:
    for kind, value in SAMPLES.items():
        if isinstance(converter, kind):
            return value(name, world)
    pytest.fail(f"add a sample value for {type(converter).__name__} so its routes are checked")


def _case_row_counts(all_rows: sessionmaker[Session]) -> dict[str, int]:
    with all_rows() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(text(table.name)))
            for table in Base.metadata.sorted_tables
            if is_tenant_table(table)
        }


def test_a_ministry_oauth_token_gets_no_data_from_any_route_of_the_app(
    app, world, new_client, all_rows
):
    token = access_token(app, *new_client())
    adapter = app.url_map.bind("localhost")
    before = _case_row_counts(all_rows)
    checked: set[str] = set()
    wrong: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.rule.startswith(RELEASE_API):
            # The released figures are what the token is for (tests/integration/test_api_releases.py).
            continue
        values = {
            name: _sample(name, converter, world) for name, converter in rule._converters.items()
        }
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = adapter.build(rule.endpoint, values, method=method)
            body = {"json": {}} if path.startswith("/api/") and method in WRITE_METHODS else {}
            response = app.test_client().open(
                path, method=method, headers=bearer_header(token), **body
            )
            checked.add(path)
            if path.startswith("/api/"):
                payload = response.get_json(silent=True) or {}
                if response.status_code not in (401, 403, 404) or set(payload) != {"error"}:
                    wrong.append(f"{method} {path}: {response.status_code}")
            elif (response.status_code, response.location) != (302, "/login"):
                wrong.append(f"{method} {path}: {response.status_code} {response.location}")
    case_paths = {path for path in checked if str(world.cases[("pops", "LPI")]) in path}
    assert any(p.startswith("/api/v1/cases/") for p in case_paths), "no API case route walked"
    assert any(p.startswith("/cases/") for p in case_paths), "no case page walked"
    assert any(p.startswith("/api/v1/transfers") for p in checked), "no transfer route walked"
    assert wrong == []
    assert _case_row_counts(all_rows) == before
