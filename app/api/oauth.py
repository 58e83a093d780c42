"""The ministry's OAuth2 server (DESIGN.md section 9): Authlib's authorization server with the
client credentials grant only, and the resource protector for released figures.

- ``POST /oauth/token``: a confidential client presents its id and secret (HTTP Basic, or
  ``client_id`` and ``client_secret`` in the form body) and gets a bearer token for
  ``metrics:read``, valid ``CONTINUUM_OAUTH_TOKEN_SECONDS``. Public (it authenticates the client
  itself), CSRF-exempt (no cookie is involved), rate limited per address like the sign-in forms.
- ``require_oauth("metrics:read")`` on a view: only a live token of a live ministry client with
  that scope passes. The deny-by-default gate (app.http.gate) lets such a view through, as
  ``protects`` tells it, and leaves the check to the decorator; a view without it is never
  reached with an OAuth token, as the personal-token check knows nothing of them.

Two of Authlib's defaults are changed on purpose: a scope the client may not have is refused
(``invalid_scope``), never silently narrowed; and the grant never logs the token it issues.
Each app gets its own server (built from its settings in ``init_oauth``); the protector holds
nothing per app.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn, TypeVar, cast

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    ClientCredentialsGrant,
    InsecureTransportError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import (
    BearerTokenGenerator,
    BearerTokenValidator,
    InsufficientScopeError,
    InvalidTokenError,
)
from flask import Blueprint, Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from app.extensions import app_clock, csrf, limiter
from app.http.audit import request_origin
from app.models.oauth import CLIENT_SCOPES, METRICS_READ, OAuthClient, OAuthToken
from app.services.accounts import oauth_clients
from config import SettingsError
from tenants.flask import db_session, mark_readers_session

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("oauth", __name__)

REALM = "continuum"
SERVER = "continuum_oauth_server"
# The mark require_oauth leaves on a view, read by the deny-by-default guard.
OAUTH_SCOPE_MARK = "continuum_oauth_scope"
# Short-lived by design (a client asks again when it needs to); an hour at most.
TOKEN_SECONDS_RANGE = range(60, 3601)

__all__ = ["METRICS_READ", "init_oauth", "protects", "require_oauth"]


# --- the token endpoint ---------------------------------------------------------------------


class ClientCredentials(ClientCredentialsGrant):
    """RFC 6749 section 4.4, for confidential clients only."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:
        # Authlib narrows a scope the client may not have when it makes the token; refuse here
        # instead, so a client never holds a token with less than it asked for without knowing.
        if self.client.get_allowed_scope(self.request.payload.scope) is None:
            raise InvalidScopeError()
        super().validate_requested_scope()

    @hooked
    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # Authlib's own writes the token to its debug log; this one never names it.
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def _authenticate(request: OAuth2Request, client_id: str | None, secret: str | None) -> Any:
    """The client if the secret is its own and it is not revoked. The client named is kept on
    the request, so a refusal's audit event can name a real client (never the id as typed)."""
    if not client_id or not secret:
        return None
    client = oauth_clients.find_client(db_session(), client_id)
    if client is None:
        return None
    request.claimed_client = client
    return client if client.check_client_secret(secret) else None


def _client_secret_basic(query_client: Any, request: OAuth2Request) -> Any:
    client_id, secret = extract_basic_authorization(request.headers)
    return _authenticate(request, client_id, secret)


def _client_secret_post(query_client: Any, request: OAuth2Request) -> Any:
    if request.headers.get("Authorization"):
        return None  # one way of authenticating per request (RFC 6749 section 2.3)
    return _authenticate(request, request.form.get("client_id"), request.form.get("client_secret"))


class MinistryAuthorizationServer(AuthorizationServer):
    """Authlib's Flask server; every refused token request is audited."""

    def create_token_response(self, request: Any = None) -> Response:
        try:
            return cast(Response, super().create_token_response(request))
        except InsecureTransportError as error:
            # Plain HTTP from a non-loopback address: a proxy not configured to say https.
            return cast(Response, self.handle_error_response(None, error))

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Response:
        oauth_clients.refuse_token_request(
            db_session(), request_origin(), getattr(request, "claimed_client", None)
        )
        return cast(Response, super().handle_error_response(request, error))


def _query_client(client_id: str) -> OAuthClient | None:
    return oauth_clients.find_client(db_session(), client_id)


def _save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    oauth_clients.issue_token(
        db_session(),
        request.client,
        request_origin(),
        access_token=token["access_token"],
        scope=token.get("scope", ""),
        seconds=token["expires_in"],
    )


def _new_access_token(**_: Any) -> str:
    return oauth_clients.new_access_token()


def _token_limit() -> str:
    return str(current_app.extensions["continuum"].settings.login_rate_limit)


@bp.post("/oauth/token")
@limiter.limit(_token_limit)
def token() -> Response:
    server: MinistryAuthorizationServer = current_app.extensions[SERVER]
    return server.create_token_response()


def init_oauth(app: Flask) -> None:
    seconds = app.extensions["continuum"].settings.oauth_token_seconds
    if seconds not in TOKEN_SECONDS_RANGE:
        raise SettingsError(
            "CONTINUUM_OAUTH_TOKEN_SECONDS: between "
            f"{TOKEN_SECONDS_RANGE.start} and {TOKEN_SECONDS_RANGE.stop - 1}"
        )
    server = MinistryAuthorizationServer(query_client=_query_client, save_token=_save_token)
    server.scopes_supported = sorted(CLIENT_SCOPES)
    server.register_token_generator(
        "default",
        BearerTokenGenerator(_new_access_token, expires_generator=lambda client, grant: seconds),
    )
    server.register_grant(ClientCredentials)
    server.register_client_auth_method("client_secret_basic", _client_secret_basic)
    server.register_client_auth_method("client_secret_post", _client_secret_post)
    app.extensions[SERVER] = server
    app.register_blueprint(bp)
    csrf.exempt(bp)


# --- the resource protector -----------------------------------------------------------------


class OAuthRefusal(HTTPException):
    """A protected view refused: 401 or 403 with its RFC 6750 challenge, which the one error
    handler (app.http.errors) keeps on the error envelope."""

    def __init__(self, code: int, challenge: str) -> None:
        super().__init__()
        self.code = code
        self.challenge = challenge

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("WWW-Authenticate", self.challenge)]


class _TokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        return oauth_clients.token_for(db_session(), token_string, app_clock()())

    def validate_token(self, token: OAuthToken | None, scopes: Any, request: Any) -> None:
        if token is None:  # unknown, expired, or its client revoked: all the same to the caller
            raise InvalidTokenError(realm=self.realm)
        if self.scope_insufficient(token.get_scope(), scopes):
            oauth_clients.refuse_access(db_session(), request_origin(), token)
            raise InsufficientScopeError()


class _Protector(ResourceProtector):
    def raise_error_response(self, error: OAuth2Error) -> NoReturn:
        challenge = f'Bearer realm="{REALM}"'
        if isinstance(error, InsufficientScopeError):
            raise OAuthRefusal(403, f'{challenge}, error="insufficient_scope"')
        if isinstance(error, InvalidTokenError):
            raise OAuthRefusal(401, f'{challenge}, error="invalid_token"')
        # No token, another scheme, or plain HTTP: a challenge without an error (RFC 6750 3.1).
        raise OAuthRefusal(401, challenge)


_protector = _Protector()
_protector.register_token_validator(_TokenValidator(realm=REALM))


def require_oauth(scope: str) -> Callable[[F], F]:
    """Protect a view (a function, or a MethodView's method) with a ministry client's token
    carrying ``scope``; the view runs with no tenant context and, on PostgreSQL, as the readers'
    role (the token was looked up as the app role), so it cannot reach case data."""
    if scope not in CLIENT_SCOPES:
        raise ValueError(f"no client can hold the scope {scope!r}")
    check = _protector(scope)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def as_reader(*args: Any, **kwargs: Any) -> Any:
            mark_readers_session(db_session())
            return view(*args, **kwargs)

        protected = check(as_reader)
        setattr(protected, OAUTH_SCOPE_MARK, scope)
        return cast(F, protected)

    return decorate


def protects(endpoint: str | None, method: str) -> bool:
    """True when ``require_oauth`` guards this endpoint and method, which then checks the token
    itself (registered with the deny-by-default gate, app.http.gate, by ``init_api``)."""
    view: Any = current_app.view_functions.get(endpoint) if endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
        if view is None and method == "HEAD":
            view = getattr(view_class, "get", None)
    return getattr(view, OAUTH_SCOPE_MARK, None) is not None
