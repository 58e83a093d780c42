"""``continuum releases`` on SQLite and PostgreSQL: each charity's admin signs the quarter off,
the operator builds it with a progress bar, lists it, and publishes it once; a user who is not
the charity's admin, a quarter not signed off by everyone, a quarter not over and a quarter
that is no quarter are all refused with the reason. The command line runs on the app's clock,
this module's: a Monday after 2026Q3 ended, wherever the clock sweep puts the suite's default
instant (tests/support/clock.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from app.models.releases import Release
from app.services.figures.releases import published_releases
from tests.support.clock import ManualClock

CHARITY_ADMINS = (("pops", "pops.admin"), ("nepacs", "admin"), ("pact", "admin"))
STEPS = (
    "counting the quarter's tables",
    "counting the year's tables",
    "applying disclosure control",
    "storing the draft",
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def admins(app: Flask) -> Flask:
    """The world has an admin at POPS only: NEPACS and Pact get theirs as the operator would."""
    for slug in ("nepacs", "pact"):
        made = run(
            app, "users", "create", "--org", slug, "--username", "admin", "--name", "Admin",
            "--role", "charity_admin",
        )  # fmt: skip
        assert made.exit_code == 0, made.output
    return app


def sign_off(app: Flask, slug: str, username: str, quarter: str = "2026Q3"):  # type: ignore[no-untyped-def]
    return run(
        app, "releases", "sign-off", "--charity", slug, "--quarter", quarter, "--as", username
    )


def test_admins_sign_off_and_the_operator_builds_lists_and_publishes_once(admins, app_sessions):
    for slug, username in CHARITY_ADMINS:
        signed = sign_off(admins, slug, username)
        assert signed.exit_code == 0, signed.output
        assert f"{slug}: 2026Q3 signed off by {username}" in signed.output
    again = sign_off(admins, "pops", "pops.admin")
    assert again.exit_code == 1
    assert "already signed off" in again.output

    built = run(admins, "releases", "build", "--quarter", "2026q3")
    assert built.exit_code == 0, built.output
    for step in STEPS:
        assert step in built.output
    release_id = re.search(r"draft ([0-9a-f-]{36}) \(2026Q3 revision 1\)", built.output)[1]  # type: ignore[index]
    with app_sessions() as session:
        release = session.scalars(select(Release).where(Release.quarter == "2026Q3")).one()
        cells = [
            value
            for table in json.loads(release.content)["tables"]
            for row in table["rows"]
            for value in row["values"].values()
        ]
    assert str(release.id) == release_id and release.status == "draft"
    assert f"sha256: {release.sha256}" in built.output
    shown = sum(value is not None for value in cells)
    assert f"cells: {shown} published, {len(cells) - shown} suppressed" in built.output

    listed = run(admins, "releases", "list")
    assert listed.exit_code == 0
    assert re.search(rf"{release_id}  2026Q3 r1  draft ", listed.output)

    published = run(admins, "releases", "publish", release_id)
    assert published.exit_code == 0, published.output
    assert f"published {release_id} (2026Q3 revision 1)" in published.output
    with app_sessions() as session:
        assert [r.id for r in published_releases(session)] == [release.id]
    twice = run(admins, "releases", "publish", release_id)
    assert twice.exit_code == 1
    assert "release is published" in twice.output
    listed = run(admins, "releases", "list")
    assert re.search(rf"{release_id}  2026Q3 r1  published ", listed.output)

    unexplained = run(admins, "releases", "build", "--quarter", "2026Q3")
    assert unexplained.exit_code == 2
    assert "reason" in unexplained.output
    revised = run(admins, "releases", "build", "--quarter", "2026Q3", "--reason", "a correction")
    assert revised.exit_code == 0, revised.output
    assert "(2026Q3 revision 2)" in revised.output


@pytest.mark.parametrize(
    ("slug", "username"),
    [
        ("pops", "pops.liverpool"),
        ("pops", "pops.manager"),
        ("nepacs", "pops.admin"),
        ("pops", "nobody"),
    ],
)
def test_only_the_charitys_own_admin_may_sign_it_off(admins, app_sessions, slug, username):
    refused = sign_off(admins, slug, username)
    assert refused.exit_code == 2
    assert f"{username!r} is not an admin of {slug}" in refused.output


def test_a_build_before_everyone_signed_off_names_who_has_not(admins, app_sessions):
    assert sign_off(admins, "pops", "pops.admin").exit_code == 0
    refused = run(admins, "releases", "build", "--quarter", "2026Q3")
    assert refused.exit_code == 1
    assert "not signed off yet by: nepacs, pact" in refused.output
    with app_sessions() as session:
        assert session.scalars(select(Release)).all() == []


@pytest.mark.parametrize("command", ["build", "sign-off"])
def test_a_quarter_not_over_or_not_a_quarter_is_refused_with_exit_2(admins, command):
    extra = ["--charity", "pops", "--as", "pops.admin"] if command == "sign-off" else []
    for quarter, why in (
        ("2999Q1", "2999Q1 has not ended yet"),
        ("2026Q5", "give a quarter like 2026Q3"),
    ):
        refused = run(admins, "releases", command, "--quarter", quarter, *extra)
        assert refused.exit_code == 2, refused.output
        assert f"error: quarter: {why}" in refused.output


def test_publishing_no_such_release_is_refused(admins):
    for release_id in ("not-an-id", "6f1c0d5e-0000-4000-8000-000000000000"):
        refused = run(admins, "releases", "publish", release_id)
        assert refused.exit_code == 2
        assert "no release" in refused.output
