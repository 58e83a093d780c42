"""The ministry's OAuth2 client credentials (DESIGN.md section 9, issue 5 item 5): the operator's
commands, the token endpoint, the audit trail and logs, the migration and the app role's grants.
The resource protector and the walls are in test_oauth_protector.py.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from authlib.oauth2.rfc6749 import ClientCredentialsGrant
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.api.oauth import SERVER, ClientCredentials
from app.domain.audit_chain import PLATFORM_CHAIN
from app.models import OAuthClient
from app.models.oauth import METRICS_READ
from app.services.platform import audit
from config import SettingsError
from tests.conftest import APP_ROLE
from tests.support.clock import DEFAULT_NOW
from tests.support.oauth import (
    PROBE,
    TOKEN_URL,
    access_token,
    add_probes,
    ask_token,
    basic,
    bearer_header,
    digest,
    make_client,
    platform_events,
    stored_tokens,
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


@pytest.fixture
def make_oauth_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    return lambda **overrides: add_probes(make_app(**overrides))


# --- the operator's commands -----------------------------------------------------------------


def _created(output: str) -> tuple[str, str]:
    client_id = re.search(r"client_id: (\S+)", output)
    secret = re.search(r"client_secret \(shown once\): (\S+)", output)
    assert client_id and secret, output
    return client_id.group(1), secret.group(1)


def test_operator_creates_a_ministry_client_whose_secret_is_shown_once_and_stored_as_a_digest(
    oauth_app, owner_sessions
):
    runner = oauth_app.test_cli_runner()
    result = runner.invoke(args=["clients", "create", "--org", "ministry", "--name", "BI system"])
    assert result.exit_code == 0, result.output
    client_id, secret = _created(result.output)
    with owner_sessions() as session:
        row = session.get(OAuthClient, uuid.UUID(client_id))
        assert row is not None and row.name == "BI system" and row.revoked_at is None
        assert row.secret_hash == digest(secret)
        stored = session.execute(text("SELECT * FROM oauth_clients")).all()
    assert secret not in repr(stored)
    listed = runner.invoke(args=["clients", "list"])
    assert listed.exit_code == 0 and client_id in listed.output and "BI system" in listed.output
    assert secret not in listed.output
    # The secret shown is the one that works.
    assert ask_token(oauth_app.test_client(), client_id, secret).status_code == 200


@pytest.mark.parametrize("org", ["pops", "nepacs", "alliance"])
def test_operator_cannot_create_a_client_outside_the_ministry(oauth_app, owner_sessions, org):
    result = oauth_app.test_cli_runner().invoke(
        args=["clients", "create", "--org", org, "--name", "BI system"]
    )
    assert result.exit_code == 2
    assert "error: org:" in result.output
    with owner_sessions() as session:
        assert session.scalar(select(func.count()).select_from(OAuthClient)) == 0


def test_operator_cannot_give_two_ministry_clients_one_name(oauth_app, new_client):
    new_client("BI system")
    result = oauth_app.test_cli_runner().invoke(
        args=["clients", "create", "--org", "ministry", "--name", "BI system"]
    )
    assert result.exit_code == 2 and "error: name:" in result.output


def test_revoking_an_unknown_client_changes_nothing_and_says_so(oauth_app, new_client):
    client_id, _secret = new_client()
    result = oauth_app.test_cli_runner().invoke(args=["clients", "revoke", str(uuid.uuid4())])
    assert result.exit_code == 2 and "no client" in result.output
    listed = oauth_app.test_cli_runner().invoke(args=["clients", "list"])
    assert f"{client_id}  ministry  'BI system'" in listed.output and "live" in listed.output


# --- the token endpoint ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["basic", "post"])
def test_ministry_client_gets_a_short_lived_metrics_token_stored_only_as_a_digest(
    oauth_app, new_client, app_sessions, how
):
    client_id, secret = new_client()
    response = ask_token(oauth_app.test_client(), client_id, secret, how=how)
    assert response.status_code == 200, response.text
    body = response.get_json()
    seconds = oauth_app.extensions["continuum"].settings.oauth_token_seconds
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["scope"], body["expires_in"]) == (
        "Bearer",
        METRICS_READ,
        seconds,
    )
    assert response.headers["Cache-Control"] == "no-store"
    [stored] = stored_tokens(app_sessions)
    assert stored.token_hash == digest(body["access_token"])
    assert str(stored.client_id) == client_id and stored.scope == METRICS_READ
    assert stored.expires_at - stored.issued_at == timedelta(seconds=seconds)
    with app_sessions() as session:
        rows = session.execute(text("SELECT * FROM oauth_tokens")).all()
    assert body["access_token"] not in repr(rows)


def test_token_life_follows_the_setting(make_oauth_app, new_client):
    app = make_oauth_app(oauth_token_seconds=120)
    client_id, secret = new_client()
    assert ask_token(app.test_client(), client_id, secret).get_json()["expires_in"] == 120


@pytest.mark.parametrize("seconds", [0, 59, 3601, 86400])
def test_a_token_life_that_is_not_short_stops_the_app_at_start(make_app, seconds):
    with pytest.raises(SettingsError, match="CONTINUUM_OAUTH_TOKEN_SECONDS"):
        make_app(oauth_token_seconds=seconds)


@pytest.mark.parametrize("how", ["basic", "post"])
def test_wrong_secret_gets_401_invalid_client_and_no_token(
    oauth_app, new_client, app_sessions, how
):
    client_id, secret = new_client()
    response = ask_token(oauth_app.test_client(), client_id, secret + "x", how=how)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers.get("WWW-Authenticate")
    assert stored_tokens(app_sessions) == []


def _hand_made_charity_client(
    owner_sessions: sessionmaker[Session], world: World
) -> tuple[str, str]:
    """A client row for a charity, written past the service (which refuses to make one)."""
    secret = "ctc_" + uuid.uuid4().hex
    with owner_sessions() as session:
        row = OAuthClient(
            organisation_id=world.organisations["pops"],
            name="hand made",
            secret_hash=digest(secret),
            created_at=DEFAULT_NOW,
        )
        session.add(row)
        session.commit()
        return row.client_id, secret


@pytest.mark.parametrize("claimed", ["unknown-uuid", "not-a-uuid", "charity-client"])
def test_an_id_that_names_no_ministry_client_gets_the_same_401_as_a_wrong_secret(
    oauth_app, new_client, app_sessions, owner_sessions, world, claimed
):
    client_id, secret = new_client()
    wrong = ask_token(oauth_app.test_client(), client_id, "ctc_wrong")
    if claimed == "charity-client":
        other, secret = _hand_made_charity_client(owner_sessions, world)
    else:
        other = str(uuid.uuid4()) if claimed == "unknown-uuid" else "bi-system"
    response = ask_token(oauth_app.test_client(), other, secret)
    assert (response.status_code, response.get_json()) == (wrong.status_code, wrong.get_json())
    assert stored_tokens(app_sessions) == []


@pytest.mark.parametrize("scope", ["cases:read", "metrics:read cases:read", "metrics:write"])
def test_a_scope_the_client_may_not_have_is_refused_not_silently_narrowed(
    oauth_app, new_client, app_sessions, scope
):
    client_id, secret = new_client()
    response = ask_token(oauth_app.test_client(), client_id, secret, scope=scope)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"
    assert stored_tokens(app_sessions) == []


def test_asking_for_metrics_read_by_name_gets_it(oauth_app, new_client):
    client_id, secret = new_client()
    response = ask_token(oauth_app.test_client(), client_id, secret, scope=METRICS_READ)
    assert response.status_code == 200 and response.get_json()["scope"] == METRICS_READ


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", ""])
def test_every_other_grant_is_refused(oauth_app, new_client, app_sessions, grant):
    client_id, secret = new_client()
    response = oauth_app.test_client().post(
        TOKEN_URL,
        data={"grant_type": grant, "username": "x", "password": "y", "code": "z"},
        headers=basic(client_id, secret),
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_grant_type"
    assert stored_tokens(app_sessions) == []


def test_token_endpoint_answers_only_post(oauth_app):
    response = oauth_app.test_client().get(TOKEN_URL)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_fourth_token_request_in_a_minute_from_one_address_gets_429(make_oauth_app, new_client):
    app = make_oauth_app(login_rate_limit="3 per minute")
    client_id, secret = new_client()
    client = app.test_client()
    for _ in range(3):
        assert ask_token(client, client_id, secret + "x").status_code == 401
    limited = ask_token(client, client_id, secret)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    elsewhere = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, secret),
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert elsewhere.status_code == 200


# --- audit and logs --------------------------------------------------------------------------


def test_issue_and_refusals_are_audited_in_the_platform_chain_by_client_id_only(
    oauth_app, new_client, all_rows
):
    client_id, secret = new_client()
    token = access_token(oauth_app, client_id, secret)
    client = oauth_app.test_client()
    ask_token(client, client_id, "ctc_wrong")
    ask_token(client, str(uuid.uuid4()), secret)
    ask_token(client, client_id, secret, scope="cases:read")
    events = platform_events(all_rows, "oauth.token")
    assert [(e.actor, e.outcome, e.record_ids) for e in events] == [
        (client_id, "ok", f'["{client_id}"]'),
        (client_id, "refused", f'["{client_id}"]'),
        (audit.UNKNOWN_ACTOR, "refused", "[]"),
        (client_id, "refused", f'["{client_id}"]'),
    ]
    with all_rows() as session:
        everything = repr(session.execute(text("SELECT * FROM audit_events")).all())
        assert audit.verify(session, PLATFORM_CHAIN).ok
    assert secret not in everything and token not in everything


def test_neither_secret_nor_token_reaches_any_log(oauth_app, new_client, caplog):
    caplog.set_level(logging.DEBUG)
    client_id, secret = new_client()
    token = access_token(oauth_app, client_id, secret)
    oauth_app.test_client().get(PROBE, headers=bearer_header(token))
    ask_token(oauth_app.test_client(), client_id, secret + "x")
    assert caplog.records, "nothing was logged at all: the check below would prove nothing"
    assert secret not in caplog.text and token not in caplog.text


def test_negative_control_authlibs_own_grant_would_log_the_token(oauth_app, new_client, caplog):
    class StockGrant(ClientCredentials):
        create_token_response = ClientCredentialsGrant.create_token_response

    oauth_app.extensions[SERVER]._token_grants = [(StockGrant, None)]
    caplog.set_level(logging.DEBUG)
    token = access_token(oauth_app, *new_client())
    assert token in caplog.text


# --- the migration ---------------------------------------------------------------------------


def test_migration_goes_down_and_up_with_clients_and_tokens_present(
    oauth_app, new_client, settings, owner_sessions
):
    from app.migrate import downgrade, upgrade

    access_token(oauth_app, *new_client())
    oauth_app.extensions["continuum"].engine.dispose()
    downgrade(settings, "0007")
    upgrade(settings)
    with owner_sessions() as session:
        assert session.scalar(select(func.count()).select_from(OAuthClient)) == 0
    # The rebuilt tables (and, on PostgreSQL, the app role's grants) work again.
    token = access_token(oauth_app, *new_client())
    assert oauth_app.test_client().get(PROBE, headers=bearer_header(token)).status_code == 200


# --- PostgreSQL: what the application role may do --------------------------------------------


@pytest.mark.postgres_only
def test_app_role_may_read_clients_and_add_tokens_and_nothing_more(pg_database, pg_world):
    from sqlalchemy import create_engine

    engine = create_engine(pg_database.owner_url)
    try:
        with engine.connect() as conn:
            privileges = {
                table: {
                    privilege
                    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
                    if conn.execute(
                        text("SELECT has_table_privilege(:role, :table, :p)"),
                        {"role": APP_ROLE, "table": table, "p": privilege},
                    ).scalar()
                }
                for table in ("oauth_clients", "oauth_tokens")
            }
    finally:
        engine.dispose()
    assert privileges == {"oauth_clients": {"SELECT"}, "oauth_tokens": {"SELECT", "INSERT"}}
