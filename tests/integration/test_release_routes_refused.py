"""Every state-changing release route, asked by each actor without the permission, on SQLite and
PostgreSQL: 403, and nothing written (no sign-off step, no release and no change of one, no audit
event). The pages themselves are covered by test_web_releases.py; anonymous requests to every
route by test_sign_in.py; case routes by the isolation matrix (these take no case id).

Bad quarters and charities in a reopen's address are a 4xx naming the quarter, and write nothing.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models.audit import AuditEntry
from app.models.releases import QuarterSignOff, Release
from tests.conftest import csrf_from
from tests.support.releases import Q3, build_quarter
from tests.support.world import World

# (route, the actors whose role lacks its permission). The release routes need
# release:publish (the coordinator); signing off needs figures:sign-off (a charity admin).
REFUSED = [
    ("/figures/{quarter}/sign-off", ("pops_liverpool", "pops_manager", "coordinator", "ministry")),
    ("/releases/build", ("pops_liverpool", "pops_admin", "ministry")),
    ("/releases/{quarter}/reopen/pops", ("pops_liverpool", "pops_admin", "ministry")),
    ("/releases/{draft}/publish", ("pops_liverpool", "pops_admin", "ministry")),
    ("/releases/{draft}/discard", ("pops_liverpool", "pops_admin", "ministry")),
]
REFUSED_OUTCOME = "refused"
CASES = [(route, actor) for route, actors in REFUSED for actor in actors]


@pytest.fixture
def draft(app: Flask, world: World) -> uuid.UUID:
    """Every serving charity has signed 2026Q3 off and the coordinator has a draft of it."""
    return build_quarter(app.extensions["continuum"].session_factory, world)


def _written(app: Flask) -> tuple[object, ...]:
    """What a refused step must leave as it was: the steps, the releases and their states, the
    audit events of what was done (a refusal is itself audited: see _refusals)."""
    with app.extensions["continuum"].session_factory() as session:
        steps = session.scalar(select(func.count()).select_from(QuarterSignOff))
        releases = sorted(
            (str(r.id), r.status, r.published_at is not None)
            for r in session.scalars(select(Release))
        )
        events = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.outcome != REFUSED_OUTCOME)
        )
    return steps, tuple(releases), events


def _refusals(app: Flask) -> int:
    with app.extensions["continuum"].session_factory() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "access.refused", AuditEntry.outcome == REFUSED_OUTCOME)
            )
            or 0
        )


def _post(client: FlaskClient, url: str, data: dict[str, str] | None = None):
    """Post with the CSRF token of a page every signed-in actor may open."""
    shown = client.get("/account")
    assert shown.status_code == 200
    return client.post(url, data={**(data or {}), "csrf_token": csrf_from(shown.text)})


@pytest.mark.parametrize(("route", "actor"), CASES, ids=[f"{a}:{r}" for r, a in CASES])
def test_actor_without_the_permission_gets_403_and_nothing_is_written(
    app, signed_in, draft, route, actor
):
    client = signed_in(actor)
    before, refused = _written(app), _refusals(app)

    url = route.format(quarter=Q3.label, draft=draft)
    response = _post(client, url, {"quarter": Q3.label, "reason": "a correction"})

    assert response.status_code == 403, response.text
    assert _written(app) == before
    assert _refusals(app) == refused + 1


@pytest.mark.parametrize(
    "url",
    ["/releases/2026Q9/reopen/pops", "/releases/2026Q0/reopen/pops", "/releases/soon/reopen/pops"],
)
def test_a_reopen_of_no_such_quarter_is_400_naming_it_and_writes_nothing(
    app, signed_in, draft, url
):
    coordinator = signed_in("coordinator")
    before = _written(app)

    response = _post(coordinator, url)

    assert response.status_code == 400, response.text
    assert "Give a quarter like 2026Q3" in response.text
    assert _written(app) == before


@pytest.mark.parametrize("slug", ["nobody", "alliance", "ministry"])
def test_a_reopen_for_what_is_not_a_charity_is_404_and_writes_nothing(app, signed_in, draft, slug):
    coordinator = signed_in("coordinator")
    before = _written(app)

    response = _post(coordinator, f"/releases/{Q3.label}/reopen/{slug}")

    assert response.status_code == 404, response.text
    assert _written(app) == before
