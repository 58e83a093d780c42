"""Hostile input at every door where text comes in (issue 13, items 2 to 4).

- The API's write operations: a body nested 10,000 deep, a 5,001-digit integer, bytes that are
  not UTF-8, a body sent as text or as a form, or no body at all, is a 400 or 415 naming the
  problem in the error envelope; a lone surrogate or a NUL in a text field is a 422 naming the
  field. Never a 500, never a traceback in the log, and not one row changed.
- The web forms: a NUL, or bytes that are not UTF-8 (percent-encoded as a browser sends them,
  or raw), is refused with the field's error on the form shown again; nothing is written.
- ``continuum import cases``: a NUL in a cell is a problem named by row and column; nothing is
  imported.

Rows are compared below every wall: the owner on SQLite, the superuser on PostgreSQL.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.models import Base
from app.services.cases.imports import COLUMNS
from tenants.model import is_tenant_table
from tests.conftest import csrf_from
from tests.support import api_bodies as bodies
from tests.support.api_bodies import CASES, days_ago
from tests.support.world import World

# Case tables, and the staff accounts a charity admin's form writes to.
WATCHED = [*sorted(t.name for t in Base.metadata.sorted_tables if is_tenant_table(t)), "users"]
WRITE_METHODS = {"POST", "PATCH", "PUT"}

# --- the API's write operations --------------------------------------------------------------

# (method, rule as Flask names it) -> a good body, given the ids of the records in the URL.
BODY_ROUTES: dict[tuple[str, str], Callable[[dict[str, str]], dict[str, Any]]] = {
    ("POST", "/api/v1/cases"): lambda ids: bodies.referral(),
    ("PATCH", "/api/v1/cases/<uuid:case_id>"): lambda ids: {"safeguarding": True},
    ("POST", "/api/v1/cases/<uuid:case_id>/closure"): lambda ids: {"reason": "outcomes_met"},
    ("POST", "/api/v1/cases/<uuid:case_id>/members"): lambda ids: bodies.child(),
    ("POST", "/api/v1/cases/<uuid:case_id>/contacts"): lambda ids: bodies.contact(),
    ("POST", "/api/v1/cases/<uuid:case_id>/notes"): lambda ids: bodies.note(),
    ("POST", "/api/v1/cases/<uuid:case_id>/assessments"): lambda ids: bodies.assessment(),
    ("POST", "/api/v1/cases/<uuid:case_id>/actions"): lambda ids: bodies.action(),
    (
        "POST",
        "/api/v1/cases/<uuid:case_id>/actions/<uuid:action_id>/settlement",
    ): lambda ids: {"status": "done"},
    ("POST", "/api/v1/cases/<uuid:case_id>/consents"): lambda ids: bodies.consent(ids["member_id"]),
    (
        "POST",
        "/api/v1/cases/<uuid:case_id>/consents/<uuid:consent_id>/withdrawal",
    ): lambda ids: bodies.withdrawal(),
    (
        "PUT",
        "/api/v1/cases/<uuid:case_id>/members/<uuid:member_id>/equality",
    ): lambda ids: bodies.equality(),
    ("POST", "/api/v1/cases/<uuid:case_id>/transfers"): lambda ids: bodies.proposal(),
    ("POST", "/api/v1/transfers/<uuid:transfer_id>/decline"): lambda ids: {"reason": "other"},
    ("POST", "/api/v1/transfers/<uuid:transfer_id>/cancel"): lambda ids: {"reason": "other"},
    ("POST", "/api/v1/transfers/<uuid:transfer_id>/refuse"): lambda ids: {"reason": "other"},
    ("POST", "/api/v1/transfer-requests"): lambda ids: bodies.transfer_request(),
}
# Steps that take no body (the idempotency key is a header): there is no body to read.
BODYLESS_ROUTES = {
    ("POST", "/api/v1/transfers/<uuid:transfer_id>/offer"),
    ("POST", "/api/v1/transfers/<uuid:transfer_id>/accept"),
    ("POST", "/api/v1/transfers/<uuid:transfer_id>/grant"),
}


@dataclass(frozen=True)
class Unreadable:
    label: str
    content_type: str | None
    data: bytes
    status: int
    # Words the answer's message must hold: it says what is wrong.
    says: str


def _nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


UNREADABLE = [
    Unreadable(
        "array nested 10,000 deep", "application/json", b"[" * 10_000 + b"]" * 10_000, 400, "nested"
    ),
    Unreadable("object nested 10,000 deep", "application/json", _nested(10_000), 400, "nested"),
    Unreadable(
        "5,001-digit integer", "application/json", b'{"n": ' + b"9" * 5001 + b"}", 400, "digits"
    ),
    Unreadable("NaN", "application/json", b'{"n": NaN}', 400, "NaN"),
    Unreadable("bytes not UTF-8", "application/json", b'{"body": "caf\xe9"}', 400, "UTF-8"),
    Unreadable("broken JSON", "application/json", b'{"body": ', 400, "not JSON"),
    Unreadable(
        "JSON sent as text", "text/plain", b'{"safeguarding": true}', 415, "application/json"
    ),
    Unreadable(
        "a form", "application/x-www-form-urlencoded", b"safeguarding=true", 415, "application/json"
    ),
    Unreadable(
        "JSON with no content type", None, b'{"safeguarding": true}', 415, "application/json"
    ),
    Unreadable("no body", None, b"", 400, "no body"),
    Unreadable("an empty JSON body", "application/json", b"", 400, "no body"),
]


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()
    # As in production: an unhandled error is a logged 500 answered with the envelope, not an
    # exception raised into the test.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def watched_rows(
    all_rows: sessionmaker[Session],
) -> Callable[[], dict[str, list[tuple[str, ...]]]]:
    """Every row of the case tables and of users, as text, sorted: a snapshot to compare."""

    def snapshot() -> dict[str, list[tuple[str, ...]]]:
        with all_rows() as session:
            return {
                table: sorted(
                    tuple(str(value) for value in row)
                    for row in session.execute(text(f"SELECT * FROM {table}"))
                )
                for table in WATCHED
            }

    return snapshot


@pytest.fixture
def worker(bearer: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return bearer("pops_liverpool")


@pytest.fixture
def ids(app: Flask, worker: dict[str, str], world: World) -> dict[str, str]:
    """The records every URL names: a family opened through the API, and a transfer of its case
    offered to NEPACS."""
    client = app.test_client()
    family = bodies.open_family(client, worker)
    transfer = bodies.start_transfer(client, worker, family.case_id, world.organisations["nepacs"])
    return {
        "case_id": family.case_id,
        "action_id": family.action_id,
        "consent_id": family.consent_id,
        "member_id": family.main_contact_id,
        "transfer_id": transfer,
    }


def _url(rule: str, ids: dict[str, str]) -> str:
    return re.sub(r"<uuid:(\w+)>", lambda m: ids[m[1]], rule)


@pytest.fixture
def no_traceback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The test's requests log no error and no traceback."""
    caplog.set_level(logging.DEBUG)
    yield
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def _refusal(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json", response.text
    error = response.get_json()["error"]
    assert error["status"] == status
    assert (
        error["code"]
        == {400: "bad_request", 415: "unsupported_media_type", 422: "invalid_input"}[status]
    )
    return error


def test_every_api_write_route_is_in_this_module(app: Flask) -> None:
    # Deny by default: a new write operation must be added to the tables above.
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) & WRITE_METHODS
    }
    assert routes == set(BODY_ROUTES) | BODYLESS_ROUTES


@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=lambda route: " ".join(route))
def test_a_body_the_api_cannot_read_is_refused_saying_why_and_writes_nothing(
    app, worker, ids, watched_rows, no_traceback, route
):
    method, rule = route
    client, url = app.test_client(), _url(rule, ids)
    before = watched_rows()
    for bad in UNREADABLE:
        headers = dict(worker)
        if bad.content_type:
            headers["Content-Type"] = bad.content_type
        response = client.open(url, method=method, data=bad.data, headers=headers)
        error = _refusal(response, bad.status)
        assert bad.says in error["message"], (bad.label, error)
        assert watched_rows() == before, bad.label


def test_a_patch_sent_as_text_changes_nothing_and_the_same_json_changes_the_case(app, worker, ids):
    # The reported fault: 200 and nothing changed. The control: the same body as JSON is read.
    client, url = app.test_client(), f"{CASES}/{ids['case_id']}"
    assert client.get(url, headers=worker).get_json()["safeguarding"] is False
    body = json.dumps({"safeguarding": True})
    sent_as_text = client.patch(url, data=body, headers={**worker, "Content-Type": "text/plain"})
    _refusal(sent_as_text, 415)
    assert client.get(url, headers=worker).get_json()["safeguarding"] is False
    sent_as_json = client.patch(
        url, data=body, headers={**worker, "Content-Type": "application/json"}
    )
    assert sent_as_json.status_code == 200, sent_as_json.text
    assert client.get(url, headers=worker).get_json()["safeguarding"] is True


# (method, rule) and the text fields of its body, as dotted paths.
TEXT_FIELDS = [
    (("POST", "/api/v1/cases"), "person.name"),
    (("POST", "/api/v1/cases"), "main_contact.name"),
    (("POST", "/api/v1/cases"), "main_contact.address"),
    (("POST", "/api/v1/cases"), "main_contact.email"),
    (("POST", "/api/v1/cases/<uuid:case_id>/members"), "name"),
    (("POST", "/api/v1/cases/<uuid:case_id>/members"), "address"),
    (("POST", "/api/v1/cases/<uuid:case_id>/contacts"), "summary"),
    (("POST", "/api/v1/cases/<uuid:case_id>/notes"), "body"),
    (("POST", "/api/v1/cases/<uuid:case_id>/actions"), "description"),
    (("POST", "/api/v1/cases/<uuid:case_id>/assessments"), "framework"),
    (("PUT", "/api/v1/cases/<uuid:case_id>/members/<uuid:member_id>/equality"), "first_language"),
]
# A lone surrogate (JSON's "\ud800") cannot be encoded, so it can be neither encrypted nor
# stored; PostgreSQL text cannot hold a NUL.
NOT_TEXT = {
    "a lone surrogate": ("Sam \ud800 Jones", "surrogate"),
    "a NUL": ("Sam\x00 Jones", "NUL"),
}


def _with(body: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    target = body
    for parent in parents:
        target = target[parent]
    target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("route", "field"), TEXT_FIELDS, ids=[f"{route[1]}:{field}" for route, field in TEXT_FIELDS]
)
def test_a_lone_surrogate_or_a_nul_in_a_text_field_is_refused_naming_it(
    app, worker, ids, watched_rows, no_traceback, route, field
):
    method, rule = route
    client, url = app.test_client(), _url(rule, ids)
    good = BODY_ROUTES[route](ids)
    if field == "main_contact.email":
        good["main_contact"]["email"] = "sam@example.org"
    if field == "framework":
        good["framework"] = "family_star_10"
    before = watched_rows()
    for label, (value, says) in NOT_TEXT.items():
        # json.dumps escapes both as \ud800 and \u0000, as a client's JSON library would.
        data = json.dumps(_with(good, field, value))
        response = client.open(
            url, method=method, data=data, headers={**worker, "Content-Type": "application/json"}
        )
        error = _refusal(response, 422)
        assert any(says in message for message in error["fields"].get(field, [])), (label, error)
        assert watched_rows() == before, label
    # The control: the same body with the field's own good value is written.
    response = client.open(url, method=method, json=good, headers=worker)
    assert response.status_code in (200, 201), response.text
    assert watched_rows() != before


# --- the web forms ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    actor: str
    path: str  # "{case}" is a Liverpool case of the test world
    valid: dict[str, str]
    field: str


def _date_parts(name: str, iso: str) -> dict[str, str]:
    year, month, day = iso.split("-")
    return {f"{name}-year": year, f"{name}-month": month, f"{name}-day": day}


FORMS = {
    "referral": Form(
        "pops_liverpool",
        "/cases/new",
        {
            "prison_code": "LPI",
            "referral_source": "offender_manager",
            "person.name": "Kieran Testperson",
            "person.prison_number": "C4321DE",
            "main_contact.name": "Shannon Testperson",
            "main_contact.relationship": "partner",
        },
        "person.name",
    ),
    "member": Form(
        "pops_liverpool",
        "/cases/{case}/members/new",
        {"name": "Jade Worldcase", "kind": "adult", "relationship": "partner", "address": "1 Road"},
        "address",
    ),
    "contact": Form(
        "pops_liverpool",
        "/cases/{case}/contacts/new",
        {
            "kind": "phone",
            **_date_parts("occurred_on", days_ago(1)),
            "summary": "Called about visits.",
        },
        "summary",
    ),
    "note": Form(
        "pops_liverpool", "/cases/{case}/notes/new", {"body": "Called about visits."}, "body"
    ),
    "action": Form(
        "pops_liverpool",
        "/cases/{case}/actions/new",
        {"description": "Book a visit", "owner": "family"},
        "description",
    ),
    "staff": Form(
        "pops_admin",
        "/admin/users/new",
        {
            "display_name": "Robin Newstaff",
            "username": "robin.new",
            "role": "caseworker",
            "prisons": "LPI",
        },
        "display_name",
    ),
}
# How each bad value is posted: (what the field's value is made of, as urlencoded bytes).
NOT_UTF8 = {
    "a NUL": b"Sam%00Jones",
    "a byte not UTF-8, percent-encoded": b"caf%E9",
    "a byte not UTF-8, raw": b"caf\xe9",
    "an encoded surrogate": b"Sam%ED%A0%80Jones",
}


def _summary_links(html: str) -> list[str]:
    summary = html[html.index("govuk-error-summary") :]
    summary = summary[: summary.index("</ul>")]
    return re.findall(r'<a href="#([^"]+)">', summary)


@pytest.mark.parametrize("name", list(FORMS))
def test_a_form_with_a_nul_or_bytes_not_utf8_is_shown_again_naming_the_field(
    signed_in, world, watched_rows, no_traceback, name
):
    form = FORMS[name]
    client: FlaskClient = signed_in(form.actor)
    url = form.path.format(case=world.cases[("pops", "LPI")])
    before = watched_rows()
    for label, value in NOT_UTF8.items():
        token = csrf_from(client.get(url).text)
        others = {k: v for k, v in form.valid.items() if k != form.field}
        data = urlencode({**others, "csrf_token": token}).encode() + b"&"
        data += urlencode({form.field: ""}).encode() + value
        response = client.post(url, data=data, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400, (label, response.status_code)
        assert form.field in _summary_links(response.text), (label, _summary_links(response.text))
        assert watched_rows() == before, label
    # The control: the same form with the field's own good value is written.
    token = csrf_from(client.get(url).text)
    response = client.post(url, data={**form.valid, "csrf_token": token})
    assert response.status_code in (200, 302), response.text
    assert watched_rows() != before


# --- continuum import cases ------------------------------------------------------------------


def _row(**cells: str) -> dict[str, str]:
    return {
        "prison_code": "LPI",
        "opened_on": days_ago(30),
        "referral_source": "prison_staff",
        "person_name": "Imported Person",
        "prison_number": "Q1111AA",
        "contact_name": "Imported Contact",
        "contact_relationship": "partner",
        "contact_email": "imported.contact@example.org",
        "needs": "visits;finance",
        **cells,
    }


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_import_with_a_nul_in_a_cell_names_the_row_and_column_and_imports_nothing(
    app, watched_rows, tmp_path, no_traceback
):
    nul_in = ("person_name", "contact_name", "contact_email", "prison_code", "prison_number")
    rows = [_row(prison_number=f"Q{2000 + i}AA") for i in range(len(nul_in))]
    for row, column in zip(rows, nul_in, strict=True):
        row[column] = row[column][:2] + "\x00" + row[column][2:]
    path = _write(tmp_path / "cases.csv", [_row(prison_number="Q1999AA"), *rows])
    before = watched_rows()

    result = app.test_cli_runner().invoke(args=["import", "cases", str(path), "--charity", "pops"])

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    for number, column in enumerate(nul_in, start=3):  # the header is row 1, a good row 2
        said = [line for line in lines if line.startswith(f"row {number}, {column}: ")]
        assert said and all("NUL" in line for line in said), (column, result.output)
    assert "\x00" not in result.output
    assert "row 2," not in result.output
    assert watched_rows() == before
    # The control: the same file without the NULs imports every row.
    clean = [_row(prison_number=f"Q{2000 + i}AA") for i in range(len(nul_in))]
    path = _write(tmp_path / "clean.csv", [_row(prison_number="Q1999AA"), *clean])
    result = app.test_cli_runner().invoke(args=["import", "cases", str(path), "--charity", "pops"])
    assert result.exit_code == 0, result.output
