"""The demo's background families (app.demo.national.seed_background), on SQLite and PostgreSQL:
``continuum demo`` writes them in bulk beside its detailed histories, through the walls, each
charity's as the allocation says; they are counted in every quarter the demo publishes; a charity
that holds them already gets no more, whatever the options, so running the demo again changes
nothing. The default size is run by tests/outsider/test_demo_releases.py; a small background
keeps this quick."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import select

from app.demo.charities import CHARITIES
from app.demo.national import background_allocation
from app.demo.releases import release_quarters
from app.models import Case, PersonInCustody, Release
from app.services.figures.metrics import quarter_figures
from app.services.platform.vault import vault_for
from tenants.guard import bind_tenant
from tests.support.demo import DEMO_TODAY, charity_context

# Minutes, not seconds: CI runs them always; a quick local run may leave them out with
# -m 'not end_to_end' (docs/testing.md).
pytestmark = pytest.mark.end_to_end

FAMILIES = 30
BACKGROUND = 400


def _demo(app: Flask, background: int) -> str:
    options = ["--families", str(FAMILIES), "--background", str(background)]
    done = app.test_cli_runner().invoke(
        args=["demo", "--no-serve", *options, "--today", str(DEMO_TODAY)]
    )
    assert done.exit_code == 0, done.output
    return done.output


def _bulk_people(app: Flask) -> Counter[str]:
    """The people in custody with a bulk family's prison number (N0000AA, ...), by charity: the
    detailed histories' numbers never start with N."""
    state = app.extensions["continuum"]
    found: Counter[str] = Counter()
    for spec in CHARITIES:
        with state.session_factory() as session:
            bind_tenant(session, charity_context(session, spec))
            vault = vault_for(session, state.root_key)
            for person in session.scalars(select(PersonInCustody)):
                number = vault.open(person, "prison_number") or ""
                found[spec.slug] += number.startswith("N")
    return found


def _state(app: Flask) -> tuple[list[str], list[tuple[str, int, str]]]:
    state = app.extensions["continuum"]
    cases: list[str] = []
    for spec in CHARITIES:
        with state.session_factory() as session:
            bind_tenant(session, charity_context(session, spec))
            cases += sorted(str(i) for i in session.scalars(select(Case.id)))
    with state.session_factory() as session:
        releases = sorted(
            (r.quarter, r.revision, r.sha256) for r in session.scalars(select(Release))
        )
    return cases, releases


def test_demo_adds_its_background_beside_the_histories_once_and_counts_it_every_quarter(
    empty_app,
):
    # Histories alone first: no bulk family anywhere.
    histories = _demo(empty_app, 0)
    assert f"added {FAMILIES} case histories in" in histories
    assert sum(_bulk_people(empty_app).values()) == 0

    # The background goes in beside them, though every charity already holds cases.
    added = _demo(empty_app, BACKGROUND)
    assert f"added {BACKGROUND:,} background families in" in added
    assert "case histories" not in added
    first = release_quarters(DEMO_TODAY)[0]
    allocation = background_allocation(BACKGROUND, DEMO_TODAY, first)
    planned = Counter[str]()
    for slug, _, _, count in allocation:
        planned[slug] += count
    assert _bulk_people(empty_app) == planned
    # Counted in each of the four quarters the demo publishes: far more families supported than
    # the histories alone could give.
    with empty_app.extensions["continuum"].session_factory() as session:
        for quarter in release_quarters(DEMO_TODAY):
            supported = sum(
                tally.count
                for (table, _, column), tally in quarter_figures(session, quarter).total().items()
                if (table, column) == ("prison_activity", "families_supported")
            )
            assert supported > BACKGROUND // 4, quarter.label

    # Again, even asking for more: a charity holding bulk families is left alone.
    before = _state(empty_app)
    again = _demo(empty_app, BACKGROUND * 2)
    assert "data reused" in again
    assert _state(empty_app) == before
    assert _bulk_people(empty_app) == planned
