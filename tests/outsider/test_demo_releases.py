"""The promise printed on every release, checked from outside on the demo's own releases, on
SQLite and PostgreSQL: no suppressed figure of any published release can be worked out, by an
outsider or by a member charity knowing its own records (DESIGN.md section 7).

The releases are built as ``continuum demo --no-serve`` builds them, on an empty database with
the demo's defaults (its detailed histories, its bulk background and four quarters published), on
the day of the test's clock (tests/support/clock.py; the clock sweep moves it, and the promise
holds on every day). A smaller demo suppresses almost every cell and gives a reader nothing to
work with; the default publishes most of them, which is also what the ministry's analyst is
promised (a trend over four quarters, most cells published). The documents are read as the ministry
reads them: through the API, with the client and secret the demo left in the instance folder.
The reader (tests/outsider/reader.py) shares no code with the product's protector.

A charity's own exact contribution to each cell is what it knows and the documents do not say:
it is counted here by the product's own counting (app.services.figures.metrics), the figures a release
is built from, so the charity readers rest on those counts being right (tests/integration/
test_metrics.py checks them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo.releases import api_client_path
from app.domain.figures.periods import Quarter, YearEnding
from app.models import Organisation
from app.services.figures.metrics import quarter_figures, year_figures
from tests.conftest import Database
from tests.outsider.reader import (
    Cell,
    Charity,
    Contradiction,
    pinned,
    read_releases,
)
from tests.outsider.records import cells_of, release_name, share
from tests.support.clock import ManualClock
from tests.support.oauth import access_token, bearer_header

# Minutes, not seconds: CI runs them always; a quick local run may leave them out with
# -m 'not end_to_end' (docs/testing.md).
pytestmark = pytest.mark.end_to_end

OUTSIDER = "an outsider"
QUARTERS = 4
# Of the cells a member service could fill (rows not marked "no member service"), the share the
# default demo publishes in every quarter: about 86-90% (bench/demo_utility.py), with a margin
# for other days of the clock sweep.
SHOWN_AT_LEAST = 0.75


@pytest.fixture
def database(empty_database: Database) -> Database:
    """As a first ``continuum demo`` finds it: not even the schema; the demo makes its own world."""
    return empty_database


def _demo(app: Flask, clock: ManualClock) -> None:
    done = app.test_cli_runner().invoke(
        args=["demo", "--no-serve", "--today", clock.today().isoformat()]
    )
    assert done.exit_code == 0, done.output


def _ministry_documents(app: Flask) -> list[dict[str, Any]]:
    """Every published release, as the demo's ministry client downloads it, oldest first."""
    path = api_client_path(app.extensions["continuum"].settings.instance_path)
    client = json.loads(path.read_text())
    headers = bearer_header(access_token(app, client["client_id"], client["client_secret"]))
    web = app.test_client()
    listed = web.get("/api/v1/releases", headers=headers)
    assert listed.status_code == 200, listed.text
    documents = []
    for item in listed.get_json()["items"]:
        got = web.get(item["links"]["document"], headers=headers)
        assert got.status_code == 200, got.text
        documents.append(json.loads(got.data))
    return sorted(documents, key=lambda d: (d["quarter"], d["revision"]))


def _shown(document: Mapping[str, Any]) -> float:
    """The share of published cells among those a member service could fill."""
    values = [
        value
        for table in document["tables"]
        for row in table["rows"]
        if not row.get("no_member_service")
        for value in row["values"].values()
    ]
    return sum(value is not None for value in values) / len(values)


def _charities(session: Session, documents: Sequence[Mapping[str, Any]]) -> list[Charity]:
    """Each member charity named by a release, with its own records of every release."""
    slugs = sorted({c["slug"] for document in documents for c in document["charities"]})
    ids = {org.slug: org.id for org in session.scalars(select(Organisation))}
    own: dict[str, dict[Cell, int]] = {slug: {} for slug in slugs}
    for document in documents:
        quarter = Quarter.parse(document["quarter"])
        parts = (quarter_figures(session, quarter), year_figures(session, YearEnding(quarter)))
        for slug in slugs:
            own[slug] |= cells_of(document, share(parts, ids[slug]))
    return [Charity(slug, own[slug]) for slug in slugs]


def _worked_out(documents: Sequence[Mapping[str, Any]], charity: Charity | None) -> list[str]:
    """What one reader pins, a line a cell; documents it cannot believe are a finding too (the
    product broke a published rule, or the reader assumes what the documents do not say)."""
    try:
        readings = pinned(read_releases(documents, charity=charity))
    except Contradiction as exc:
        return [str(exc)]
    return [
        f"{r.cell.release} {r.cell.table}[{r.cell.row or '(excluded)'}][{r.cell.column}]: "
        f"{r.pinned}"
        for r in readings
    ]


def test_no_reader_can_work_out_a_suppressed_figure_of_the_demos_releases(
    app: Flask, clock: ManualClock
) -> None:
    _demo(app, clock)
    documents = _ministry_documents(app)
    # Four quarters, one release each, most of every one published: a trend for the analyst.
    assert len({d["quarter"] for d in documents}) == len(documents) == QUARTERS
    shown = {release_name(d): round(_shown(d), 3) for d in documents}
    assert min(shown.values()) >= SHOWN_AT_LEAST, shown
    # Something suppressed in every one, or the readers below could not fail.
    suppressed = {
        release_name(d)
        for d in documents
        for table in d["tables"]
        for row in table["rows"]
        if None in row["values"].values()
    }
    assert len(suppressed) == len(documents)
    with app.extensions["continuum"].session_factory() as session:
        charities = _charities(session, documents)

    readers: list[tuple[str, Charity | None]] = [(OUTSIDER, None)]
    readers += [(charity.slug, charity) for charity in charities]
    found = {name: lines for name, charity in readers if (lines := _worked_out(documents, charity))}
    assert not found, "suppressed figures worked out:\n" + "\n".join(
        f"  {name}: {line}" for name, lines in found.items() for line in lines
    )
