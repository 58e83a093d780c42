"""The sign-off and release screens (issue 5 item 3), on SQLite and PostgreSQL: a charity admin
signs off a finished quarter once and only once; the coordinator builds a quarter only when
every charity serving in it has signed off, reviews the draft and publishes it once; a revision
needs a reason; other roles get 403; every refused step writes nothing.

The app's clock is this module's: a Monday after 2026Q3 ended, wherever the clock sweep puts
the suite's default instant (tests/support/clock.py), so 2026Q3 is a finished quarter here and
the quarter of the clock's day is not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.figures.periods import Quarter
from app.models.audit import AuditEntry
from app.models.releases import QuarterSignOff, Release, ReleaseStatus
from app.services.figures.sign_offs import sign_off_quarter
from app.services.platform.audit import Origin
from tests.conftest import csrf_from
from tests.support.clock import ManualClock
from tests.support.world import World

AFTER_Q3 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

Q3 = Quarter(2026, 3)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(AFTER_Q3)


ORIGIN = Origin("test", lambda: datetime(2026, 10, 25, 9, 0, tzinfo=UTC))
SIGNERS = {"pops": "pops_admin", "nepacs": "nepacs_manager", "pact": "pact_manager"}


def _post(client: FlaskClient, url: str, page: str, data: dict[str, str] | None = None):
    """Post a form the way a browser does: with the CSRF token of the page it came from."""
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    return client.post(url, data={**(data or {}), "csrf_token": csrf_from(shown.text)})


def _count(sessions: sessionmaker[Session], model: type, *where: object) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _events(sessions: sessionmaker[Session], action: str) -> int:
    return _count(sessions, AuditEntry, AuditEntry.action == action)


def _sign_off(sessions: sessionmaker[Session], world: World, *slugs: str) -> None:
    with sessions() as session:
        for slug in slugs:
            sign_off_quarter(
                session,
                charity_id=world.organisations[slug],
                quarter=Q3,
                user_id=world.actors[SIGNERS[slug]].user_id,
                origin=ORIGIN,
            )
        session.commit()


@pytest.fixture
def admin(signed_in: Callable[[str], FlaskClient]) -> FlaskClient:
    return signed_in("pops_admin")


@pytest.fixture
def coordinator(signed_in: Callable[[str], FlaskClient]) -> FlaskClient:
    return signed_in("coordinator")


def _build(coordinator: FlaskClient, **form: str):
    return _post(coordinator, "/releases/build", "/releases", {"quarter": Q3.label, **form})


# --- a charity admin signs off --------------------------------------------------------------


def test_charity_admin_signs_off_a_finished_quarter_and_sees_it_signed_off(
    admin, app_sessions, world
):
    before = admin.get("/figures")
    assert "Sign off 2026Q3" in before.text
    assert "records dated in the quarter are locked" in before.text.lower().replace("\n", " ")

    response = _post(admin, "/figures/2026Q3/sign-off", "/figures")

    assert response.status_code == 302 and response.location == "/figures"
    after = admin.get("/figures").text
    assert "Sign off 2026Q3" not in after and "Signed off" in after
    pops = world.organisations["pops"]
    assert _count(app_sessions, QuarterSignOff, QuarterSignOff.charity_id == pops) == 1
    assert _events(app_sessions, "quarter.sign_off") == 1


def test_charity_admin_cannot_sign_off_the_same_quarter_twice(admin, app_sessions):
    assert _post(admin, "/figures/2026Q3/sign-off", "/figures").status_code == 302

    again = _post(admin, "/figures/2026Q3/sign-off", "/figures")

    assert again.status_code == 409
    assert "govuk-error-summary" in again.text and "already signed off" in again.text
    assert _count(app_sessions, QuarterSignOff) == 1
    assert _events(app_sessions, "quarter.sign_off") == 1


def test_charity_admin_cannot_sign_off_a_quarter_not_over(admin, app_sessions, clock):
    current = Quarter.of(clock.today())

    response = _post(admin, f"/figures/{current.label}/sign-off", "/figures")

    assert response.status_code == 400
    assert f"{current.label} has not ended yet" in response.text
    assert _count(app_sessions, QuarterSignOff) == 0
    assert _events(app_sessions, "quarter.sign_off") == 0


@pytest.mark.parametrize(
    ("actor", "url"),
    [
        ("pops_liverpool", "/figures"),
        ("ministry", "/figures"),
        ("coordinator", "/figures"),
        ("pops_liverpool", "/releases"),
        ("ministry", "/releases"),
        ("pops_admin", "/releases"),
    ],
)
def test_roles_without_the_permission_get_403(signed_in, actor, url):
    assert signed_in(actor).get(url).status_code == 403


def test_caseworker_cannot_sign_off_and_nothing_is_written(signed_in, app_sessions):
    worker = signed_in("pops_liverpool")

    response = _post(worker, "/figures/2026Q3/sign-off", "/account")

    assert response.status_code == 403
    assert _count(app_sessions, QuarterSignOff) == 0


# --- the coordinator builds, reviews and publishes --------------------------------------------


def test_coordinator_cannot_build_until_every_charity_signed_off(coordinator, app_sessions, world):
    _sign_off(app_sessions, world, "pops")

    response = _build(coordinator)

    assert response.status_code == 409
    summary = response.text[response.text.index("govuk-error-summary") :]
    assert "NEPACS" in summary and "Pact" in summary
    assert _count(app_sessions, Release) == 0
    assert _events(app_sessions, "release.build") == 0


def test_coordinator_builds_reviews_and_publishes_a_quarter(
    coordinator,
    app_sessions,
    world,
    seeded,
):
    _sign_off(app_sessions, world, "pops", "nepacs", "pact")
    listed = coordinator.get("/releases").text
    assert listed.count("Signed off") >= 3

    built = _build(coordinator)

    assert built.status_code == 302
    release_id = uuid.UUID(built.location.rsplit("/", 1)[1])
    with app_sessions() as session:
        release = session.get(Release, release_id)
        assert release is not None and release.status == ReleaseStatus.DRAFT
        sha256 = release.sha256
    review = coordinator.get(f"/releases/{release_id}")
    assert review.status_code == 200
    assert sha256 in review.text and "Draft" in review.text
    assert "suppressed" in review.text and "Publish" in review.text
    assert _events(app_sessions, "release.build") >= 1

    published = _post(coordinator, f"/releases/{release_id}/publish", f"/releases/{release_id}")

    assert published.status_code == 302
    with app_sessions() as session:
        release = session.get(Release, release_id)
        assert release is not None and release.status == ReleaseStatus.PUBLISHED
    assert _events(app_sessions, "release.publish") == 1

    again = _post(coordinator, f"/releases/{release_id}/publish", f"/releases/{release_id}")
    assert again.status_code == 409 and "govuk-error-summary" in again.text
    assert _events(app_sessions, "release.publish") == 1

    revision = _build(coordinator)
    assert revision.status_code == 400
    assert 'href="#reason"' in revision.text
    assert _count(app_sessions, Release) == 1

    revised = _build(coordinator, reason="NEPACS corrected a contact's date")
    assert revised.status_code == 302
    assert _count(app_sessions, Release, Release.revision == 2) == 1


def test_coordinator_discards_a_draft_and_cannot_publish_it_afterwards(
    coordinator, app_sessions, world
):
    _sign_off(app_sessions, world, "pops", "nepacs", "pact")
    built = _build(coordinator)
    assert built.status_code == 302
    page = built.location

    discarded = _post(coordinator, f"{page}/discard", page)
    refused = _post(coordinator, f"{page}/publish", page)

    assert discarded.status_code == 302 and refused.status_code == 409
    assert _count(app_sessions, Release, Release.status == ReleaseStatus.PUBLISHED) == 0


def test_coordinator_reopens_a_charity_quarter(coordinator, app_sessions, world):
    _sign_off(app_sessions, world, "pops")

    response = _post(coordinator, "/releases/2026Q3/reopen/pops", "/releases")

    assert response.status_code == 302
    assert _events(app_sessions, "quarter.reopen") == 2
    assert _post(coordinator, "/releases/2026Q3/reopen/pops", "/releases").status_code == 409


def test_missing_release_is_404(coordinator):
    assert coordinator.get(f"/releases/{uuid.uuid4()}").status_code == 404
