"""The deny-by-default gate (app.http.gate) holds no authenticator of its own: the web and the
API each register one. A side of the app left without one is refused, never let through, however
the caller is signed in.
"""

from __future__ import annotations

import pytest
from flask import Flask

from app.http.gate import EXTENSION, Side, register_authenticator

CASES_API = "/api/v1/cases"
CASES_PAGE = "/cases"


def _unregister(app: Flask, side: Side) -> None:
    del app.extensions[EXTENSION].authenticators[side]


def test_api_request_with_no_api_authenticator_is_refused_despite_a_token_and_a_session(
    app, world, signed_in, bearer
):
    client = signed_in("pops_liverpool")
    headers = bearer("pops_liverpool")
    assert client.get(CASES_API, headers=headers).status_code == 200
    _unregister(app, Side.API)
    response = client.get(CASES_API, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorised"
    # The web's authenticator (the session cookie) is never asked instead.
    assert client.get(CASES_PAGE).status_code == 200


def test_web_page_with_no_web_authenticator_is_refused_to_a_signed_in_user(app, world, signed_in):
    client = signed_in("pops_liverpool")
    assert client.get(CASES_PAGE).status_code == 200
    _unregister(app, Side.WEB)
    assert client.get(CASES_PAGE).status_code == 401


def test_public_endpoints_stay_open_with_no_authenticator_at_all(app, world):
    _unregister(app, Side.API)
    _unregister(app, Side.WEB)
    assert app.test_client().get("/login").status_code == 200


def test_a_side_takes_one_authenticator(app):
    with pytest.raises(RuntimeError, match="already has an authenticator"):
        register_authenticator(app, Side.API, lambda: None)
