"""The load balancer's two questions, on SQLite and PostgreSQL (docs/production.md).

``/healthz``: is the process up? ``/readyz``: can it serve, that is, is the database reachable
and its migrations at this code's head (or ahead, still holding all it needs)? Both answer without signing in, set no cookie, are never
rate-limited, and say nothing else: no version, no error text, no database name.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from app import create_app
from app.migrate import alembic_config, downgrade, upgrade
from config import Settings, load_settings
from tests.conftest import ROOT_KEY_FILE, SECRET_KEY, Database
from tests.support.clock import ManualClock
from tests.support.servers import free_port

READY = b"ok"
NOT_READY = b"not ready"


def _app_on(database: Database, tmp_path: Path, clock: ManualClock) -> Flask:
    """An app on ``database``, whatever state it is in (make_app's is the test's own copy)."""
    return create_app(_settings_for(database, tmp_path), clock)


def _settings_for(database: Database, tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        instance_path=tmp_path / "instance",
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        secret_key=SECRET_KEY,
        root_key_file=str(ROOT_KEY_FILE),
        testing=True,
    )


def _assert_reveals_nothing(response: TestResponse, database: Database, body: bytes) -> None:
    assert response.data == body
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    said = response.get_data(as_text=True) + str(response.headers)
    for secret in (database.name, database.app_url, "continuum", "sqlite", "postgres", "Error"):
        if secret:
            assert secret not in said


# --- up and ready ----------------------------------------------------------------------------


def test_healthz_says_ok_in_two_bytes_without_a_cookie(app, database):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    _assert_reveals_nothing(response, database, READY)


def test_readyz_says_ok_on_a_database_at_head(app, database):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    _assert_reveals_nothing(response, database, READY)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_a_signed_in_browser_without_touching_its_session(path, database, signed_in):
    client = signed_in("pops_liverpool")
    response = client.get(path)
    assert response.status_code == 200
    _assert_reveals_nothing(response, database, READY)
    assert client.get("/cases").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_never_rate_limited(make_app, path):
    # The tightest limit the app has must not reach the probes: a balancer asks every second.
    app = make_app(login_rate_limit="1 per hour")
    client = app.test_client()
    answers = [client.get(path) for _ in range(120)]
    assert {response.status_code for response in answers} == {200}
    assert not any("X-RateLimit-Limit" in response.headers for response in answers)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_head_and_refuse_other_methods(app, path):
    client = app.test_client()
    assert client.head(path).status_code == 200
    refused = client.post(path)
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, HEAD"


def test_a_path_beside_the_probes_is_the_app_own(app):
    # Only the two exact paths are answered before the app: everything else meets its gate.
    assert app.test_client().get("/healthz/x").status_code == 404
    assert app.test_client().get("/readyzz").status_code == 404


# --- not ready -------------------------------------------------------------------------------


def test_readyz_is_503_on_a_fresh_empty_database(empty_database, tmp_path, clock):
    app = _app_on(empty_database, tmp_path, clock)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    _assert_reveals_nothing(response, empty_database, NOT_READY)
    # Migrated, the same process is ready: nothing was cached from the first answer.
    upgrade(_settings_for(empty_database, tmp_path))
    assert client.get("/readyz").status_code == 200
    app.extensions["continuum"].engine.dispose()


def test_readyz_is_503_at_every_revision_before_head(database, world, tmp_path, clock):
    settings = _settings_for(database, tmp_path)
    app = _app_on(database, tmp_path, clock)
    client = app.test_client()
    script = ScriptDirectory.from_config(alembic_config(settings))
    behind: list[str] = []
    for revision in script.walk_revisions():  # head first
        target = revision.down_revision or "base"
        assert isinstance(target, str)
        downgrade(settings, target)
        response = client.get("/readyz")
        if response.status_code != 503:
            behind.append(target)
        _assert_reveals_nothing(response, database, NOT_READY)
    # A migration readiness cannot see (grants only, say) would be listed here: see
    # app/http/health.py for what readiness compares, and widen it with that migration.
    assert behind == []
    upgrade(settings)
    assert client.get("/readyz").status_code == 200
    app.extensions["continuum"].engine.dispose()


def test_readyz_is_503_one_revision_behind_head(database, world, tmp_path, clock):
    settings = _settings_for(database, tmp_path)
    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config(settings)).get_revision(head)
    app = _app_on(database, tmp_path, clock)
    downgrade(settings, str(previous.down_revision))
    assert app.test_client().get("/readyz").status_code == 503
    upgrade(settings)
    assert app.test_client().get("/readyz").status_code == 200
    app.extensions["continuum"].engine.dispose()


def _stamp_ahead(database: Database, revision: str) -> None:
    """Record, as the owner, a revision this code has never heard of (a newer release's)."""
    owner = create_engine(database.owner_url)
    with owner.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    owner.dispose()


def test_readyz_is_200_on_a_database_ahead_that_holds_every_column(
    database, world, tmp_path, clock
):
    # A newer release migrated first, adding only: the old servers stay in the pool.
    _stamp_ahead(database, "9999_a_newer_release")
    app = _app_on(database, tmp_path, clock)
    assert app.test_client().get("/readyz").status_code == 200
    app.extensions["continuum"].engine.dispose()


def test_readyz_is_503_on_a_database_ahead_that_dropped_what_this_code_needs(
    database, world, tmp_path, clock
):
    _stamp_ahead(database, "9999_a_newer_release")
    owner = create_engine(database.owner_url)
    with owner.begin() as conn:
        conn.execute(text("DROP INDEX ix_api_tokens_user_id"))
    owner.dispose()
    app = _app_on(database, tmp_path, clock)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    _assert_reveals_nothing(response, database, NOT_READY)
    app.extensions["continuum"].engine.dispose()


def _unreachable(backend: str, tmp_path: Path) -> Database:
    if backend == "sqlite":
        # A directory where the database file should be: SQLite cannot open it.
        blocked = tmp_path / "blocked.sqlite3"
        blocked.mkdir()
        return Database("sqlite", f"sqlite:///{blocked}", f"sqlite:///{blocked}")
    url = f"postgresql://continuum_app@127.0.0.1:{free_port()}/continuum_gone"
    return Database("postgresql", url, url, "continuum_gone")


def test_readyz_is_503_when_the_database_is_unreachable(
    backend, tmp_path, clock, caplog: pytest.LogCaptureFixture
):
    database = _unreachable(backend, tmp_path)
    app = _app_on(database, tmp_path, clock)
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    _assert_reveals_nothing(response, database, NOT_READY)
    # The operator's log says why, in words of its own: no traceback, no address.
    assert [record.getMessage() for record in caplog.records if "readyz" in record.getMessage()]
    for record in caplog.records:
        assert record.exc_info is None
        assert "continuum_gone" not in record.getMessage()
        assert "blocked.sqlite3" not in record.getMessage()
        assert "127.0.0.1" not in record.getMessage()
    app.extensions["continuum"].engine.dispose()


def test_probes_are_answered_before_the_app_sees_the_request(app):
    seen: list[str] = []
    app.before_request(lambda: seen.append("app"))  # type: ignore[func-returns-value]
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert seen == []
    client.get("/login")
    assert seen == ["app"]
