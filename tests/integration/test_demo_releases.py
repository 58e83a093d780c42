"""The demo's releases (app.demo.releases), on SQLite and PostgreSQL: after `continuum demo`
every charity's admin has signed off the last four finished quarters, the coordinator has
published all four, oldest first, and the ministry has an API client whose secret, kept in the
instance folder, gets a token that reads the same releases; running the demo again changes
nothing. The background families are left out (``--background 0``): what they add to the
figures is tested in test_demo_background, and the default demo's releases in
tests/outsider/test_demo_releases.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.demo.releases import api_client_path
from app.models import OAuthClient
from app.models.releases import QuarterSignOff, Release
from app.services.figures.releases import current_releases
from tests.support.demo import DEMO_FAMILIES, DEMO_TODAY
from tests.support.oauth import access_token, bearer_header

# Minutes, not seconds: CI runs them always; a quick local run may leave them out with
# -m 'not end_to_end' (docs/testing.md).
pytestmark = pytest.mark.end_to_end

OPTIONS = [
    "demo",
    "--no-serve",
    "--families",
    str(DEMO_FAMILIES),
    "--background",
    "0",
    "--today",
    str(DEMO_TODAY),
]
QUARTERS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]


def _state(app) -> tuple:  # type: ignore[no-untyped-def]
    with app.extensions["continuum"].session_factory() as session:
        return (
            sorted(
                (r.quarter, r.revision, r.status, r.sha256)
                for r in session.scalars(select(Release))
            ),
            session.scalar(select(func.count()).select_from(QuarterSignOff)),
            sorted(str(c.id) for c in session.scalars(select(OAuthClient))),
        )


def test_demo_publishes_four_quarters_oldest_first_and_gives_the_ministry_a_client_once(
    empty_app,
    tmp_path,
):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=OPTIONS)
    assert first.exit_code == 0, first.output
    with empty_app.extensions["continuum"].session_factory() as session:
        releases = current_releases(session)
        published = [(r.quarter, r.revision, str(r.id)) for r in releases]
        # The demo's today is 2 March 2026: the last four finished quarters, newest listed first.
        assert [(q, n) for q, n, _ in published] == [(q, 1) for q in reversed(QUARTERS)]
        # Published oldest first: each release is audited against the ones before it.
        moments = [r.published_at for r in reversed(releases)]
        assert moments == sorted(moments) and len(set(moments)) == len(QUARTERS)
        # Every one of the four charities signed off each quarter.
        signed = session.execute(select(QuarterSignOff.quarter, QuarterSignOff.charity_id)).all()
        assert len(signed) == 16 and {q for q, _ in signed} == set(QUARTERS)
    kept = api_client_path(tmp_path / "instance")
    assert kept.stat().st_mode & 0o077 == 0
    client = json.loads(kept.read_text())
    assert client["scope"] == "metrics:read"
    assert _state(empty_app)[2] == [client["client_id"]]

    # The client's secret works: its token reads the same four releases.
    token = access_token(empty_app, client["client_id"], client["client_secret"])
    listed = empty_app.test_client().get("/api/v1/releases", headers=bearer_header(token))
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.get_json()["items"]] == [r[2] for r in published]

    before = _state(empty_app)
    second = runner.invoke(args=OPTIONS)
    assert second.exit_code == 0, second.output
    assert _state(empty_app) == before
    assert json.loads(kept.read_text()) == client
