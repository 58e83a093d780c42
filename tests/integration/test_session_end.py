"""A session that ends stays ended (issue 13, item 1), checked as an outsider would: copy the
session cookie while it works, end the session, then replay the copy from another client for a
read (a case page) and a write (a case note, with the CSRF token of a page the session was served
before it ended). Every ending refuses both the same way a signed-out person is refused, and
nothing is written below any wall.

The endings: signing out (that session only: the user's other devices stay signed in), a
password change (every other session, and the changer's own cookie as it was before the change;
the changer carries on with a renewed one), an admin's reset of the user's sign-in, an admin's
deactivation, and signing out everywhere. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.models import Base
from tenants.model import is_tenant_table
from tests.conftest import csrf_from, sign_in
from tests.support.world import PASSWORD, World

COOKIE = "continuum_session"
SIGN_IN_PAGE = "/login"
WORKER = "pops_liverpool"
NEW_PASSWORD = "lantern orchard pebble 42"
NOTE = "Replayed after the session ended: must never be stored."


@dataclass(frozen=True)
class Saved:
    """What a thief (or a shared computer) keeps of a working session: the cookie's value, and a
    CSRF token from a form the session was served."""

    cookie: str
    csrf_token: str


# --- helpers ---------------------------------------------------------------------------------


def _case(world: World) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


def _save(client: FlaskClient, world: World) -> Saved:
    page = client.get(f"/cases/{_case(world)}/notes/new")
    assert page.status_code == 200, page.location
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return Saved(cookie.value, csrf_from(page.text))


def _replaying(app: Flask, saved: Saved) -> FlaskClient:
    """A fresh client holding only the copied cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, saved.cookie)
    return client


def _read(app: Flask, world: World, saved: Saved) -> tuple[int, str | None]:
    response = _replaying(app, saved).get(f"/cases/{_case(world)}")
    return response.status_code, response.location


def _write(app: Flask, world: World, saved: Saved) -> tuple[int, str | None]:
    response = _replaying(app, saved).post(
        f"/cases/{_case(world)}/notes/new", data={"body": NOTE, "csrf_token": saved.csrf_token}
    )
    return response.status_code, response.location


def _rows(all_rows: sessionmaker[Session]) -> dict[str, int]:
    """Rows in every case table (case notes among them), counted below the walls."""
    with all_rows() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(text(table.name))) or 0
            for table in Base.metadata.sorted_tables
            if is_tenant_table(table)
        }


def _signed_in_state(client: FlaskClient) -> tuple[int, str | None]:
    """A page every signed-in member of staff may see, the ministry's included."""
    response = client.get("/account")
    return response.status_code, response.location


def _post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> None:
    page = client.get("/account")
    assert page.status_code == 200, page.location
    response = client.post(url, data={**(data or {}), "csrf_token": csrf_from(page.text)})
    assert response.status_code in (200, 302), response.text


# --- the endings -----------------------------------------------------------------------------
# Each takes the app, the world and the device whose cookie was copied, and ends that session.

Ending = Callable[[Flask, World, FlaskClient], None]


def sign_out(app: Flask, world: World, device: FlaskClient) -> None:
    _post(device, "/logout")
    assert _signed_in_state(device) == (302, SIGN_IN_PAGE)


def _change_password(client: FlaskClient) -> None:
    _post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )


def password_change_on_another_device(app: Flask, world: World, device: FlaskClient) -> None:
    changer = sign_in(app.test_client(), world, WORKER)
    _change_password(changer)
    assert _signed_in_state(changer) == (200, None), "the changer's own session carries on"


def password_change_on_this_device(app: Flask, world: World, device: FlaskClient) -> None:
    _change_password(device)
    # The browser carries on with a renewed cookie; the copy made before the change is stale.
    assert _signed_in_state(device) == (200, None)


def _admin_acts(app: Flask, world: World, action: str) -> None:
    admin = sign_in(app.test_client(), world, "pops_admin")
    _post(admin, f"/admin/users/{world.actors[WORKER].user_id}/{action}")


def admin_resets_sign_in(app: Flask, world: World, device: FlaskClient) -> None:
    _admin_acts(app, world, "second-factor/reset")


def admin_deactivates(app: Flask, world: World, device: FlaskClient) -> None:
    _admin_acts(app, world, "deactivate")


def sign_out_everywhere(app: Flask, world: World, device: FlaskClient) -> None:
    _post(device, "/account/sessions/end")


ENDINGS = pytest.mark.parametrize(
    "ending",
    [
        sign_out,
        password_change_on_another_device,
        password_change_on_this_device,
        admin_resets_sign_in,
        admin_deactivates,
        sign_out_everywhere,
    ],
    ids=lambda ending: ending.__name__,
)


# --- tests -----------------------------------------------------------------------------------


def test_a_copied_cookie_reads_and_writes_while_the_session_lasts(app, world, all_rows):
    """The positive control: the copy is as good as the browser until the session ends, so the
    refusals below are the ending's doing, not the replay's."""
    saved = _save(sign_in(app.test_client(), world, WORKER), world)
    before = _rows(all_rows)

    assert _read(app, world, saved) == (200, None)
    status, _ = _write(app, world, saved)

    assert status == 302
    after = _rows(all_rows)
    assert after["case_notes"] == before["case_notes"] + 1


@ENDINGS
def test_a_copied_cookie_reads_and_writes_nothing_after_the_session_ends(
    app, world, all_rows, ending: Ending
):
    device = sign_in(app.test_client(), world, WORKER)
    saved = _save(device, world)
    assert _read(app, world, saved) == (200, None)

    ending(app, world, device)

    before = _rows(all_rows)
    assert _read(app, world, saved) == (302, SIGN_IN_PAGE)
    assert _write(app, world, saved) == (302, SIGN_IN_PAGE)
    assert _rows(all_rows) == before


def test_signing_out_on_one_device_leaves_the_others_signed_in(app, world):
    laptop = sign_in(app.test_client(), world, WORKER)
    phone = sign_in(app.test_client(), world, WORKER)
    saved_phone = _save(phone, world)

    sign_out(app, world, laptop)

    assert _signed_in_state(phone) == (200, None)
    assert _read(app, world, saved_phone) == (200, None)


def test_signing_in_again_after_signing_out_works(app, world):
    device = sign_in(app.test_client(), world, WORKER)
    sign_out(app, world, device)

    sign_in(device, world, WORKER)

    assert _signed_in_state(device) == (200, None)


@pytest.mark.parametrize(
    "ending", [sign_out, password_change_on_this_device], ids=lambda ending: ending.__name__
)
def test_a_ministry_analysts_copied_cookie_reads_nothing_after_the_session_ends(
    app, world, ending: Ending
):
    """The ministry's requests run under the readers' role on PostgreSQL: ending (and, on a
    password change, renewing) its session works there too."""
    analyst = sign_in(app.test_client(), world, "ministry")
    cookie = analyst.get_cookie(COOKIE)
    assert cookie is not None
    copy = Saved(cookie.value, "")
    assert _replaying(app, copy).get("/dashboard").status_code == 200

    ending(app, world, analyst)

    response = _replaying(app, copy).get("/dashboard")
    assert (response.status_code, response.location) == (302, SIGN_IN_PAGE)
