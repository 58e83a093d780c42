"""The security headers on every response, from the web interface and the API alike."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

from app.http.gate import is_api_request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.extensions["continuum"].settings.secure_cookies:
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
        )
    if request.endpoint != "static":
        # Pages about families must never sit in a shared or browser cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    if response.status_code == 401 and is_api_request():
        # A challenge already made (the OAuth server's, the resource protector's) stays.
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="continuum"')
    return response


def init_headers(app: Flask) -> None:
    app.after_request(_headers)
