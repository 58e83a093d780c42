"""Domain errors and HTTP errors mapped to responses in one place: HTML or the JSON envelope.

A foreign id and a missing id both end here as the same NotFound, rendered from a template that
shows nothing about the request, so the two responses are identical byte for byte.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template
from werkzeug.exceptions import (
    HTTPException,
)

from app.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from app.http.audit import audit_refusal
from app.http.fields import flatten_errors
from app.http.gate import is_api_request
from tenants.context import AppendOnlyWrite, CrossTenantWrite, NoTenantContext

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "server_error",
}
MESSAGES = {
    401: "Authentication required",
    403: "You do not have permission to do that",
    404: "Not found",
    409: "That cannot be done to this record in its present state",
    422: "The request has errors",
    429: "Too many requests: wait a minute and try again",
    500: "Something went wrong; nothing was saved",
}
# Headers an error response must keep (flask-smorest's own handler drops them).
KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After")


def _envelope(
    status: int, fields: dict[str, list[str]] | None = None, message: str | None = None
) -> Response:
    body: dict[str, object] = {
        "status": status,
        "code": CODES.get(status, "error"),
        "message": message or MESSAGES.get(status, "Request failed"),
    }
    if fields:
        body["fields"] = fields
    response = jsonify(error=body)
    response.status_code = status
    return response


def _page(status: int) -> Response:
    response = Response(
        render_template(
            "error.html", status=status, message=MESSAGES.get(status, "Request failed")
        ),
        status=status,
        mimetype="text/html",
    )
    return response


def _respond(
    status: int, fields: dict[str, list[str]] | None = None, message: str | None = None
) -> Response:
    return _envelope(status, fields, message) if is_api_request() else _page(status)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    fields = None
    data = getattr(exc, "data", None)
    # Only a message the app wrote (app.api.parser): werkzeug's own descriptions never leave.
    message = data.get("message") if isinstance(data, dict) else None
    if isinstance(data, dict) and "messages" in data:
        # webargs nests messages by location (json, query); the envelope names fields only.
        fields = {}
        for location_messages in data["messages"].values():
            fields.update(flatten_errors(location_messages))
    response = _respond(status, fields, message)
    for name, value in exc.get_headers():
        if name in KEPT_HEADERS:
            response.headers[name] = value
    return response


def _domain_error(exc: DomainError) -> Response:
    if isinstance(exc, NotFound):
        audit_refusal()
        return _respond(404)
    if isinstance(exc, Forbidden):
        audit_refusal()
        return _respond(403, message=exc.public)
    if isinstance(exc, InvalidInput):
        return _respond(422, exc.errors)
    if isinstance(exc, Conflict):
        return _respond(409, {"_schema": [str(exc)]})
    log.error("unmapped domain error %s", type(exc).__name__)
    return _respond(500)


def _wall_breach(exc: Exception) -> Response:
    # A wall stopped something a view should never have attempted: a bug, never user error.
    log.error("tenant wall refused an operation: %s", type(exc).__name__)
    return _respond(500)


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error %s", type(exc).__name__)
    return _respond(500)


def init_errors(app: Flask) -> None:
    """Call after flask-smorest's Api is made: its own handler would answer HTML pages with JSON
    and drop headers."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(NoTenantContext, _wall_breach)
    app.register_error_handler(CrossTenantWrite, _wall_breach)
    app.register_error_handler(AppendOnlyWrite, _wall_breach)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
