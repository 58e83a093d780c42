"""The deny-by-default gate: one ``before_request`` decides who is asking before any view runs,
on the web and on the API alike (SecureDrop's pattern).

An endpoint named in ``PUBLIC_ENDPOINTS`` is open to anyone. A view that checks the caller's
credentials itself (``require_oauth``, for the ministry's clients) is let through for its own
check to run. Every other request goes to the authenticator registered for its side of the app:
the API's for paths under ``API_PREFIXES`` (a personal token, app.api.auth), the web's for the
rest (a signed-in member of staff, app.web.security), each registered by its own package at
start-up. A side with no authenticator is refused, never let through: forgetting a decorator, or
an authenticator, fails safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from flask import Flask, current_app, request
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Response

from tenants.flask import set_actor

PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "auth.choose_organisation",
        "auth.login",
        "auth.second_factor",
        "auth.enrol",
        "public.health",
        "api-docs.openapi_json",
        # Authenticates the ministry's API clients itself (app.api.oauth).
        "oauth.token",
    }
)
# Paths the API answers, in JSON; cookies never authenticate them.
API_PREFIXES = ("/api/", "/oauth/")
EXTENSION = "continuum_gate"


class Side(Enum):
    """Which authenticator a request goes to, by its path."""

    API = "api"
    WEB = "web"


# Settles the actor (tenants.flask.set_actor) and returns None for the view to run, returns a
# response instead of the view (a redirect to sign in), or raises to refuse.
Authenticator = Callable[[], Response | None]
# True when the view for this endpoint and method checks the caller's credentials itself.
SelfChecked = Callable[[str, str], bool]


@dataclass
class Gate:
    """One app's authenticators, one per side, and its tests for views that check themselves."""

    authenticators: dict[Side, Authenticator] = field(default_factory=dict)
    self_checked: list[SelfChecked] = field(default_factory=list)


def is_api_request() -> bool:
    """Whether the request is the API's: answered in JSON, authenticated by a token."""
    return request.path.startswith(API_PREFIXES)


def register_authenticator(app: Flask, side: Side, authenticate: Authenticator) -> None:
    """Make ``authenticate`` decide who is asking for every non-public request on ``side``."""
    gate: Gate = app.extensions[EXTENSION]
    if side in gate.authenticators:
        raise RuntimeError(f"the {side.value} side already has an authenticator")
    gate.authenticators[side] = authenticate


def register_self_checked(app: Flask, checks_itself: SelfChecked) -> None:
    """Let through, with no actor, the views ``checks_itself`` says check their own caller."""
    gate: Gate = app.extensions[EXTENSION]
    gate.self_checked.append(checks_itself)


def _admit() -> Response | None:
    endpoint = request.endpoint
    if endpoint in PUBLIC_ENDPOINTS or endpoint is None:
        set_actor(None)
        return None
    gate: Gate = current_app.extensions[EXTENSION]
    if any(checks_itself(endpoint, request.method) for checks_itself in gate.self_checked):
        # A ministry client's view: require_oauth checks the client's token; no tenant context.
        set_actor(None)
        return None
    authenticate = gate.authenticators.get(Side.API if is_api_request() else Side.WEB)
    if authenticate is None:
        set_actor(None)
        raise Unauthorized(www_authenticate=None)
    return authenticate()


def init_gate(app: Flask) -> None:
    """Put the gate before every view; call before anything else registers a ``before_request``,
    so who is asking is settled first."""
    app.extensions[EXTENSION] = Gate()
    app.before_request(_admit)
