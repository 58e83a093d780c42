"""The isolation matrix: every case route x every kind of actor x own, foreign and missing ids.

The subject of each row is a case the actor may or may not see. Whatever the reason an actor may
not see a case (another charity, another prison of the same charity, a role with no case access,
or the case does not exist), the response is decided before anything about the case is known, so
a foreign id and a missing id must give identical responses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_from, missing_id
from tests.support.api_bodies import referral
from tests.support.world import World

# actor -> the case it owns (charity, prison), or None when its role has no case access
OWN_CASE = {
    "pops_liverpool": ("pops", "LPI"),
    "pops_wakefield": ("pops", "WDI"),
    "nepacs_durham": ("nepacs", "DMI"),
    "pops_manager": ("pops", "LPI"),
    "pops_admin": None,
    "ministry": None,
    "coordinator": None,
}
# actor -> a case it must not see: another charity's, or its own charity's at another prison
FOREIGN_CASE = {
    "pops_liverpool": ("nepacs", "DMI"),
    "pops_wakefield": ("pops", "LPI"),
    "nepacs_durham": ("pops", "LPI"),
    "pops_manager": ("nepacs", "DMI"),
    "pops_admin": ("pops", "LPI"),
    "ministry": ("pops", "LPI"),
    "coordinator": ("nepacs", "DMI"),
}
ACTORS = (*OWN_CASE, "anonymous")
ID_KINDS = ("own", "foreign", "missing")
ID_ROUTES = {"web.case_detail": "/cases/{id}", "api.case": "/api/v1/cases/{id}"}
LIST_ROUTES = {"web.home": "/", "web.case_list": "/cases", "api.cases": "/api/v1/cases"}
CASE_LINK = re.compile(r'href="/cases/([0-9a-f-]{36})"')


def _client(
    app: Flask,
    world: World,
    actor: str,
    route: str,
    signed_in: Callable[[str], FlaskClient],
    bearer: Callable[[str], dict[str, str]],
) -> tuple[FlaskClient, dict[str, str]]:
    if actor == "anonymous":
        return app.test_client(), {}
    if route.startswith("api."):
        return app.test_client(), bearer(actor)
    return signed_in(actor), {}


def _subject(world: World, actor: str, kind: str) -> uuid.UUID:
    if kind == "missing":
        return missing_id()
    pair = OWN_CASE.get(actor) if kind == "own" else FOREIGN_CASE.get(actor)
    return world.cases[pair] if pair else missing_id()


def _expected(actor: str, route: str, kind: str) -> int:
    api = route.startswith("api.")
    if actor == "anonymous":
        return 401 if api else 302
    if OWN_CASE[actor] is None:
        return 403
    return 200 if kind == "own" else 404


@pytest.mark.parametrize("kind", ID_KINDS)
@pytest.mark.parametrize("route", ID_ROUTES)
@pytest.mark.parametrize("actor", ACTORS)
def test_case_by_id(app, world, signed_in, bearer, actor, route, kind):
    client, headers = _client(app, world, actor, route, signed_in, bearer)
    case_id = _subject(world, actor, kind)
    response = client.get(ID_ROUTES[route].format(id=case_id), headers=headers)
    assert response.status_code == _expected(actor, route, kind)
    if response.status_code == 200:
        _charity, prison = OWN_CASE[actor]
        assert f"{prison}-20-WORLD" in response.text


@pytest.mark.parametrize("route", ID_ROUTES)
@pytest.mark.parametrize("actor", ACTORS)
def test_foreign_and_missing_ids_look_the_same(app, world, signed_in, bearer, actor, route):
    client, headers = _client(app, world, actor, route, signed_in, bearer)
    foreign = client.get(
        ID_ROUTES[route].format(id=_subject(world, actor, "foreign")), headers=headers
    )
    missing = client.get(ID_ROUTES[route].format(id=missing_id()), headers=headers)
    assert foreign.status_code == missing.status_code
    assert foreign.data == missing.data
    assert foreign.headers.get("Content-Type") == missing.headers.get("Content-Type")
    assert foreign.headers.get("Location") == missing.headers.get("Location")


def _visible_ids(world: World, actor: str) -> set[uuid.UUID]:
    from tests.support.world import ACTORS as WORLD_ACTORS

    spec = {key: (slug, prisons) for key, slug, _role, prisons in WORLD_ACTORS}
    if OWN_CASE.get(actor) is None:
        return set()
    slug, prisons = spec[actor]
    return {
        case_id
        for (owner, code), case_id in world.cases.items()
        if owner == slug and code in prisons
    }


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("actor", ACTORS)
def test_lists_show_exactly_the_actors_cases(app, world, signed_in, bearer, actor, route):
    client, headers = _client(app, world, actor, route, signed_in, bearer)
    response = client.get(LIST_ROUTES[route], headers=headers)
    if actor == "anonymous":
        assert response.status_code == (401 if route.startswith("api.") else 302)
        return
    expected = _visible_ids(world, actor)
    if route == "web.home" and OWN_CASE[actor] is None:
        assert response.status_code == 200
        assert not CASE_LINK.findall(response.text)
        return
    if OWN_CASE[actor] is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    if route.startswith("api."):
        shown = {uuid.UUID(item["id"]) for item in response.json["items"]}
        assert response.json["meta"]["total"] == len(expected)
    else:
        shown = {uuid.UUID(match) for match in CASE_LINK.findall(response.text)}
    assert shown == expected


# --- writes ------------------------------------------------------------------------------------


def _case_count(app: Flask, world: World) -> dict[tuple[str, str], int]:
    """Counted through the owner's eyes of each charity: the reviewed test-only view."""
    from sqlalchemy import func, select

    from app.models import Case
    from tenants.context import TenantContext
    from tenants.guard import bind_tenant
    from tenants.permissions import Role

    counts = {}
    for slug in ("pops", "nepacs"):
        prisons = frozenset(code for (owner, code) in world.cases if owner == slug)
        with app.extensions["continuum"].session_factory() as session:
            bind_tenant(
                session, TenantContext(world.organisations[slug], prisons, Role.SITE_MANAGER)
            )
            for code in prisons:
                counts[(slug, code)] = session.scalar(
                    select(func.count()).select_from(Case).where(Case.prison_code == code)
                )
    return counts


# The least a referral form needs besides the prison: who referred, and the person in custody.
REFERRAL_FORM = {
    "referral_source": "self",
    "person.name": "Alex Matrixcase",
    "person.prison_number": "D5678EF",
}


def _post_web(client: FlaskClient, prison: str):
    page = client.get("/cases/new")
    token = csrf_from(page.text) if page.status_code == 200 else ""
    data = {**REFERRAL_FORM, "prison_code": prison, "csrf_token": token}
    return client.post("/cases/new", data=data)


def _post_api(client: FlaskClient, headers: dict[str, str], prison: str):
    return client.post("/api/v1/cases", json=referral(prison), headers=headers)


# prison a POPS Liverpool worker may use, its charity's other prison, another charity's, none
PRISON_KINDS = {"own": "LPI", "other_prison": "WDI", "other_charity": "DMI", "missing": "ZZZ"}


@pytest.mark.parametrize("surface", ["web", "api"])
@pytest.mark.parametrize("prison_kind", PRISON_KINDS)
def test_liverpool_worker_opens_cases_only_at_liverpool(
    app, world, signed_in, bearer, surface, prison_kind
):
    before = _case_count(app, world)
    prison = PRISON_KINDS[prison_kind]
    if surface == "web":
        response = _post_web(signed_in("pops_liverpool"), prison)
    else:
        response = _post_api(app.test_client(), bearer("pops_liverpool"), prison)
    after = _case_count(app, world)
    if prison_kind == "own":
        assert response.status_code == (302 if surface == "web" else 201)
        assert after[("pops", "LPI")] == before[("pops", "LPI")] + 1
        return
    assert response.status_code == (400 if surface == "web" else 422)
    assert after == before


@pytest.mark.parametrize("surface", ["web", "api"])
def test_refusals_for_other_prison_other_charity_and_missing_prison_are_identical(
    app, world, signed_in, bearer, surface
):
    if surface == "web":
        client = signed_in("pops_liverpool")
        bodies = {
            kind: _post_web(client, PRISON_KINDS[kind]).data
            for kind in ("other_prison", "other_charity", "missing")
        }
    else:
        headers = bearer("pops_liverpool")
        client = app.test_client()
        bodies = {
            kind: _post_api(client, headers, PRISON_KINDS[kind]).data
            for kind in ("other_prison", "other_charity", "missing")
        }
    # The CSRF token in the re-rendered form differs per request; compare everything else.
    normalised = {
        kind: re.sub(rb'name="csrf_token" value="[^"]*"', b"", body)
        for kind, body in bodies.items()
    }
    assert len(set(normalised.values())) == 1


@pytest.mark.parametrize("actor", ["ministry", "pops_admin", "coordinator", "anonymous"])
@pytest.mark.parametrize("surface", ["web", "api"])
def test_actors_without_case_access_cannot_open_cases(
    app, world, signed_in, bearer, actor, surface
):
    before = _case_count(app, world)
    if actor == "anonymous":
        client, headers = app.test_client(), {}
    elif surface == "web":
        client, headers = signed_in(actor), {}
    else:
        client, headers = app.test_client(), bearer(actor)
    if surface == "web":
        token = csrf_from(client.get("/").text) if actor != "anonymous" else ""
        response = client.post("/cases/new", data={"prison_code": "LPI", "csrf_token": token})
    else:
        response = _post_api(client, headers, "LPI")
    expected = {"anonymous": 401 if surface == "api" else 302}.get(actor, 403)
    assert response.status_code == expected
    assert _case_count(app, world) == before


# --- search --------------------------------------------------------------------------------------

# The world holds prison number A1234BC at POPS Liverpool and at NEPACS Durham, so a search that
# crossed a charity or a prison would show another's case.
SEARCH_ROUTES = {"web.search": "/search?q={q}", "api.search": "/api/v1/search?q={q}"}


def _shown_by_search(response, route: str) -> set[uuid.UUID]:
    if route.startswith("api."):
        return {uuid.UUID(item["case"]["id"]) for item in response.json["items"]}
    return {uuid.UUID(match) for match in CASE_LINK.findall(response.text)}


@pytest.mark.parametrize("route", SEARCH_ROUTES)
@pytest.mark.parametrize("actor", ACTORS)
def test_search_finds_only_the_actors_own_cases(app, world, signed_in, bearer, actor, route):
    client, headers = _client(app, world, actor, route, signed_in, bearer)
    number = world.people[("pops", "LPI")][0]
    shown: set[uuid.UUID] = set()
    for q in (number, "case"):  # by prison number, and a word in every world name
        response = client.get(SEARCH_ROUTES[route].format(q=q), headers=headers)
        if actor == "anonymous":
            assert response.status_code == (401 if route.startswith("api.") else 302)
            return
        if OWN_CASE[actor] is None:
            assert response.status_code == 403
            return
        assert response.status_code == 200
        shown |= _shown_by_search(response, route)
    assert shown == _visible_ids(world, actor)
