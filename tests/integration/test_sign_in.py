"""Signing in and staying signed in (DESIGN.md section 9), as a browser sees it.

Password then TOTP code, lockout, enrolment, session fingerprint and timeouts, CSRF, security
headers, the login rate limit, and deny by default over every route the app has.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, UUIDConverter
from werkzeug.test import TestResponse

from app.http.gate import PUBLIC_ENDPOINTS
from app.models import Case, Organisation, User
from app.services.accounts import accounts
from app.web.auth import PENDING_SECONDS, WRONG_CODE, WRONG_DETAILS
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.conftest import csrf_from, fresh_code
from tests.support.world import PASSWORD, World

SIGN_IN_PAGE = "/login"
CSRF_FIELD = re.compile(r'name="csrf_token" value="[^"]*"')


# --- helpers ---------------------------------------------------------------------------------


def _password_step(
    client: FlaskClient, slug: str, username: str, password: str = PASSWORD, **kwargs: object
) -> TestResponse:
    page = client.get(f"/o/{slug}/login")
    return client.post(
        f"/o/{slug}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        **kwargs,
    )


def _code_step(client: FlaskClient, slug: str, code: str, step: str = "code") -> TestResponse:
    page = client.get(f"/o/{slug}/login/{step}")
    assert page.status_code == 200, page.location
    data = {"code": code, "csrf_token": csrf_from(page.text)}
    return client.post(f"/o/{slug}/login/{step}", data=data)


def _sign_in(client: FlaskClient, world: World, key: str, offset_steps: int = 0) -> FlaskClient:
    """Both steps; offset_steps lets a second device use the next code (the last one is spent)."""
    actor = world.actors[key]
    assert _password_step(client, actor.org_slug, actor.username).status_code == 302
    code = fresh_code(actor.totp_secret, _clock(client.application), offset_steps)
    response = _code_step(client, actor.org_slug, code)
    assert response.status_code == 302 and response.location == "/", response.text
    return client


def _clock(app: Flask) -> Callable[[], datetime]:
    """The app's clock, which an authenticator app beside it agrees with."""
    return app.extensions["continuum"].clock  # type: ignore[no-any-return]


def _wrong_code(secret: bytes, app: Flask) -> str:
    near = {fresh_code(secret, _clock(app), k) for k in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in near)


def _is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/cases")
    if response.status_code == 200:
        return True
    assert response.status_code == 302, response.status_code
    return False


@contextmanager
def _user(app: Flask, user_id: uuid.UUID) -> Iterator[User]:
    """The user's row through the app's own session factory; changes are committed."""
    with app.extensions["continuum"].session_factory() as session:
        user = session.get(User, user_id)
        assert user is not None
        yield user
        session.commit()


def _case_count(app: Flask, world: World, slug: str) -> int:
    with app.extensions["continuum"].session_factory() as session:
        prisons = frozenset({"LPI", "WDI", "DMI"})
        bind_tenant(session, TenantContext(world.organisations[slug], prisons, Role.SITE_MANAGER))
        return session.scalar(select(func.count()).select_from(Case)) or 0


def _new_user(app: Flask, world: World, username: str) -> uuid.UUID:
    """A caseworker who has a password but has not set up an authenticator app."""
    with app.extensions["continuum"].session_factory() as session:
        organisation = session.get(Organisation, world.organisations["pops"])
        user = accounts.create_user(
            session,
            organisation,
            username=username,
            display_name="New",
            role=Role.CASEWORKER,
            password=PASSWORD,
            prison_codes=["LPI"],
        )
        session.commit()
        return user.id


# --- the password step -----------------------------------------------------------------------


def test_wrong_password_is_refused_and_counts_towards_lockout(app, world):
    client = app.test_client()
    response = _password_step(client, "pops", "pops.liverpool", "not the right password")
    assert response.status_code == 401
    assert WRONG_DETAILS in response.text
    with client.session_transaction() as session:
        assert "pending" not in session and "_user_id" not in session
    assert not _is_signed_in(client)
    with _user(app, world.actors["pops_liverpool"].user_id) as user:
        assert user.failed_attempts == 1


def _refusal(response: TestResponse, username: str) -> tuple[int, str]:
    """The response with what legitimately differs (CSRF token, the name typed) taken out."""
    return response.status_code, CSRF_FIELD.sub("", response.text).replace(username, "USERNAME")


def test_unknown_user_gets_the_same_page_as_a_wrong_password(app):
    bad = "not the right password"
    wrong = _password_step(app.test_client(), "pops", "pops.liverpool", bad)
    unknown = _password_step(app.test_client(), "pops", "pops.nobodyatall", bad)
    assert wrong.status_code == 401
    assert _refusal(wrong, "pops.liverpool") == _refusal(unknown, "pops.nobodyatall")


def test_user_of_one_charity_cannot_sign_in_on_another_charitys_page(app, world):
    client = app.test_client()
    response = _password_step(client, "nepacs", world.actors["pops_liverpool"].username)
    assert response.status_code == 401
    assert WRONG_DETAILS in response.text
    with client.session_transaction() as session:
        assert "pending" not in session


def test_password_step_alone_signs_nobody_in(app, world):
    client = app.test_client()
    response = _password_step(client, "pops", "pops.liverpool")
    assert response.status_code == 302 and response.location == "/o/pops/login/code"
    for path in ("/cases", "/", "/account"):
        response = client.get(path)
        assert response.status_code == 302 and response.location == SIGN_IN_PAGE, path


def test_pending_password_step_expires(app, world, clock):
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    _password_step(client, "pops", actor.username)
    page = client.get("/o/pops/login/code")
    clock.advance(timedelta(seconds=PENDING_SECONDS + 1))
    response = client.post(
        "/o/pops/login/code",
        data={
            "code": fresh_code(actor.totp_secret, _clock(app)),
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302 and response.location == "/o/pops/login"
    assert not _is_signed_in(client)
    with _user(app, actor.user_id) as user:
        assert user.totp_last_step == 0


def test_pending_step_from_one_charity_is_refused_on_another_charitys_code_page(app, world):
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    _password_step(client, "pops", actor.username)
    page = client.get("/o/nepacs/login")
    response = client.post(
        "/o/nepacs/login/code",
        data={
            "code": fresh_code(actor.totp_secret, _clock(app)),
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302 and response.location == "/o/nepacs/login"
    assert not _is_signed_in(client)


# --- the code step ---------------------------------------------------------------------------


def test_wrong_code_is_refused_and_counts_towards_lockout(app, world):
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    _password_step(client, "pops", actor.username)
    response = _code_step(client, "pops", _wrong_code(actor.totp_secret, app))
    assert response.status_code == 401
    assert WRONG_CODE in response.text
    assert not _is_signed_in(client)
    with _user(app, actor.user_id) as user:
        assert user.failed_attempts == 1


def test_replayed_code_is_refused_for_a_second_sign_in(app, world):
    actor = world.actors["pops_liverpool"]
    code = fresh_code(actor.totp_secret, _clock(app))
    first, second = app.test_client(), app.test_client()
    _password_step(first, "pops", actor.username)
    assert _code_step(first, "pops", code).status_code == 302
    _password_step(second, "pops", actor.username)
    response = _code_step(second, "pops", code)
    assert response.status_code == 401
    assert WRONG_CODE in response.text
    assert not _is_signed_in(second)
    assert _is_signed_in(first)


@pytest.mark.parametrize(
    "failures",
    [
        ("password", "password", "password"),
        ("code", "code", "code"),
        ("password", "code", "password"),
    ],
    ids=["passwords", "codes", "mixed"],
)
def test_lockout_after_threshold_failures_refuses_the_right_password_until_it_expires(
    make_app, world, clock, failures
):
    app = make_app(lockout_threshold=3, lockout_minutes=15)
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    for number, kind in enumerate(failures, start=1):
        with _user(app, actor.user_id) as user:
            assert user.locked_until is None, f"locked after only {number - 1} failures"
        if kind == "password":
            refused = _password_step(client, "pops", actor.username, "wrong password!")
            assert refused.status_code == 401
        else:
            assert _password_step(client, "pops", actor.username).status_code == 302
            assert (
                _code_step(client, "pops", _wrong_code(actor.totp_secret, app)).status_code == 401
            )
    with _user(app, actor.user_id) as user:
        assert user.locked_until is not None
        remaining = user.locked_until - app.extensions["continuum"].clock()
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)

    locked = _password_step(app.test_client(), "pops", actor.username)
    assert locked.status_code == 401
    # Nothing says the account exists, let alone that it is locked.
    unknown = _password_step(app.test_client(), "pops", "pops.nobodyatall")
    assert _refusal(locked, actor.username) == _refusal(unknown, "pops.nobodyatall")

    clock.advance(timedelta(minutes=15))
    _sign_in(app.test_client(), world, "pops_liverpool")


def test_locked_account_refuses_even_the_right_code(make_app, world):
    app = make_app(lockout_threshold=2)
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    assert _password_step(client, "pops", actor.username).status_code == 302
    for _ in range(2):
        assert _code_step(client, "pops", _wrong_code(actor.totp_secret, app)).status_code == 401
    assert _code_step(client, "pops", fresh_code(actor.totp_secret, _clock(app))).status_code == 401
    assert not _is_signed_in(client)


# --- enrolment -------------------------------------------------------------------------------


def test_first_sign_in_goes_to_enrolment_and_a_correct_code_signs_in(app, world, clock):
    from app.security.totp import base32_to_secret, code_at

    user_id = _new_user(app, world, "pops.newstarter")
    client = app.test_client()
    response = _password_step(client, "pops", "pops.newstarter")
    assert response.status_code == 302 and response.location == "/o/pops/login/enrol"
    # The ordinary code page cannot be used to skip setting up the app.
    assert client.get("/o/pops/login/code").location == "/o/pops/login"

    page = client.get("/o/pops/login/enrol")
    assert page.status_code == 200
    assert re.search(r'<img[^>]+src="data:image/svg\+xml', page.text)
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text)
    assert shown, "the secret is written out for people who cannot scan"
    secret = base32_to_secret(shown.group(1))

    wrong = client.post(
        "/o/pops/login/enrol",
        data={"code": _wrong_code(secret, app), "csrf_token": csrf_from(page.text)},
    )
    assert wrong.status_code == 401 and not _is_signed_in(client)
    with _user(app, user_id) as user:
        assert not user.totp_confirmed

    right = client.post(
        "/o/pops/login/enrol",
        data={"code": code_at(secret, clock().timestamp()), "csrf_token": csrf_from(page.text)},
    )
    assert right.status_code == 302 and right.location == "/"
    assert _is_signed_in(client)
    with _user(app, user_id) as user:
        assert user.totp_confirmed


def test_enrolled_user_cannot_reach_the_enrolment_page(app, world):
    client = app.test_client()
    _password_step(client, "pops", "pops.liverpool")
    response = client.get("/o/pops/login/enrol")
    assert response.status_code == 302 and response.location == "/o/pops/login"
    assert "data:image/svg+xml" not in response.text


# --- sessions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"headers": {"User-Agent": "Mozilla/5.0 (somebody else's browser)"}},
        {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}},
        # A stolen cookie from another address, claiming the victim's address in a header the
        # client controls: the fingerprint uses the connection's address, not the header.
        {
            "environ_base": {"REMOTE_ADDR": "203.0.113.9"},
            "headers": {"X-Forwarded-For": "127.0.0.1"},
        },
    ],
    ids=["user-agent", "address", "spoofed-forwarded-for"],
)
def test_session_ends_when_the_fingerprint_changes(signed_in, change):
    client = signed_in("pops_liverpool")
    assert client.get("/cases").status_code == 200
    response = client.get("/cases", **change)
    assert response.status_code == 302 and response.location == SIGN_IN_PAGE
    assert not _is_signed_in(client), "the session stays ended with the original fingerprint"


@pytest.mark.parametrize(
    ("idle_seconds", "still_signed_in"), [(-60, True), (5, False)], ids=["inside", "past"]
)
def test_session_ends_after_idle_minutes(signed_in, app, clock, idle_seconds, still_signed_in):
    client = signed_in("pops_liverpool")
    limit = app.extensions["continuum"].settings.session_idle_minutes * 60
    clock.advance(timedelta(seconds=limit + idle_seconds))
    response = client.get("/cases")
    if still_signed_in:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and response.location == "/o/pops/login"
        assert not _is_signed_in(client)


@pytest.mark.parametrize(
    ("over_seconds", "still_signed_in"), [(-60, True), (5, False)], ids=["inside", "past"]
)
def test_session_ends_after_absolute_hours_even_when_active(
    signed_in, app, clock, over_seconds, still_signed_in
):
    client = signed_in("pops_liverpool")
    settings = app.extensions["continuum"].settings
    signed_in_at = clock()
    # Busy all day: a page every quarter of the idle limit, so idleness never ends the session.
    step = timedelta(minutes=settings.session_idle_minutes / 4)
    end = signed_in_at + timedelta(hours=settings.session_absolute_hours, seconds=over_seconds)
    while clock() + step < end:
        clock.advance(step)
        assert client.get("/cases").status_code == 200
    clock.set(end)
    response = client.get("/cases")
    if still_signed_in:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and response.location == "/o/pops/login"
        assert not _is_signed_in(client)


def test_sign_out_on_every_device_ends_the_other_devices_session(app, world):
    laptop = _sign_in(app.test_client(), world, "pops_liverpool")
    phone = _sign_in(app.test_client(), world, "pops_liverpool", offset_steps=1)
    assert _is_signed_in(phone)
    page = laptop.get("/account")
    response = laptop.post("/account/sessions/end", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302 and response.location == "/o/pops/login"
    assert not _is_signed_in(laptop)
    assert not _is_signed_in(phone)


def test_logout_by_post_ends_the_session(signed_in):
    client = signed_in("pops_liverpool")
    page = client.get("/cases")
    response = client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302 and response.location == "/o/pops/login"
    assert not _is_signed_in(client)


def test_logout_by_get_is_not_allowed_and_leaves_the_session(signed_in):
    client = signed_in("pops_liverpool")
    assert client.get("/logout").status_code == 405
    assert _is_signed_in(client)


# --- CSRF ------------------------------------------------------------------------------------

BAD_TOKENS = pytest.mark.parametrize(
    "token", [None, "", "forged-token"], ids=["absent", "empty", "forged"]
)


# The least a referral form needs: a prison, who referred, and the person in custody.
REFERRAL = {
    "prison_code": "LPI",
    "referral_source": "self",
    "person.name": "Alex Signincase",
    "person.prison_number": "D5678EF",
}


def _with_token(data: dict[str, str], token: str | None) -> dict[str, str]:
    return data if token is None else {**data, "csrf_token": token}


@BAD_TOKENS
def test_login_form_without_valid_csrf_token_is_refused_and_changes_nothing(app, world, token):
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    client.get("/o/pops/login")
    for password in (PASSWORD, "not the right password"):
        response = client.post(
            "/o/pops/login",
            data=_with_token({"username": actor.username, "password": password}, token),
        )
        assert response.status_code == 400
    with client.session_transaction() as session:
        assert "pending" not in session
    assert client.get("/o/pops/login/code").location == "/o/pops/login"
    with _user(app, actor.user_id) as user:
        assert user.failed_attempts == 0
    assert _password_step(client, "pops", actor.username).status_code == 302  # with a token


@BAD_TOKENS
def test_code_form_without_valid_csrf_token_is_refused_and_spends_no_code(app, world, token):
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    _password_step(client, "pops", actor.username)
    code = fresh_code(actor.totp_secret, _clock(app))
    response = client.post("/o/pops/login/code", data=_with_token({"code": code}, token))
    assert response.status_code == 400
    assert not _is_signed_in(client)
    with _user(app, actor.user_id) as user:
        assert user.totp_last_step == 0
    assert _code_step(client, "pops", code).status_code == 302  # the same code, with a token


@BAD_TOKENS
def test_new_case_form_without_valid_csrf_token_is_refused_and_writes_nothing(
    app, world, signed_in, token
):
    client = signed_in("pops_liverpool")
    before = _case_count(app, world, "pops")
    response = client.post("/cases/new", data=_with_token(REFERRAL, token))
    assert response.status_code == 400
    assert _case_count(app, world, "pops") == before
    page = client.get("/cases/new")
    data = {**REFERRAL, "csrf_token": csrf_from(page.text)}
    response = client.post("/cases/new", data=data)
    assert response.status_code == 302
    assert _case_count(app, world, "pops") == before + 1


@BAD_TOKENS
@pytest.mark.parametrize("path", ["/logout", "/account/sessions/end"])
def test_sign_out_without_valid_csrf_token_is_refused_and_leaves_the_session(
    signed_in, path, token
):
    client = signed_in("pops_liverpool")
    response = client.post(path, data=_with_token({}, token))
    assert response.status_code == 400
    assert _is_signed_in(client)


# --- headers and page markup -----------------------------------------------------------------


def _csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in directives}


def _responses(app: Flask, signed_in: Callable[[str], FlaskClient]) -> dict[str, TestResponse]:
    anonymous = app.test_client()
    client = signed_in("pops_liverpool")
    responses = {
        "sign-in page": anonymous.get("/o/pops/login"),
        "signed-in page": client.get("/cases"),
        "not found": client.get("/no/such/page"),
        "static css": anonymous.get("/static/css/continuum.css"),
        "api refusal": anonymous.get("/api/v1/cases"),
    }
    for response in responses.values():
        response.close()  # static files are streamed from an open file
    return responses


def test_every_response_carries_the_security_headers(app, world, signed_in):
    for name, response in _responses(app, signed_in).items():
        csp = _csp(response.headers.get("Content-Security-Policy", ""))
        assert "script-src" in csp and "style-src" in csp, name
        for directive in (
            "default-src",
            "script-src",
            "style-src",
            "script-src-elem",
            "script-src-attr",
            "style-src-elem",
            "style-src-attr",
        ):
            assert "'unsafe-inline'" not in csp.get(directive, []), (name, directive)
            assert "'unsafe-eval'" not in csp.get(directive, []), (name, directive)
        assert csp.get("frame-ancestors") == ["'none'"], name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("X-Frame-Options") == "DENY", name
        assert response.headers.get("Referrer-Policy"), name
        assert "Strict-Transport-Security" not in response.headers, name  # plain HTTP in tests
        cache = response.headers.get("Cache-Control", "")
        if name == "static css":
            assert response.status_code == 200 and "no-store" not in cache
        else:
            assert "no-store" in cache, name


def _session_cookie(response: TestResponse) -> str:
    cookies = [
        cookie
        for cookie in response.headers.getlist("Set-Cookie")
        if cookie.startswith("continuum_session=")
    ]
    assert cookies, "the sign-in page starts a session for its CSRF token"
    return cookies[-1]


def _cookie_flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_session_cookie_is_httponly_and_samesite_lax(app):
    flags = _cookie_flags(_session_cookie(app.test_client().get("/o/pops/login")))
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags


def test_secure_cookies_setting_marks_the_cookie_secure_and_sends_hsts(make_app):
    app = make_app(secure_cookies=True)
    response = app.test_client().get("/o/pops/login", base_url="https://localhost")
    flags = _cookie_flags(_session_cookie(response))
    assert {"secure", "httponly", "samesite=lax"} <= flags
    assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")


class _InlineCode(HTMLParser):
    """Collects markup a CSP without 'unsafe-inline' would block, or that needs it."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        # A JSON data block (DESIGN.md section 10, chart data) is never executed.
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        if "style" in names:
            self.found.append(f'style="" on <{tag}>')
        self.found.extend(f"{name}= on <{tag}>" for name in names if name.startswith("on"))
        if names.get("href", "").strip().lower().startswith("javascript:"):
            self.found.append(f"javascript: link on <{tag}>")


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def test_inline_code_detector_finds_what_it_looks_for():
    html = '<script>x()</script><p style="color:red" onclick="y()"><style>p{}</style>'
    assert len(_inline_code(html)) == 4
    allowed = '<script src="/s.js"></script><script type="application/json">{}</script>'
    assert _inline_code(allowed) == []


def test_no_page_has_inline_script_or_style(app, world, signed_in):
    anonymous = app.test_client()
    pages = {
        "choose organisation": anonymous.get("/login"),
        "sign in": anonymous.get("/o/pops/login"),
        "sign in refused": _password_step(app.test_client(), "pops", "nobody", "wrong password!"),
        "not found": anonymous.get("/o/nowhere/login"),
    }
    pending = app.test_client()
    _password_step(pending, "pops", "pops.liverpool")
    pages["code"] = pending.get("/o/pops/login/code")
    _new_user(app, world, "pops.newstarter")
    enrolling = app.test_client()
    _password_step(enrolling, "pops", "pops.newstarter")
    pages["enrol"] = enrolling.get("/o/pops/login/enrol")
    client = signed_in("pops_liverpool")
    case_id = world.cases[("pops", "LPI")]
    pages |= {
        "home": client.get("/"),
        "case list": client.get("/cases"),
        "case": client.get(f"/cases/{case_id}"),
        "new case": client.get("/cases/new"),
        "new case refused": client.post(
            "/cases/new",
            data={"prison_code": "WDI", "csrf_token": csrf_from(client.get("/cases/new").text)},
        ),
        "account": client.get("/account"),
        "method not allowed": client.get("/logout"),
    }
    ministry = signed_in("ministry")
    pages |= {"forbidden": ministry.get("/cases"), "home without cases": ministry.get("/")}
    for name, response in pages.items():
        assert response.mimetype == "text/html", name
        assert "<html" in response.text, name
        assert _inline_code(response.text) == [], name


# --- rate limit ------------------------------------------------------------------------------


def test_fourth_sign_in_attempt_in_a_minute_from_one_address_gets_429(make_app):
    app = make_app(login_rate_limit="3 per minute")
    client = app.test_client()
    token = csrf_from(client.get("/o/pops/login").text)
    data = {"username": "pops.nobody", "password": "not the right password", "csrf_token": token}
    for _ in range(3):
        assert client.post("/o/pops/login", data=data).status_code == 401
    assert client.post("/o/pops/login", data=data).status_code == 429
    elsewhere = client.post(
        "/o/pops/login", data=data, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    assert elsewhere.status_code == 401


# --- deny by default -------------------------------------------------------------------------

SAMPLE_VALUES: dict[type, Callable[[], str]] = {
    UUIDConverter: lambda: str(uuid.uuid4()),
    IntegerConverter: lambda: "1",
    PathConverter: lambda: "x/y",
    UnicodeConverter: lambda: "pops",
}


def _sample(converter: object) -> str:
    for kind, value in SAMPLE_VALUES.items():
        if isinstance(converter, kind):
            return value()
    pytest.fail(f"add a sample value for {type(converter).__name__} so its routes are checked")


def test_every_public_endpoint_name_is_a_real_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    # A stale name here would make any future route that takes the name public by accident.
    assert endpoints >= PUBLIC_ENDPOINTS


def test_every_non_public_route_refuses_anonymous_requests(app):
    adapter = app.url_map.bind("localhost")
    checked: set[str] = set()
    wrong: list[str] = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        values = {name: _sample(converter) for name, converter in rule._converters.items()}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = adapter.build(rule.endpoint, values, method=method)
            response = app.test_client().open(path, method=method)
            checked.add(rule.endpoint)
            if path.startswith("/api/"):
                challenge = response.headers.get("WWW-Authenticate", "")
                envelope = (response.get_json(silent=True) or {}).get("error", {})
                if (response.status_code, challenge.split(" ")[0], envelope.get("status")) != (
                    401,
                    "Bearer",
                    401,
                ):
                    wrong.append(f"{method} {path}: {response.status_code} {challenge!r}")
            elif (response.status_code, response.location) != (302, SIGN_IN_PAGE):
                wrong.append(f"{method} {path}: {response.status_code} {response.location}")
    assert {"web.case_list", "web.case_new", "auth.logout", "cases.CaseCollection"} <= checked
    assert wrong == []
