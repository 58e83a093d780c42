"""Choosing one's own password: a password someone else chose (an admin's set-up password, the
CLI) must be replaced before anything else opens; /account/password checks the current password
(counting towards the lockout), refuses weak new ones, ends the user's other sessions and writes
one audit event. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app.models import AuditEntry, User
from app.security.passwords import verify_password
from app.security.totp import base32_to_secret, code_at
from tests.conftest import csrf_from, fresh_code
from tests.support.world import PASSWORD, World

CHANGE_PAGE = "/account/password"
SIGN_IN_PAGE = "/login"
NEW_PASSWORD = "lantern orchard pebble 42"
SET_UP_PASSWORD = re.compile(r'id="set-up-password">([A-Z0-9-]+)<')
TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
NEW_STAFF = {
    "display_name": "Alex Newstarter",
    "username": "alex.newstarter",
    "role": "caseworker",
    "prisons": ["LPI"],
}


# --- helpers ---------------------------------------------------------------------------------


def _password_step(client: FlaskClient, slug: str, username: str, password: str) -> TestResponse:
    page = client.get(f"/o/{slug}/login")
    return client.post(
        f"/o/{slug}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


def _sign_in(app: Flask, world: World, key: str, offset_steps: int = 0) -> FlaskClient:
    """Both steps; a second device uses the next code, since the first is spent."""
    actor = world.actors[key]
    client = app.test_client()
    assert _password_step(client, actor.org_slug, actor.username, PASSWORD).status_code == 302
    page = client.get(f"/o/{actor.org_slug}/login/code")
    response = client.post(
        f"/o/{actor.org_slug}/login/code",
        data={
            "code": fresh_code(actor.totp_secret, app.extensions["continuum"].clock, offset_steps),
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302 and response.location == "/", response.text
    return client


def _enrol(client: FlaskClient, slug: str, username: str, password: str) -> TestResponse:
    """A first sign-in with a set-up password: the password step, then enrolment."""
    first = _password_step(client, slug, username, password)
    assert first.status_code == 302 and first.location == f"/o/{slug}/login/enrol"
    page = client.get(f"/o/{slug}/login/enrol")
    shown = TOTP_SECRET.search(page.text)
    assert shown is not None
    return client.post(
        f"/o/{slug}/login/enrol",
        data={
            "code": code_at(base32_to_secret(shown[1]), _now(client)),
            "csrf_token": csrf_from(page.text),
        },
    )


def _now(client: FlaskClient) -> float:
    """The app's clock, in seconds: what an authenticator beside it would show."""
    return float(client.application.extensions["continuum"].clock().timestamp())


def _admin_post(client: FlaskClient, url: str, data: dict[str, object]) -> TestResponse:
    token = csrf_from(client.get("/account").text)
    return client.post(url, data={**data, "csrf_token": token})


def _change(
    client: FlaskClient,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    confirm: str | None = None,
) -> TestResponse:
    page = client.get(CHANGE_PAGE)
    assert page.status_code == 200, page.location
    return client.post(
        CHANGE_PAGE,
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
            "csrf_token": csrf_from(page.text),
        },
    )


@contextmanager
def _user(sessions: sessionmaker[Session], user_id: uuid.UUID) -> Iterator[User]:
    """The user's row; changes made inside the block are committed."""
    with sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        yield user
        session.commit()


def _must_change(sessions: sessionmaker[Session], user_id: uuid.UUID) -> None:
    with _user(sessions, user_id) as user:
        user.must_change_password = True


def _password_events(sessions: sessionmaker[Session], chain: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.chain == chain, AuditEntry.action == "user.password_change")
                .order_by(AuditEntry.sequence)
            )
        )


def _signed_in_state(client: FlaskClient) -> tuple[int, str | None]:
    response = client.get("/cases")
    return response.status_code, response.location


# --- a password someone else chose -----------------------------------------------------------


def _created_by_admin(app: Flask, world: World) -> tuple[str, str]:
    admin = _sign_in(app, world, "pops_admin")
    response = _admin_post(admin, "/admin/users/new", NEW_STAFF)
    password = SET_UP_PASSWORD.search(response.text)
    assert password is not None, response.text
    return str(NEW_STAFF["username"]), password[1]


def _reset_by_admin(app: Flask, world: World) -> tuple[str, str]:
    admin = _sign_in(app, world, "pops_admin")
    target = world.actors["pops_liverpool"]
    response = _admin_post(admin, f"/admin/users/{target.user_id}/second-factor/reset", {})
    password = SET_UP_PASSWORD.search(response.text)
    assert password is not None, response.text
    return target.username, password[1]


@pytest.mark.parametrize("made_by", [_created_by_admin, _reset_by_admin], ids=["create", "reset"])
def test_user_given_a_set_up_password_by_the_admin_must_change_it_before_reaching_cases(
    app, world, app_sessions, made_by
):
    username, set_up_password = made_by(app, world)
    client = app.test_client()

    enrolled = _enrol(client, "pops", username, set_up_password)

    assert enrolled.status_code == 302 and enrolled.location == "/"
    for path in ("/", "/cases", "/account", "/admin/users"):
        response = client.get(path)
        assert (response.status_code, response.location) == (302, CHANGE_PAGE), path
    form = client.get(CHANGE_PAGE)
    assert form.status_code == 200 and "Choose your own password" in form.text
    posted = client.post("/cases/new", data={"csrf_token": csrf_from(form.text)})
    assert (posted.status_code, posted.location) == (302, CHANGE_PAGE)
    static = client.get("/static/css/continuum.css")
    static.close()
    assert static.status_code == 200

    changed = _change(client, current=set_up_password)

    assert changed.status_code == 302 and changed.location == "/", changed.text
    assert _signed_in_state(client) == (200, None)
    with app_sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None and not user.must_change_password
        assert verify_password(user.password_hash, NEW_PASSWORD)


def test_user_who_must_change_the_password_may_still_sign_out(app, world, app_sessions):
    _must_change(app_sessions, world.actors["pops_liverpool"].user_id)
    client = _sign_in(app, world, "pops_liverpool")
    page = client.get(CHANGE_PAGE)

    response = client.post("/logout", data={"csrf_token": csrf_from(page.text)})

    assert (response.status_code, response.location) == (302, "/o/pops/login")
    assert _signed_in_state(client) == (302, SIGN_IN_PAGE)


def test_cli_created_user_must_change_the_password(app, world, app_sessions):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--org",
            "pops",
            "--username",
            "cli.worker",
            "--name",
            "CLI Worker",
            "--role",
            "caseworker",
            "--prison",
            "LPI",
        ]
    )

    assert result.exit_code == 0, result.output
    with app_sessions() as session:
        user = session.scalar(select(User).where(User.username == "cli.worker"))
        assert user is not None and user.must_change_password


@pytest.mark.parametrize("key", ["pops_liverpool", "pops_admin", "coordinator", "ministry"])
def test_world_users_are_not_asked_to_change_their_password(app, world, app_sessions, key):
    with _user(app_sessions, world.actors[key].user_id) as user:
        assert not user.must_change_password
    client = _sign_in(app, world, key)

    response = client.get("/")

    assert response.location != CHANGE_PAGE
    assert response.status_code in (200, 302)


def test_demo_users_are_not_asked_to_change_their_password(demo_copy):
    # A copy of what the demo left (tests/support/demo_template.py), made with the arguments
    # test_demo_transfers.py gives it, so that a run of the suite makes that demo once for both.
    app = demo_copy("--families", "12", "--background", "0", "--today", "2026-03-02").app
    with app.extensions["continuum"].session_factory() as session:
        flags = session.execute(select(User.username, User.must_change_password)).all()
    assert flags, "the demo made users"
    assert [username for username, must in flags if must] == []


# --- the rules for a new password ------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "confirm", "field"),
    [
        ("short pass", None, "new_password"),
        ("x" * 257, None, "new_password"),
        (PASSWORD, None, "new_password"),
        ("my POPS.Liverpool login", None, "new_password"),
        ("Password1234", None, "new_password"),
        (NEW_PASSWORD, NEW_PASSWORD + " ", "confirm_password"),
    ],
    ids=["too-short", "too-long", "same-as-current", "has-username", "common", "not-confirmed"],
)
def test_weak_new_password_is_refused_with_a_field_error_and_changes_nothing(
    app, world, app_sessions, new, confirm, field
):
    actor = world.actors["pops_liverpool"]
    _must_change(app_sessions, actor.user_id)
    client = _sign_in(app, world, "pops_liverpool")
    with _user(app_sessions, actor.user_id) as user:
        before = (user.password_hash, user.session_epoch, user.failed_attempts)

    response = _change(client, new=new, confirm=confirm)

    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert f'href="#{field}"' in response.text  # the error summary links to the input
    with _user(app_sessions, actor.user_id) as user:
        assert (user.password_hash, user.session_epoch, user.failed_attempts) == before
        assert user.must_change_password
    assert _password_events(app_sessions, str(world.organisations["pops"])) == []
    assert client.get("/cases").location == CHANGE_PAGE


def test_change_without_a_valid_csrf_token_is_refused_and_changes_nothing(app, world, app_sessions):
    actor = world.actors["pops_liverpool"]
    client = _sign_in(app, world, "pops_liverpool")

    response = client.post(
        CHANGE_PAGE,
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 400
    with _user(app_sessions, actor.user_id) as user:
        assert verify_password(user.password_hash, PASSWORD)


# --- the current password and the lockout ----------------------------------------------------


def test_wrong_current_password_counts_towards_the_lockout(make_app, world):
    app = make_app(lockout_threshold=3, lockout_minutes=15)
    sessions = app.extensions["continuum"].session_factory
    actor = world.actors["pops_liverpool"]
    client = _sign_in(app, world, "pops_liverpool")

    for attempt in (1, 2):
        response = _change(client, current="not my password at all")
        assert response.status_code == 400
        assert 'id="current_password-error"' in response.text
        with _user(sessions, actor.user_id) as user:
            assert (user.failed_attempts, user.locked_until) == (attempt, None)
    _change(client, current="still not my password")

    with _user(sessions, actor.user_id) as user:
        assert user.locked_until is not None
        assert verify_password(user.password_hash, PASSWORD)
    # Locked: even the right current password changes nothing, and sign-in is refused too.
    refused = _change(client)
    assert refused.status_code == 400 and "locked" in refused.text
    with _user(sessions, actor.user_id) as user:
        assert verify_password(user.password_hash, PASSWORD)
    assert _password_step(app.test_client(), "pops", actor.username, PASSWORD).status_code == 401
    events = _password_events(sessions, str(world.organisations["pops"]))
    assert [event.outcome for event in events] == ["refused"] * 3


# --- after the change ------------------------------------------------------------------------


def test_after_the_change_the_old_password_fails_and_other_sessions_end(app, world, app_sessions):
    actor = world.actors["pops_liverpool"]
    laptop = _sign_in(app, world, "pops_liverpool")
    phone = _sign_in(app, world, "pops_liverpool", offset_steps=1)
    with laptop.session_transaction() as session:
        signed_in_at = session["auth_at"]

    response = _change(laptop)

    assert response.status_code == 302 and response.location == "/"
    assert _signed_in_state(laptop) == (200, None)
    with laptop.session_transaction() as session:
        assert session["auth_at"] == signed_in_at  # the absolute timeout is not extended
    assert _signed_in_state(phone) == (302, SIGN_IN_PAGE)
    assert _password_step(app.test_client(), "pops", actor.username, PASSWORD).status_code == 401
    assert (
        _password_step(app.test_client(), "pops", actor.username, NEW_PASSWORD).status_code == 302
    )
    with _user(app_sessions, actor.user_id) as user:
        assert not verify_password(user.password_hash, PASSWORD)


def test_a_password_change_writes_one_audit_event_naming_the_user_id_only(app, world, app_sessions):
    actor = world.actors["pops_liverpool"]
    client = _sign_in(app, world, "pops_liverpool")
    chain = str(world.organisations["pops"])
    with app_sessions() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry))

    _change(client)

    with app_sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == total + 1
    events = _password_events(app_sessions, chain)
    assert len(events) == 1
    event = events[0].to_event()
    assert (event.actor, event.outcome, event.record_type) == (str(actor.user_id), "ok", "user")
    assert event.record_ids == (str(actor.user_id),)
    stored = " ".join(str(value) for value in astuple(event))
    for secret in (actor.username, PASSWORD, NEW_PASSWORD):
        assert secret not in stored


# --- the API ---------------------------------------------------------------------------------


def test_api_token_of_a_user_who_must_change_the_password_is_refused_until_changed(
    app, world, app_sessions, bearer
):
    actor = world.actors["pops_liverpool"]
    headers = bearer("pops_liverpool")
    _must_change(app_sessions, actor.user_id)

    refused = app.test_client().get("/api/v1/cases", headers=headers)

    assert refused.status_code == 403
    assert refused.get_json()["error"]["status"] == 403
    assert "cases" not in (refused.get_json() or {})
    with app_sessions() as session:
        refusal = session.scalar(
            select(AuditEntry)
            .where(AuditEntry.chain == str(world.organisations["pops"]))
            .order_by(AuditEntry.sequence.desc())
            .limit(1)
        )
        assert refusal is not None
        assert (refusal.action, refusal.actor) == ("access.refused", str(actor.user_id))
    _change(_sign_in(app, world, "pops_liverpool"))
    assert app.test_client().get("/api/v1/cases", headers=headers).status_code == 200
