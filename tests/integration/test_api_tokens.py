"""The JSON API: personal bearer tokens and nothing else authenticate it, and its input schemas
are allowlists that answer one error envelope naming the field (DESIGN.md sections 9 and 10).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.test import TestResponse

from app.models import ApiToken, User
from app.security.tokens import TOKEN_PREFIX, new_token
from app.services.accounts.accounts import create_api_token
from tests.support.api_bodies import referral
from tests.support.world import World

CASES = "/api/v1/cases"


@contextmanager
def _token_row(app: Flask, token_id: uuid.UUID) -> Iterator[ApiToken]:
    with app.extensions["continuum"].session_factory() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        yield token
        session.commit()


def _new_token(app: Flask, world: World, key: str = "pops_liverpool") -> tuple[str, uuid.UUID]:
    with app.extensions["continuum"].session_factory() as session:
        user = session.get(User, world.actors[key].user_id)
        secret, token = create_api_token(session, user, "test", _now(app), 1)
        return secret, token.id


def _now(app: Flask) -> datetime:
    return app.extensions["continuum"].clock()  # type: ignore[no-any-return]


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _assert_refused(response: TestResponse) -> None:
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer ")
    error = response.get_json()["error"]
    assert set(error) == {"status", "code", "message"}
    assert error["status"] == 401 and error["code"] == "unauthorised"


def _total(app: Flask, headers: dict[str, str]) -> int:
    response = app.test_client().get(CASES, headers=headers)
    assert response.status_code == 200
    return response.get_json()["meta"]["total"]


# --- who may call the API --------------------------------------------------------------------


def test_request_without_token_gets_401_with_bearer_challenge_and_error_envelope(app):
    response = app.test_client().get(CASES)
    _assert_refused(response)
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN_PREFIX}not-a-real-token",
        f"Bearer {new_token()}",
        "Bearer ",
        "Basic cG9wcy5saXZlcnBvb2w6Y29ycmVjdCBob3JzZQ==",
    ],
    ids=["made-up", "well-formed-unknown", "empty", "basic"],
)
def test_request_with_wrong_credentials_is_refused(app, world, authorization):
    _new_token(app, world)  # a real token exists; the wrong one must not find it
    _assert_refused(app.test_client().get(CASES, headers={"Authorization": authorization}))


def test_token_without_bearer_scheme_is_refused(app, world):
    secret, _ = _new_token(app, world)
    _assert_refused(app.test_client().get(CASES, headers={"Authorization": secret}))
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200


def test_expired_token_is_refused(app, world):
    secret, token_id = _new_token(app, world)
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200
    with _token_row(app, token_id) as token:
        token.expires_at = _now(app) - timedelta(seconds=1)
    _assert_refused(app.test_client().get(CASES, headers=_auth(secret)))


def test_revoked_token_is_refused(app, world):
    secret, token_id = _new_token(app, world)
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200
    with _token_row(app, token_id) as token:
        token.revoked_at = _now(app)
    _assert_refused(app.test_client().get(CASES, headers=_auth(secret)))


def test_token_of_deactivated_user_is_refused(app, world):
    secret, _ = _new_token(app, world)
    with app.extensions["continuum"].session_factory() as session:
        session.get(User, world.actors["pops_liverpool"].user_id).active = False
        session.commit()
    _assert_refused(app.test_client().get(CASES, headers=_auth(secret)))


def test_signed_in_web_session_does_not_authenticate_the_api(app, world, signed_in, bearer):
    client = signed_in("pops_liverpool")
    assert client.get("/cases").status_code == 200
    _assert_refused(client.get(CASES))
    before = _total(app, bearer("pops_liverpool"))
    _assert_refused(client.post(CASES, json={"prison_code": "LPI"}))
    assert _total(app, bearer("pops_liverpool")) == before


def _last_used(app: Flask, token_id: uuid.UUID) -> datetime | None:
    with _token_row(app, token_id) as token:
        return token.last_used_at


def test_reads_within_a_minute_write_last_used_at_once_and_a_read_after_it_updates_it(
    app, world, clock
):
    secret, token_id = _new_token(app, world)
    first = clock()
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200
    assert _last_used(app, token_id) == first
    clock.advance(timedelta(seconds=59))
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200
    # Within the minute the row is not written again (a write lock per read on SQLite).
    assert _last_used(app, token_id) == first
    later = clock.advance(timedelta(seconds=2))
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200
    assert _last_used(app, token_id) == later


def test_a_token_used_within_the_minute_is_still_refused_once_revoked(app, world, clock):
    secret, token_id = _new_token(app, world)
    assert app.test_client().get(CASES, headers=_auth(secret)).status_code == 200
    with _token_row(app, token_id) as token:
        token.revoked_at = _now(app)
    clock.advance(timedelta(seconds=1))
    _assert_refused(app.test_client().get(CASES, headers=_auth(secret)))


def test_token_is_stored_only_as_a_sha256_digest(app, world):
    secret, _ = _new_token(app, world)
    with app.extensions["continuum"].session_factory() as session:
        # Raw SQL: the row as the database holds it, with no type in the way.
        row = session.execute(text("SELECT * FROM api_tokens")).mappings().one()
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    random_part = secret.removeprefix(TOKEN_PREFIX)
    for column, value in row.items():
        stored = value.hex() if isinstance(value, bytes) else str(value)
        assert secret not in stored, column
        # The display prefix holds a few characters; never enough to matter.
        assert random_part[:16] not in stored, column


def test_cli_creates_a_token_that_works(app, world):
    result = app.test_cli_runner().invoke(
        args=[
            "tokens",
            "create",
            "--org",
            "pops",
            "--username",
            "pops.liverpool",
            "--name",
            "laptop",
        ]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith(TOKEN_PREFIX)
    response = app.test_client().get(CASES, headers=_auth(secret))
    assert response.status_code == 200
    assert response.get_json()["meta"]["total"] == 1


def test_cli_refuses_a_token_for_a_user_of_another_organisation(app, world):
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--org", "nepacs", "--username", "pops.liverpool"]
    )
    assert result.exit_code != 0
    assert TOKEN_PREFIX not in result.output


# --- input is an allowlist -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prison_code": "LPI", "charity_id": str(uuid.uuid4())}, "charity_id"),
        ({"prison_code": "LPI", "colour": "red"}, "colour"),
        ({"prison_code": 123}, "prison_code"),
        ({"prison_code": ["LPI"]}, "prison_code"),
        ({}, "prison_code"),
        ({"prison_code": None}, "prison_code"),
        ({"prison_code": "LPI", "opened_on": "2025-02-30"}, "opened_on"),
        ({"prison_code": "LPI", "opened_on": "yesterday"}, "opened_on"),
        ({"prison_code": "L" * 5000}, "prison_code"),
    ],
    ids=[
        "output-only-field",
        "unknown-field",
        "number",
        "list",
        "missing",
        "null",
        "no-such-day",
        "not-a-date",
        "oversize",
    ],
)
def test_bad_case_input_gets_422_naming_the_field_and_writes_nothing(app, bearer, body, field):
    headers = bearer("pops_liverpool")
    before = _total(app, headers)
    response = app.test_client().post(CASES, json=body, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["status"] == 422 and error["code"] == "invalid_input"
    assert field in error["fields"]
    assert _total(app, headers) == before


def test_good_case_input_is_written(app, bearer):
    headers = bearer("pops_liverpool")
    before = _total(app, headers)
    response = app.test_client().post(CASES, json=referral(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.get_json()["status"] == "referred"
    assert _total(app, headers) == before + 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("charity_id=x", "charity_id"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("opened_from=2025-13-01", "opened_from"),
    ],
    ids=["unknown", "not-a-filter", "too-large", "page-zero", "bad-date"],
)
def test_bad_case_query_gets_422_naming_the_parameter(app, bearer, query, field):
    response = app.test_client().get(f"{CASES}?{query}", headers=bearer("pops_liverpool"))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def _must_change_password(app: Flask, world: World) -> None:
    """As after an admin's reset: someone else chose the password the user has."""
    with app.extensions["continuum"].session_factory() as session:
        session.get(User, world.actors["pops_liverpool"].user_id).must_change_password = True
        session.commit()


def test_cli_refuses_a_token_for_a_user_who_has_not_chosen_their_password(app, world):
    """Issue 13 item 11: such a token would be refused on every call; say why, issue nothing."""
    _must_change_password(app, world)
    with app.extensions["continuum"].session_factory() as session:
        before = session.scalar(text("SELECT count(*) FROM api_tokens"))
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--org", "pops", "--username", "pops.liverpool"]
    )
    assert result.exit_code == 2, result.output
    assert TOKEN_PREFIX not in result.output
    assert "must choose their own password" in result.output
    with app.extensions["continuum"].session_factory() as session:
        assert session.scalar(text("SELECT count(*) FROM api_tokens")) == before


def test_a_token_of_a_user_who_must_change_their_password_gets_a_403_saying_why(app, world):
    secret, _ = _new_token(app, world)
    _must_change_password(app, world)
    response = app.test_client().get(CASES, headers=_auth(secret))
    assert response.status_code == 403
    assert "password" in response.get_json()["error"]["message"]
