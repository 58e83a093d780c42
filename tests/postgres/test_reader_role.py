"""The readers' role on PostgreSQL (issue 5 item 6): the ministry, the alliance and the ministry's
API clients run as a role that holds no privilege on any case table, read from the catalogue;
and real requests do run as it (the database says so, and refuses them the cases table), while
a charity worker's request runs as the app role. A negative control takes the switch away and
the probe notices. PostgreSQL only."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text

import tenants.flask
from tests.conftest import APP_ROLE, READER_ROLE
from tests.support.oauth import access_token, bearer_header, make_client
from tests.support.readers import API_PROBE, OAUTH_PROBE, WEB_PROBE, add_role_probes

pytestmark = pytest.mark.postgres_only

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
# Case tables without a charity column of their own: the keys that open case data, and what a
# release's later audits need (exact per-charity contributions among it).
ALSO_CASE_TABLES = ("data_keys", "release_protections")
MUST_BE_FOUND = ("cases", "families", "contacts", "case_notes", "consents", "case_transfers")
SIGNED_IN = "signed-in web"
PERSONAL_TOKEN = "personal API token"


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def owner_engine(pg_database) -> Iterator[Engine]:
    engine = create_engine(pg_database.owner_url)
    yield engine
    engine.dispose()


@pytest.fixture
def probed_app(app: Flask) -> Flask:
    # The `app` fixture's own app (signed_in and bearer use it), before its first request.
    return add_role_probes(app)


def _case_tables(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        charity_tables = connection.scalars(
            text(
                "SELECT DISTINCT c.table_name FROM information_schema.columns c "
                "JOIN information_schema.tables t "
                "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                "AND c.column_name IN ('charity_id', 'sender_charity_id')"
            )
        ).all()
    return sorted({*charity_tables, *ALSO_CASE_TABLES})


def test_readers_role_holds_no_privilege_on_any_case_table(owner_engine):
    tables = _case_tables(owner_engine)
    assert set(MUST_BE_FOUND) <= set(tables), tables
    held = []
    with owner_engine.connect() as connection:
        for table in tables:
            for privilege in PRIVILEGES:
                on_table = connection.scalar(
                    text("SELECT has_table_privilege(:role, :table, :privilege)"),
                    {"role": READER_ROLE, "table": f"public.{table}", "privilege": privilege},
                )
                if on_table:
                    held.append(f"{privilege} on {table}")
            for privilege in ("SELECT", "INSERT", "UPDATE", "REFERENCES"):
                on_a_column = connection.scalar(
                    text("SELECT has_any_column_privilege(:role, :table, :privilege)"),
                    {"role": READER_ROLE, "table": f"public.{table}", "privilege": privilege},
                )
                if on_a_column:
                    held.append(f"{privilege} on a column of {table}")
    assert held == []


def test_readers_role_cannot_become_the_app_role_nor_pass_the_walls(owner_engine):
    with owner_engine.connect() as connection:
        member = connection.scalar(
            text("SELECT pg_has_role(:reader, :app, 'MEMBER')"),
            {"reader": READER_ROLE, "app": APP_ROLE},
        )
        attributes = connection.execute(
            text("SELECT rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = :r"),
            {"r": READER_ROLE},
        ).one()
    assert member is False
    assert (attributes.rolsuper, attributes.rolbypassrls) == (False, False)


def _probe(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> dict:
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.get_json()


@pytest.fixture
def ask_as(probed_app, world, signed_in, bearer, owner_sessions) -> Callable[[str], dict]:
    """The probe's answer for a signed-in actor, an actor's personal token, or an OAuth client."""

    def ask(who: str, how: str = SIGNED_IN) -> dict:
        if who == "oauth client":
            token = access_token(probed_app, *make_client(owner_sessions, world))
            return _probe(probed_app.test_client(), OAUTH_PROBE, bearer_header(token))
        if how == PERSONAL_TOKEN:
            return _probe(probed_app.test_client(), API_PROBE, bearer(who))
        return _probe(signed_in(who), WEB_PROBE)

    return ask


@pytest.mark.parametrize(
    ("who", "how"),
    [
        ("ministry", SIGNED_IN),
        ("coordinator", SIGNED_IN),
        ("ministry", PERSONAL_TOKEN),
        ("coordinator", PERSONAL_TOKEN),
        ("oauth client", "client credentials"),
    ],
)
def test_ministry_alliance_and_api_client_requests_run_as_the_readers_role_refused_cases(
    ask_as, who, how
):
    assert ask_as(who, how) == {"current_user": READER_ROLE, "cases": "permission denied"}


@pytest.mark.parametrize("how", [SIGNED_IN, PERSONAL_TOKEN])
def test_a_charity_caseworkers_request_runs_as_the_app_role(ask_as, how):
    assert ask_as("pops_liverpool", how) == {"current_user": APP_ROLE, "cases": "read"}


@pytest.mark.parametrize("who", ["ministry", "oauth client"])
def test_without_the_switch_the_probe_sees_the_app_role(ask_as, monkeypatch, who):
    # Negative control: a session never marked runs as the app role, and the probe says so.
    monkeypatch.setattr(tenants.flask, "use_readers_role", lambda session, role: None)
    assert ask_as(who) == {"current_user": APP_ROLE, "cases": "read"}
