"""The ministry never reaches a case (issue 5 item 6): a ministry analyst signed in on the web or
with a personal token, and a ministry client with an OAuth2 token for ``metrics:read``, are
refused on every route that takes a case or transfer id or lists cases, families or transfers,
found from the app's own URL map (the walkers of the isolation matrices), with real ids; and
nothing is written. A caseworker reads the same case on the same walk, so the refusals are the
ministry's, not the routes'.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from tests.conftest import csrf_from
from tests.support import api_bodies as bodies
from tests.support.isolation import (
    GOOD_WRITES,
    Transfers,
    case_routes,
    tenant_row_counts,
    transfer_routes,
)
from tests.support.oauth import access_token, bearer_header, make_client
from tests.support.world import World

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Routes with no id that list or search cases, families or transfers (or open a new one).
LISTING_ROOTS = ("cases", "families", "transfers", "transfer-requests", "search", "manager")
REFUSED = (403, 404)
# A write the walk has no valid body for may be refused by request validation (422) before its
# view runs, so before any row is read; one with a valid body must be refused for who asks.
UNCHECKED_BODY = (422,)
BODIES = {
    **{
        (method, path.replace("{id}", "<uuid:case_id>")): make
        for (method, path), make in GOOD_WRITES.items()
    },
    ("POST", "/api/v1/cases"): lambda: bodies.referral(),
}
# Web forms the walk fills in beyond the CSRF token (the rest refuse before reading the form).
FORMS = {("POST", "/cases/<uuid:case_id>/actions/<uuid:action_id>/settle"): {"status": "done"}}
# An OAuth2 token is no personal token: the case API does not know it (401) before any scope.
REFUSED_TO_A_CLIENT = (401, 403, 404)


def _root(rule: Rule) -> str:
    parts = rule.rule.removeprefix("/api/v1").strip("/").split("/")
    return parts[0]


def listing_routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.arguments or _root(rule) not in LISTING_ROOTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def every_case_route(app: Flask) -> list[tuple[Rule, str]]:
    found = {
        (rule.rule, method): (rule, method)
        for walker in (case_routes, transfer_routes, listing_routes)
        for rule, method in walker(app)
    }
    return [found[key] for key in sorted(found)]


def _url(rule: Rule, ids: dict[str, uuid.UUID]) -> str:
    path = rule.rule
    for name in rule.arguments:
        value = ids.get(name, uuid.uuid4())
        path = path.replace(f"<uuid:{name}>", str(value)).replace(f"<{name}>", str(value))
    return f"{path}?q=Lee" if _root(rule) == "search" else path


def _ask(
    client: FlaskClient, rule: Rule, method: str, url: str, headers: dict[str, str], token: str
) -> TestResponse:
    if rule.rule.startswith("/api/"):
        make = BODIES.get((method, rule.rule), dict)
        body = make() if method in WRITE_METHODS else None
        return client.open(url, method=method, json=body, headers=headers)
    form = {"csrf_token": token, **FORMS.get((method, rule.rule), {})}
    data = form if method in WRITE_METHODS else None
    return client.open(url, method=method, data=data, headers=headers)


@pytest.fixture
def real_ids(world: World, two_transfers: Transfers) -> dict[str, uuid.UUID]:
    return {"case_id": world.cases[("pops", "LPI")], "transfer_id": two_transfers.offered}


def _walk(
    app: Flask,
    client: FlaskClient,
    headers: dict[str, str],
    token: str,
    ids: dict[str, uuid.UUID],
    allowed: tuple[int, ...],
    *,
    api: bool,
) -> tuple[int, list[str]]:
    walked, problems = 0, []
    for rule, method in every_case_route(app):
        if rule.rule.startswith("/api/") != api:
            continue
        response = _ask(client, rule, method, _url(rule, ids), headers, token)
        walked += 1
        unchecked = api and method in WRITE_METHODS and (method, rule.rule) not in BODIES
        if response.status_code not in allowed + (UNCHECKED_BODY if unchecked else ()):
            problems.append(f"{method} {rule.rule}: {response.status_code}")
    return walked, problems


def test_the_walk_covers_cases_families_transfers_and_their_lists(app):
    paths = {rule.rule for rule, _method in every_case_route(app)}
    for expected in (
        "/cases",
        "/cases/<uuid:case_id>",
        "/api/v1/cases",
        "/api/v1/cases/<uuid:case_id>/family",
        "/transfers",
        "/transfers/<uuid:transfer_id>",
        "/api/v1/transfers",
        "/api/v1/transfers/<uuid:transfer_id>",
    ):
        assert expected in paths


def test_a_signed_in_ministry_analyst_is_refused_on_every_case_route(
    app, signed_in, real_ids, all_rows
):
    before = tenant_row_counts(all_rows)
    client = signed_in("ministry")
    token = csrf_from(client.get("/account").text)
    walked, problems = _walk(app, client, {}, token, real_ids, REFUSED, api=False)
    assert walked >= 40
    assert problems == [], "\n".join(problems)
    assert tenant_row_counts(all_rows) == before


def test_a_ministry_analysts_personal_token_is_refused_on_every_case_api_route(
    app, bearer, real_ids, all_rows
):
    before = tenant_row_counts(all_rows)
    client = app.test_client()
    walked, problems = _walk(app, client, bearer("ministry"), "", real_ids, REFUSED, api=True)
    assert walked >= 20
    assert problems == [], "\n".join(problems)
    assert tenant_row_counts(all_rows) == before


def test_a_ministry_clients_oauth_token_is_refused_on_every_case_api_route(
    app, world, owner_sessions, real_ids, all_rows
):
    token = access_token(app, *make_client(owner_sessions, world))
    before = tenant_row_counts(all_rows)
    walked, problems = _walk(
        app,
        app.test_client(),
        bearer_header(token),
        "",
        real_ids,
        REFUSED_TO_A_CLIENT,
        api=True,
    )
    assert walked >= 20
    assert problems == [], "\n".join(problems)
    assert tenant_row_counts(all_rows) == before


def test_the_caseworker_reads_the_same_case_and_transfer_the_ministry_was_refused(
    app, signed_in, bearer, real_ids
):
    # Positive control: the ids walked above are real and readable by their own charity.
    client = signed_in("pops_liverpool")
    assert client.get(f"/cases/{real_ids['case_id']}").status_code == 200
    assert client.get(f"/transfers/{real_ids['transfer_id']}").status_code == 200
    api = app.test_client()
    headers = bearer("pops_liverpool")
    assert api.get(f"/api/v1/cases/{real_ids['case_id']}", headers=headers).status_code == 200
