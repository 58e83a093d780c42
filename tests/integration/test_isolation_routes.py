"""The isolation matrix over every route that takes a case id, found from the app's own URL map.

A route added later is covered without anyone remembering to list it here. For every such route
and method, and every kind of actor, a case the actor may not see (another charity's, or another
prison's of the same charity) and a case that does not exist give the same response, byte for
byte, and nothing is written. The actor's own case is readable on every GET route that needs no
other id, so the check cannot pass by refusing everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.conftest import csrf_from
from tests.support.isolation import GOOD_WRITES, case_routes, tenant_row_counts
from tests.support.world import World

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# actor -> (own case or None, the cases it must not see)
SUBJECTS: dict[str, tuple[tuple[str, str] | None, tuple[tuple[str, str], ...]]] = {
    "pops_liverpool": (("pops", "LPI"), (("pops", "WDI"), ("nepacs", "DMI"))),
    "pops_wakefield": (("pops", "WDI"), (("pops", "LPI"), ("nepacs", "DMI"))),
    "pops_manager": (("pops", "LPI"), (("nepacs", "DMI"),)),
    "nepacs_durham": (("nepacs", "DMI"), (("pops", "LPI"), ("pops", "WDI"))),
    "pops_admin": (None, (("pops", "LPI"), ("nepacs", "DMI"))),
    "coordinator": (None, (("pops", "LPI"), ("nepacs", "DMI"))),
    "ministry": (None, (("pops", "LPI"), ("nepacs", "DMI"))),
    "anonymous": (None, (("pops", "LPI"),)),
}
# Own-case GET routes that need a role beyond case:read (a caseworker is refused, rightly).
MANAGERS_ONLY = ("access-log", "access_log")


def _url(rule: Rule, case_id: uuid.UUID, other: uuid.UUID) -> str:
    values = {name: other for name in rule.arguments}
    values["case_id"] = case_id
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<uuid:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


def _ask(
    client: FlaskClient, headers: dict[str, str], rule: Rule, method: str, url: str, token: str
):
    if rule.rule.startswith("/api/"):
        body = {} if method in WRITE_METHODS else None
        return client.open(url, method=method, json=body, headers=headers)
    data = {"csrf_token": token} if method in WRITE_METHODS else None
    return client.open(url, method=method, data=data, headers=headers)


def _client_for(
    app: Flask,
    actor: str,
    api: bool,
    signed_in: Callable[[str], FlaskClient],
    bearer: Callable[[str], dict[str, str]],
) -> tuple[FlaskClient, dict[str, str], str]:
    if actor == "anonymous":
        return app.test_client(), {}, ""
    if api:
        return app.test_client(), bearer(actor), ""
    client = signed_in(actor)
    return client, {}, csrf_from(client.get("/account").text)


@pytest.mark.parametrize("actor", list(SUBJECTS))
def test_foreign_and_missing_cases_get_the_same_answer_on_every_case_route(
    app, world: World, signed_in, bearer, all_rows, actor
):
    routes = list(case_routes(app))
    assert len(routes) >= 2, "the URL map has no case routes: the walker found nothing to check"
    before = tenant_row_counts(all_rows)
    assert before["cases"] == len(world.cases), "the counting session must see every case"
    other = uuid.uuid4()
    clients = {api: _client_for(app, actor, api, signed_in, bearer) for api in (False, True)}
    problems = []
    for rule, method in routes:
        client, headers, token = clients[rule.rule.startswith("/api/")]
        missing = _ask(client, headers, rule, method, _url(rule, uuid.uuid4(), other), token)
        if missing.status_code < 400 and not (actor == "anonymous" and missing.status_code == 302):
            problems.append(f"{method} {rule.rule}: a missing case answered {missing.status_code}")
        for pair in SUBJECTS[actor][1]:
            foreign = _ask(
                client, headers, rule, method, _url(rule, world.cases[pair], other), token
            )
            same = (
                foreign.status_code == missing.status_code
                and foreign.data == missing.data
                and foreign.headers.get("Content-Type") == missing.headers.get("Content-Type")
                and foreign.headers.get("Location") == missing.headers.get("Location")
            )
            if not same:
                problems.append(
                    f"{method} {rule.rule}: {pair} answered {foreign.status_code}, "
                    f"a missing case {missing.status_code}"
                )
    assert problems == []
    assert tenant_row_counts(all_rows) == before


@pytest.mark.parametrize("actor", ["pops_liverpool", "pops_manager", "nepacs_durham"])
def test_own_case_is_readable_on_every_get_route_that_needs_only_the_case(
    app, world: World, signed_in, bearer, actor
):
    own = SUBJECTS[actor][0]
    assert own is not None
    clients = {api: _client_for(app, actor, api, signed_in, bearer) for api in (False, True)}
    checked, problems = 0, []
    for rule, method in case_routes(app):
        if method != "GET" or set(rule.arguments) != {"case_id"}:
            continue
        if actor != "pops_manager" and any(part in rule.rule for part in MANAGERS_ONLY):
            continue
        client, headers, _token = clients[rule.rule.startswith("/api/")]
        response = client.get(_url(rule, world.cases[own], uuid.uuid4()), headers=headers)
        checked += 1
        if response.status_code != 200:
            problems.append(f"GET {rule.rule}: {response.status_code}")
    assert checked >= 2
    assert problems == []


@pytest.mark.parametrize("operation", list(GOOD_WRITES), ids=" ".join)
@pytest.mark.parametrize("actor", ["pops_liverpool", "nepacs_durham"])
def test_good_writes_to_a_case_out_of_scope_are_refused_like_a_missing_case(
    app, world: World, bearer, all_rows, actor, operation
):
    method, template = operation
    headers = bearer(actor)
    client = app.test_client()
    before = tenant_row_counts(all_rows)
    missing = client.open(
        template.format(id=uuid.uuid4()),
        method=method,
        json=GOOD_WRITES[operation](),
        headers=headers,
    )
    assert missing.status_code == 404
    for pair in SUBJECTS[actor][1]:
        foreign = client.open(
            template.format(id=world.cases[pair]),
            method=method,
            json=GOOD_WRITES[operation](),
            headers=headers,
        )
        assert (foreign.status_code, foreign.data) == (missing.status_code, missing.data)
    assert tenant_row_counts(all_rows) == before
    own = client.open(
        template.format(id=world.cases[SUBJECTS[actor][0]]),
        method=method,
        json=GOOD_WRITES[operation](),
        headers=headers,
    )
    # The same body on the actor's own case is accepted: the refusal above was the scope's.
    assert own.status_code in (200, 201), own.text
