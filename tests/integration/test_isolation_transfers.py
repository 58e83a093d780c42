"""The isolation matrix over every route that takes a transfer id, found from the URL map.

Two transfers from POPS at Liverpool: one offered to NEPACS at Durham (with the family's consent),
one only proposed (no consent yet, so NEPACS must not know it exists). For every transfer route
and method, and every actor who is not a party to a transfer (a third charity, a POPS worker at
another prison, NEPACS before the offer, the alliance, the ministry, nobody signed in), the
transfer answers byte for byte as a transfer that does not exist, and nothing is written. Both
parties can read their own side, so the check cannot pass by refusing everything.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from werkzeug.routing import Rule

from app.models import Base
from tenants.model import is_shared_table, is_tenant_table
from tests.conftest import csrf_from
from tests.support.isolation import transfer_routes

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# actor -> the transfers it must not see
STRANGERS: dict[str, tuple[str, ...]] = {
    "pact_manager": ("offered", "proposed"),
    "pops_wakefield": ("offered", "proposed"),
    "nepacs_manager": ("proposed",),
    "nepacs_durham": ("proposed",),
    "coordinator": ("offered", "proposed"),
    "ministry": ("offered", "proposed"),
    "anonymous": ("offered",),
}


def _url(rule: Rule, transfer_id: uuid.UUID) -> str:
    path = rule.rule
    for name in rule.arguments:
        value = transfer_id if name == "transfer_id" else uuid.uuid4()
        path = path.replace(f"<uuid:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


def _row_counts(all_rows) -> dict[str, int]:
    with all_rows() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(text(table.name)))
            for table in Base.metadata.sorted_tables
            if is_tenant_table(table) or is_shared_table(table) or table.name == "audit_events"
        }


def _client(app, actor, api, signed_in, bearer):
    if actor == "anonymous":
        return app.test_client(), {}, ""
    if api:
        return app.test_client(), bearer(actor), ""
    client = signed_in(actor)
    return client, {}, csrf_from(client.get("/account").text)


def _ask(client, headers, rule, method, url, token):
    if rule.rule.startswith("/api/"):
        body = {} if method in WRITE_METHODS else None
        return client.open(url, method=method, json=body, headers=headers)
    data = {"csrf_token": token} if method in WRITE_METHODS else None
    return client.open(url, method=method, data=data, headers=headers)


@pytest.mark.parametrize("actor", list(STRANGERS))
def test_a_transfer_the_actor_is_no_party_to_answers_like_a_missing_one_on_every_route(
    app, world, two_transfers, signed_in, bearer, all_rows, actor
):
    routes = list(transfer_routes(app))
    assert len(routes) >= 4, "the URL map has few transfer routes: the walker found little"
    # Reading as a stranger writes audit events for refusals only, never rows of the transfer;
    # compare the tables of case and transfer data.
    before = {k: v for k, v in _row_counts(all_rows).items() if k != "audit_events"}
    clients = {api: _client(app, actor, api, signed_in, bearer) for api in (False, True)}
    problems = []
    for rule, method in routes:
        client, headers, token = clients[rule.rule.startswith("/api/")]
        missing = _ask(client, headers, rule, method, _url(rule, uuid.uuid4()), token)
        if missing.status_code < 400 and not (actor == "anonymous" and missing.status_code == 302):
            problems.append(
                f"{method} {rule.rule}: a missing transfer answered {missing.status_code}"
            )
        for which in STRANGERS[actor]:
            transfer_id = getattr(two_transfers, which)
            foreign = _ask(client, headers, rule, method, _url(rule, transfer_id), token)
            same = (
                foreign.status_code == missing.status_code
                and foreign.data == missing.data
                and foreign.headers.get("Content-Type") == missing.headers.get("Content-Type")
                and foreign.headers.get("Location") == missing.headers.get("Location")
            )
            if not same:
                problems.append(
                    f"{method} {rule.rule}: the {which} transfer answered "
                    f"{foreign.status_code}, a missing one {missing.status_code}"
                )
    assert problems == []
    after = {k: v for k, v in _row_counts(all_rows).items() if k != "audit_events"}
    assert after == before


@pytest.mark.parametrize(
    ("actor", "which"),
    [("pops_liverpool", "offered"), ("pops_liverpool", "proposed"), ("nepacs_manager", "offered")],
)
def test_each_party_reads_its_own_side_on_every_transfer_get_route(
    app, world, two_transfers, signed_in, bearer, actor, which
):
    transfer_id = getattr(two_transfers, which)
    clients = {api: _client(app, actor, api, signed_in, bearer) for api in (False, True)}
    checked, problems = 0, []
    for rule, method in transfer_routes(app):
        if method != "GET" or set(rule.arguments) != {"transfer_id"}:
            continue
        client, headers, _token = clients[rule.rule.startswith("/api/")]
        response = client.get(_url(rule, transfer_id), headers=headers)
        checked += 1
        if response.status_code != 200:
            problems.append(f"GET {rule.rule}: {response.status_code}")
    assert checked >= 2
    assert problems == []


@pytest.mark.parametrize("actor", ["pact_manager", "pops_wakefield", "nepacs_manager"])
def test_strangers_list_none_of_the_transfers(app, world, two_transfers, bearer, actor):
    body = app.test_client().get("/api/v1/transfers", headers=bearer(actor)).get_json()
    listed = {item["id"] for item in body["items"]} if isinstance(body, dict) else set()
    hidden = {str(getattr(two_transfers, w)) for w in STRANGERS[actor]}
    assert listed.isdisjoint(hidden)
    if actor == "nepacs_manager":
        assert str(two_transfers.offered) in listed  # the positive control
