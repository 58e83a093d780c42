"""Every log line the service writes is one JSON object, carrying a request id and no personal
data (issue 13, item 5; docs/production.md, "Logs").

A URL is written by whoever sends the request: ``%0a`` in it used to start a forged line in the
access log, and a NUL went in raw. Here hostile URLs are sent to the app in process, to the
development server and to gunicorn with the production configuration, and every line that comes
out is read back as JSON: one access line per request, no raw control character anywhere, the
request id in the line the one the response carried.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.logs import ACCESS_LOGGER, REQUEST_ID_HEADER, JsonFormatter
from tests.conftest import ROOT_KEY_FILE, Database, csrf_from
from tests.support.servers import free_port, stop, wait_until_listening
from tests.support.world import World

REPO = Path(__file__).resolve().parents[2]
GUNICORN_CONF = REPO / "config" / "gunicorn.conf.py"
# Any C0 control character, or DEL: none may appear raw in a log line.
RAW_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# URLs a caller could send to forge a line, hide one, or colour a terminal.
HOSTILE_PATHS = {
    "newline": "/cases/%0aINFO forged line",
    "crlf": '/cases/x%0d%0a{"level": "INFO", "message": "forged"}',
    "nul": "/cases/x%00y",
    "ansi": "/cases/%1b[31mred%1b[0m",
    "query": "/cases?q=%0aforged%00&name=%1b[31m",
}
# Words written in a test that must never reach a log (a name, a note, a search).
MARKER_NAME = "Zebedee Logmarkname"
MARKER_NOTE = "lognote-marker-5521"


class Captured:
    """What the service logged while the test ran, exactly as a JSON log handler wrote it."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line]

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines()]

    def access(self) -> list[dict[str, object]]:
        return [r for r in self.records() if r["logger"] == ACCESS_LOGGER]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def logged() -> Iterator[Captured]:
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    yield captured
    root.removeHandler(handler)


def _assert_clean(lines: list[str]) -> None:
    for line in lines:
        assert not RAW_CONTROL.search(line), repr(line)
        record = json.loads(line)
        assert isinstance(record, dict)
        for key in ("ts", "level", "logger", "message", "request_id"):
            assert key in record, (key, line)


# --- in process ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", HOSTILE_PATHS.values(), ids=HOSTILE_PATHS.keys())
def test_a_hostile_url_writes_exactly_one_json_access_line(app, logged, signed_in, path):
    liverpool = signed_in("pops_liverpool")
    for client in (liverpool, app.test_client()):
        logged.clear()
        response = client.get(path, buffered=True)
        lines = logged.lines()
        _assert_clean(lines)
        (line,) = logged.access()
        assert line["request_id"] == response.headers[REQUEST_ID_HEADER]
        assert line["status"] == response.status_code
        assert line["method"] == "GET"
        # Nothing the caller wrote in the URL is logged: no forged text, no query values.
        assert "forged" not in logged.text and "[31m" not in logged.text
        assert "\\u001b" not in logged.text and "\\u0000" not in logged.text


def test_a_line_names_the_route_not_the_path_and_is_dated_by_the_apps_clock(
    app, logged, signed_in, world: World
):
    case_id = world.cases[("pops", "LPI")]
    client = signed_in("pops_liverpool")
    logged.clear()
    response = client.get(f"/cases/{case_id}?tab=notes", buffered=True)
    assert response.status_code == 200
    (line,) = logged.access()
    assert line["route"] == "/cases/<uuid:case_id>"
    assert str(case_id) not in logged.text and "tab" not in logged.text
    assert line["ts"] == app.extensions["continuum"].clock().isoformat()
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO"


def test_an_unknown_url_is_logged_without_its_path(app, logged):
    response = app.test_client().get("/no/such/Zebedee-page", buffered=True)
    assert response.status_code in (302, 404)
    (line,) = logged.access()
    assert line["route"] is None
    assert "Zebedee" not in logged.text


@pytest.mark.parametrize(
    "incoming",
    [
        "not hex at all, a name: Zebedee",
        "0123456789abcde",  # 15: too short
        "0" * 65,  # too long
        "0123456789abcdef\u00000",
        '{"level": "ERROR"}',
    ],
)
def test_a_malformed_incoming_request_id_is_replaced(app, logged, incoming):
    response = app.test_client().get(
        "/healthz", headers={REQUEST_ID_HEADER: incoming}, buffered=True
    )
    given = response.headers[REQUEST_ID_HEADER]
    assert given != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    (line,) = logged.access()
    assert line["request_id"] == given
    assert "Zebedee" not in logged.text and "ERROR" not in logged.text


# Fixed values: parameters are collected by each xdist worker and must be the same in each.
@pytest.mark.parametrize(
    "incoming",
    ["5f0c2a9e-3b1d-4c7e-9a2f-6d8e1b4c7a30", "9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b", "ab" * 32],
)
def test_a_well_formed_incoming_request_id_is_kept_and_returned(app, logged, incoming):
    response = app.test_client().get("/login", headers={REQUEST_ID_HEADER: incoming}, buffered=True)
    assert response.headers[REQUEST_ID_HEADER] == incoming
    assert logged.access()[0]["request_id"] == incoming


def test_each_request_gets_its_own_id(app, logged):
    client = app.test_client()
    ids = {client.get("/healthz", buffered=True).headers[REQUEST_ID_HEADER] for _ in range(5)}
    assert len(ids) == 5
    assert {line["request_id"] for line in logged.access()} == ids


def test_an_error_logs_one_json_line_with_its_traceback_inside(app: Flask, logged, signed_in):
    from app.http import errors

    secret = f"{MARKER_NAME} 07700 900999"

    def explode() -> str:
        raise RuntimeError(secret)

    # As production runs: no propagation to the test client, the catch-all handler in place.
    app.add_url_rule("/explode", "explode", explode)
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.register_error_handler(Exception, errors._unexpected)
    client = signed_in("pops_liverpool")
    logged.clear()
    response = client.get("/explode", buffered=True)
    assert response.status_code == 500
    lines = logged.lines()
    _assert_clean(lines)
    (error,) = [r for r in logged.records() if r["level"] == "ERROR"]
    assert "Traceback" in error["traceback"] and "explode" in error["traceback"]
    assert "RuntimeError" in error["traceback"]
    assert error["request_id"] == response.headers[REQUEST_ID_HEADER]
    # An exception's message can carry what was being processed: its type is logged, not it.
    assert MARKER_NAME not in logged.text and "07700" not in logged.text
    (access,) = logged.access()
    assert access["status"] == 500
    assert len(lines) == 2


def _post(client: FlaskClient, url: str, data: dict[str, object]):
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def _referral() -> dict[str, object]:
    born, release = date(1990, 8, 14), date(2027, 9, 1)
    return {
        "prison_code": "LPI",
        "referral_source": "offender_manager",
        "person.name": MARKER_NAME,
        "person.prison_number": "c4321de",
        "person.date_of_birth.day": str(born.day),
        "person.date_of_birth.month": str(born.month),
        "person.date_of_birth.year": str(born.year),
        "person.expected_release_on.day": str(release.day),
        "person.expected_release_on.month": str(release.month),
        "person.expected_release_on.year": str(release.year),
        "main_contact.name": "Logmark Partner",
        "main_contact.relationship": "partner",
        "main_contact.phone": "07700 900123",
        "needs": ["family_contact"],
    }


def test_no_line_holds_a_name_a_note_or_a_search_written_in_the_test(
    app, logged, signed_in, bearer
):
    worker = signed_in("pops_liverpool")
    response = _post(worker, "/cases/new", _referral())
    assert response.status_code == 302, response.text
    case_id = response.location.rsplit("/", 1)[-1]
    assert _post(worker, f"/cases/{case_id}/notes/new", {"body": MARKER_NOTE}).status_code == 302
    assert MARKER_NAME in worker.get(f"/cases/{case_id}").text
    worker.get(f"/cases?q={MARKER_NAME}", buffered=True)
    worker.get(f"/cases/{MARKER_NOTE}", buffered=True)
    api = app.test_client()
    api.get(f"/api/v1/cases?q={MARKER_NAME}", headers=bearer("pops_liverpool"), buffered=True)
    api.post(
        f"/api/v1/cases/{case_id}/notes",
        json={"body": MARKER_NOTE},
        headers=bearer("pops_liverpool"),
        buffered=True,
    )
    assert len(logged.access()) >= 7
    _assert_clean(logged.lines())
    for word in (MARKER_NAME, "Zebedee", "Logmarkname", MARKER_NOTE, "Logmark", "c4321de"):
        assert word.lower() not in logged.text.lower(), word


# --- the development server ------------------------------------------------------------------


def _raw_get(port: int, target: bytes, request_id: str | None = None) -> tuple[int, str]:
    """One request with a request line written byte for byte (http.client refuses these)."""
    extra = f"X-Request-Id: {request_id}\r\n".encode() if request_id else b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra)
        conn.sendall(b"\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    found = re.search(r"(?im)^x-request-id: *(\S+)", head)
    return status, found.group(1) if found else ""


RAW_TARGETS = [
    b"/cases/%0aINFO%20forged",
    b"/cases/x%0d%0aforged",
    b"/cases/x%00y",
    b"/cases/%1b[31mred",
    b"/cases?q=%0aforged%00",
]


def test_the_development_server_writes_only_json_lines(app, logged):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answered = [_raw_get(server.port, target) for target in RAW_TARGETS]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
    _assert_clean(logged.lines())
    access = logged.access()
    assert [line["request_id"] for line in access] == [rid for _, rid in answered]
    assert [line["status"] for line in access] == [status for status, _ in answered]
    # werkzeug's own request line (with the path and the query) is not written as well.
    assert not [r for r in logged.records() if r["logger"] == "werkzeug"]
    assert "forged" not in logged.text


# --- gunicorn, as production runs it ----------------------------------------------------------


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader(REQUEST_ID_HEADER) or ""
    finally:
        conn.close()


# One real server run is enough (the logs do not depend on the database): SQLite only, by
# parametrization, never a skip.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_gunicorn_with_the_production_configuration_writes_only_json_lines(
    database: Database, world: World, tmp_path: Path, backend: str
):
    port = free_port()
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
        "CONTINUUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTINUUM_DATABASE_URL": database.app_url,
        "CONTINUUM_ROOT_KEY_FILE": str(ROOT_KEY_FILE),
        "CONTINUUM_BIND": f"127.0.0.1:{port}",
        "CONTINUUM_WORKERS": "1",
    }
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "app:create_app()"],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    answered: list[tuple[int, str]] = []
    try:
        wait_until_listening(process, port)
        given = uuid.uuid4().hex
        answered.append(_get(port, "/healthz", {REQUEST_ID_HEADER: given}))
        assert answered[-1][1] == given
        for path in HOSTILE_PATHS.values():
            answered.append(_get(port, path.replace(" ", "%20").replace('"', "%22")))
        answered.append(_get(port, f"/o/pops/login?name={MARKER_NAME.replace(' ', '+')}"))
        for target in RAW_TARGETS:
            answered.append(_raw_get(port, target))
    finally:
        output = stop(process)
    lines = [line for line in output.split("\n") if line.strip()]
    assert lines, "gunicorn wrote nothing"
    for line in lines:
        assert not RAW_CONTROL.search(line), repr(line)
        record = json.loads(line)
        assert {"ts", "level", "logger", "message"} <= set(record), line
    access = [json.loads(line) for line in lines if f'"logger": "{ACCESS_LOGGER}"' in line]
    # One access line per request, each naming the id its response carried.
    assert sorted(r["request_id"] for r in access) == sorted(rid for _, rid in answered)
    assert all(rid for _, rid in answered)
    assert "gunicorn.error" in {json.loads(line)["logger"] for line in lines}
    assert "forged" not in output and "Zebedee" not in output and "[31m" not in output
