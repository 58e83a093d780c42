"""Probes that tell which database role a request's session runs as, and whether that role may
touch the cases table at all (PostgreSQL's answer, not the ORM guard's).

The probes are added to a fresh app before its first request; none is part of the application.
The cases query runs on the session's connection (no ORM guard in the way) inside a savepoint,
so a refusal leaves the request's transaction usable.
"""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from app.api.oauth import require_oauth
from app.models.oauth import METRICS_READ
from tenants.flask import db_session

WEB_PROBE = "/test-probe/database-role"
API_PROBE = "/api/v1/test-probe/database-role"
OAUTH_PROBE = "/api/v1/test-probe/oauth-database-role"


def _database_role() -> object:
    session = db_session()
    connection = session.connection()
    user = connection.execute(text("SELECT current_user")).scalar_one()
    cases = "read"
    savepoint = connection.begin_nested()
    try:
        connection.execute(text("SELECT 1 FROM cases LIMIT 1")).all()
    except ProgrammingError as error:
        if "permission denied" not in str(error):
            raise
        cases = "permission denied"
    finally:
        if savepoint.is_active:
            savepoint.rollback()
    return jsonify(current_user=user, cases=cases)


def add_role_probes(app: Flask) -> Flask:
    app.add_url_rule(WEB_PROBE, "test_web_database_role", _database_role)
    app.add_url_rule(API_PROBE, "test_api_database_role", _database_role)
    app.add_url_rule(
        OAUTH_PROBE, "test_oauth_database_role", require_oauth(METRICS_READ)(_database_role)
    )
    return app
