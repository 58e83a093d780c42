"""The demo's releases (app.demo_releases), on SQLite and PostgreSQL: after `continuum demo`
every charity's admin has signed off the last two finished quarters, the coordinator has
published both, oldest first, and the ministry has an API client whose secret, kept in the
instance folder, gets a token that reads the same releases; running the demo again changes
nothing."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.demo_releases import api_client_path
from app.models import OAuthClient
from app.models.releases import QuarterSignOff, Release
from app.services.releases import current_releases
from tests.integration.test_reference_and_demo import (  # noqa: F401
    DEMO_FAMILIES,
    DEMO_TODAY,
    empty_app,
)
from tests.support.oauth import access_token, bearer_header

OPTIONS = ["demo", "--no-serve", "--families", str(DEMO_FAMILIES), "--today", str(DEMO_TODAY)]


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


def test_demo_publishes_two_quarters_and_gives_the_ministry_a_client_once(
    empty_app,  # noqa: F811
    tmp_path,
):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=OPTIONS)
    assert first.exit_code == 0, first.output
    with empty_app.extensions["continuum"].session_factory() as session:
        releases = current_releases(session)
        published = [(r.quarter, r.revision, str(r.id)) for r in releases]
        # The demo's today is 2 March 2026: the last two finished quarters.
        assert [(q, n) for q, n, _ in published] == [("2025Q4", 1), ("2025Q3", 1)]
        assert releases[1].published_at < releases[0].published_at
        # Every one of the four charities signed off each quarter.
        signed = session.execute(select(QuarterSignOff.quarter, QuarterSignOff.charity_id)).all()
        assert len(signed) == 8 and {q for q, _ in signed} == {"2025Q3", "2025Q4"}
    kept = api_client_path(tmp_path / "instance")
    assert kept.stat().st_mode & 0o077 == 0
    client = json.loads(kept.read_text())
    assert client["scope"] == "metrics:read"
    assert _state(empty_app)[2] == [client["client_id"]]

    # The client's secret works: its token reads the same two releases.
    token = access_token(empty_app, client["client_id"], client["client_secret"])
    listed = empty_app.test_client().get("/api/v1/releases", headers=bearer_header(token))
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.get_json()["items"]] == [r[2] for r in published]

    before = _state(empty_app)
    second = runner.invoke(args=OPTIONS)
    assert second.exit_code == 0, second.output
    assert _state(empty_app) == before
    assert json.loads(kept.read_text()) == client
