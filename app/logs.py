"""Logs: one JSON object per line, each with a request id, never personal data (issue 13, item 5;
docs/production.md, "Logs").

A URL, a header or an exception's text is written by whoever sent the request, and a plain-text
log line copies it: ``%0a`` in a path became a second, forged line, and a NUL or a terminal's
escape went in raw. Here every line is ``json.dumps`` with ``ensure_ascii``, so a control
character (any byte below 0x20, DEL, or anything outside ASCII) is written as a ``\\uXXXX`` escape
inside a string: it can neither end the line nor add a field.

The access log is the app's own (``AccessLog``, logger ``continuum.access``), written once per
request under every server (gunicorn, the demo's gunicorn, werkzeug's development server), with
the request's method, the route's template (``/cases/<uuid:case_id>``, never the path, its ids
or its query), the status, the duration and the request id. The servers' own access lines are
switched off (``GUNICORN_LOGCONFIG``, ``_drop_werkzeug_request_lines``): they copy the path and
the query string, where search terms about people travel.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, has_app_context, request

from app.domain.clock import Clock

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ACCESS_LOGGER = "continuum.access"
REQUEST_ID_HEADER = "X-Request-Id"
# A proxy's or a load balancer's id is a UUID or hex (nginx's $request_id): nothing else is taken,
# so a caller cannot write a name, a quote or a control character into every line of a request.
_INCOMING_ID = re.compile(r"[0-9A-Fa-f-]{16,64}")
_ROUTE_KEY = "continuum.route"
# Methods logged by name; anything else a client invents is logged as OTHER.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
# Fields an access line adds to the common five.
_ACCESS_FIELDS = ("method", "route", "status", "duration_ms")
# werkzeug's development server prefixes its own lines with the client's address and the date.
_WERKZEUG_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None] | None
_request_id: ContextVar[str | None] = ContextVar("continuum_request_id", default=None)


# --- the one line format ------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: ts, level, logger, message, request_id, then any access
    fields, and a traceback (frames and exception types only) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        for field in _ACCESS_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info and record.exc_info[1] is not None:
            line["traceback"] = _traceback(record.exc_info[1])
        if record.stack_info:
            line["stack"] = record.stack_info
        # ensure_ascii: every control and non-ASCII character is escaped, so the line is one line.
        return json.dumps(line, ensure_ascii=True, default=str)


def _timestamp(record: logging.LogRecord) -> str:
    """The app's clock when the record was made in a request (tests move it), else the record's."""
    at = getattr(record, "at", None)
    if isinstance(at, datetime):
        return at.isoformat()
    if has_app_context():
        state = current_app.extensions.get("continuum")
        if state is not None:
            try:
                return str(state.clock().isoformat())
            except Exception:  # noqa: S110 - a log line must never fail on the clock
                pass
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _message(record: logging.LogRecord) -> str:
    if record.name == "werkzeug" and isinstance(record.msg, str):
        prefix = _WERKZEUG_PREFIX.match(record.msg)
        if prefix:
            # A line about one request: its arguments are the request line (path and query)
            # and the address; only the kind of line is kept.
            return record.msg[prefix.end() :]
    if record.name == "gunicorn.error" and record.msg == "Error handling request %s":
        return "Error handling request (path withheld)"
    try:
        return record.getMessage()
    except Exception:  # a malformed call still gives a line
        return str(record.msg)


def _traceback(exc: BaseException) -> str:
    """The frames of ``exc`` and of the exceptions it came from, each ending in its type only:
    an exception's message can carry what was being processed (a driver's parameters, the text
    a decoder refused), so it is withheld."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for n, error in enumerate(reversed(chain)):
        if n:
            parts.append("\nwhich led to\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.extract_tb(error.__traceback__).format())
        kind = type(error)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
    return "".join(parts)


# --- the access log and the request id ----------------------------------------------------------


def _incoming_id(value: str | None) -> str | None:
    return value if value is not None and _INCOMING_ID.fullmatch(value) else None


class AccessLog:
    """WSGI middleware: settles the request id (a well-formed incoming ``X-Request-Id``, or a new
    random one), returns it in the response, and writes one access line when the response is
    closed. Outermost, so the health probes answered in front of Flask are logged too."""

    def __init__(self, app: WSGIApplication, clock: Clock, probes: Iterable[str]) -> None:
        self._app = app
        self._clock = clock
        self._probes = frozenset(probes)
        self._log = logging.getLogger(ACCESS_LOGGER)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = _incoming_id(environ.get("HTTP_X_REQUEST_ID")) or uuid.uuid4().hex
        token = _request_id.set(request_id)
        at = self._clock()
        started = time.perf_counter()
        status: list[int] = []

        def start(
            line: str,
            headers: list[tuple[str, str]],
            exc_info: _ExcInfo = None,
        ) -> Callable[[bytes], object]:
            status[:] = [int(line.split(" ", 1)[0])]
            kept = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            return start_response(line, [*kept, (REQUEST_ID_HEADER, request_id)], exc_info)

        def done() -> None:
            self._write(environ, request_id, at, started, status[0] if status else 500)
            try:
                _request_id.reset(token)
            except ValueError:  # closed in another context than it started in
                _request_id.set(None)

        try:
            body = self._app(environ, start)
        except BaseException:
            done()
            raise
        return _Closing(body, done)

    def _write(
        self,
        environ: WSGIEnvironment,
        request_id: str,
        at: datetime,
        started: float,
        status: int,
    ) -> None:
        route = environ.get(_ROUTE_KEY)
        path = environ.get("PATH_INFO", "")
        if route is None and path in self._probes:
            route = path  # answered in front of Flask; a fixed public path, nothing else
        method = environ.get("REQUEST_METHOD", "")
        self._log.info(
            "request",
            extra={
                "at": at,
                "request_id": request_id,
                "method": method if method in _METHODS else "OTHER",
                "route": route,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            },
        )


class _Closing:
    """The response body, calling ``done`` once: when the server has sent all of it, or closes
    it (PEP 3333), whichever comes first (a test client reads a body and may never close it)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body
        self._finish()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


# --- wiring ------------------------------------------------------------------------------------


def _drop_werkzeug_request_lines(record: logging.LogRecord) -> bool:
    """werkzeug's development server logs each request with its path and query: the app's own
    access line replaces it."""
    message = record.msg if isinstance(record.msg, str) else ""
    return not (record.levelno == logging.INFO and message.endswith('"%s" %s %s'))


def _remember_route(_: BaseException | None = None) -> None:
    rule = request.url_rule
    request.environ[_ROUTE_KEY] = rule.rule if rule is not None else None


def init_logging(app: Flask, probes: Iterable[str]) -> None:
    """JSON lines for everything this process logs, and the access log with request ids in
    front of ``app``; ``probes`` are the paths answered in front of Flask (app.http.health),
    logged by path since no route names them. Call last in the factory, so the access log wraps
    every other layer."""
    from flask.logging import default_handler

    root = logging.getLogger()
    if not root.handlers:
        # Nobody configured logging (the development server, the command line, the demo until
        # gunicorn's own configuration takes over): write JSON lines to standard error.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    app.logger.removeHandler(default_handler)  # Flask's own plain-text handler
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
    werkzeug = logging.getLogger("werkzeug")
    if _drop_werkzeug_request_lines not in werkzeug.filters:
        werkzeug.addFilter(_drop_werkzeug_request_lines)
    app.teardown_request(_remember_route)
    state = app.extensions["continuum"]
    app.wsgi_app = AccessLog(app.wsgi_app, state.clock, probes)  # type: ignore[method-assign]


# Gunicorn's logging (``logconfig_dict`` in config/gunicorn.conf.py and the demo's server): the
# master's and the workers' lines, and every logger of the app, as JSON on standard error. Its
# own access log is off: the app writes one line per request itself (``AccessLog``), and
# gunicorn's line would copy the path and query string.
GUNICORN_LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}
