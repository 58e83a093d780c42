"""The quarter lock (app.db.quarter_lock), on SQLite and PostgreSQL: once POPS signs off
2026Q3, a contact dated in it is refused with 409 through the service, the web and the API, and
nothing is written; a contact in the next quarter, or at a charity that has not signed off, is
fine; after the coordinator reopens the quarter it is allowed again. A negative control removes
the listener and shows the same write going through, so these tests would notice it missing.

The app's clock is this module's, a Monday after both contact days, wherever the clock sweep puts
the suite's default instant (tests/support/clock.py): a contact dated in 2026Q3 is then refused
for the lock, never for being in the future.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.quarter_lock import _refuse_locked
from app.domain.errors import Conflict, QuarterLocked
from app.domain.figures.periods import Quarter
from app.domain.vocabulary import ClosureReason, ContactKind
from app.models import Case
from app.models.casework import Contact
from app.services.cases.cases import close_case
from app.services.cases.casework import add_contact
from app.services.figures.sign_offs import reopen_quarter, sign_off_quarter
from app.services.platform.audit import Origin
from tests.conftest import csrf_from
from tests.support.api_bodies import CASES, contact
from tests.support.cases import Desk
from tests.support.clock import ManualClock
from tests.support.world import World

Q3 = Quarter(2026, 3)
IN_Q3, IN_Q4 = date(2026, 9, 1), date(2026, 10, 5)
ORIGIN = Origin("test", lambda: datetime(2026, 10, 25, 9, 0, tzinfo=UTC))
# The day the worker writes: after both contact days.
TODAY = date(2026, 10, 25)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))


def _contacts(sessions: sessionmaker[Session], case_id: uuid.UUID) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(Contact).where(Contact.case_id == case_id)
        return session.scalar(query) or 0


@pytest.fixture
def world_case(world: World) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


@pytest.fixture
def signed_off(app_sessions: sessionmaker[Session], world: World) -> None:
    with app_sessions() as session:
        sign_off_quarter(
            session,
            charity_id=world.organisations["pops"],
            quarter=Q3,
            user_id=world.actors["pops_admin"].user_id,
            origin=ORIGIN,
        )
        session.commit()


@pytest.fixture
def liverpool(desk: Callable[..., Desk]) -> Desk:
    return desk("pops_liverpool").at(TODAY)


def _visit(worker: Desk, case_id: uuid.UUID, day: date) -> None:
    worker.do(add_contact, case_id, kind=ContactKind.VISIT, occurred_on=day)


def test_contact_dated_in_a_signed_off_quarter_is_refused_and_not_written(
    signed_off, liverpool, world_case, all_rows
):
    with pytest.raises(QuarterLocked) as refused:
        _visit(liverpool, world_case, IN_Q3)

    assert isinstance(refused.value, Conflict)
    assert "2026Q3" in str(refused.value)
    assert _contacts(all_rows, world_case) == 0


def test_contact_dated_in_the_next_quarter_is_written(signed_off, liverpool, world_case, all_rows):
    _visit(liverpool, world_case, IN_Q4)

    assert _contacts(all_rows, world_case) == 1


def test_charity_that_has_not_signed_off_still_writes_in_the_quarter(
    signed_off,
    desk,
    world,
    all_rows,
):
    durham = desk("nepacs_durham").at(TODAY)
    case_id = world.cases[("nepacs", "DMI")]

    _visit(durham, case_id, IN_Q3)

    assert _contacts(all_rows, case_id) == 1


def test_closing_a_case_on_a_day_in_a_signed_off_quarter_is_refused(
    signed_off,
    desk,
    world_case,
    all_rows,
):
    manager = desk("pops_manager").at(TODAY)

    with pytest.raises(QuarterLocked):
        manager.do(close_case, world_case, reason=ClosureReason.OUTCOMES_MET, closed_on=IN_Q3)

    with all_rows() as session:
        assert session.get(Case, world_case).closed_on is None  # type: ignore[union-attr]


def test_after_the_coordinator_reopens_the_quarter_the_contact_is_written(
    signed_off, liverpool, world_case, all_rows, app_sessions, world
):
    with app_sessions() as session:
        reopen_quarter(
            session,
            charity_id=world.organisations["pops"],
            quarter=Q3,
            user_id=world.actors["coordinator"].user_id,
            coordinator_org=world.organisations["alliance"],
            origin=ORIGIN,
        )
        session.commit()

    _visit(liverpool, world_case, IN_Q3)

    assert _contacts(all_rows, world_case) == 1


def test_web_contact_form_dated_in_a_signed_off_quarter_gets_409(
    signed_off, signed_in, world_case, all_rows
):
    worker: FlaskClient = signed_in("pops_liverpool")
    url = f"/cases/{world_case}/contacts/new"
    page = worker.get(url)
    form = {
        "csrf_token": csrf_from(page.text),
        "kind": "visit",
        "occurred_on-day": str(IN_Q3.day),
        "occurred_on-month": str(IN_Q3.month),
        "occurred_on-year": str(IN_Q3.year),
    }

    response = worker.post(url, data=form)

    assert response.status_code == 409
    assert _contacts(all_rows, world_case) == 0


def test_api_contact_dated_in_a_signed_off_quarter_gets_409(
    signed_off, app, bearer, world_case, all_rows
):
    response = app.test_client().post(
        f"{CASES}/{world_case}/contacts",
        json=contact(occurred_on=IN_Q3.isoformat()),
        headers=bearer("pops_liverpool"),
    )

    assert response.status_code == 409, response.text
    assert response.json["error"]["code"] == "conflict"
    assert _contacts(all_rows, world_case) == 0


@pytest.fixture
def without_lock(app_sessions: sessionmaker[Session]) -> Iterator[None]:
    event.remove(app_sessions, "before_flush", _refuse_locked)
    yield
    event.listen(app_sessions, "before_flush", _refuse_locked)


def test_negative_control_without_the_listener_the_locked_write_goes_through(
    signed_off, without_lock, liverpool, world_case, all_rows
):
    _visit(liverpool, world_case, IN_Q3)

    assert _contacts(all_rows, world_case) == 1


def test_a_flush_with_no_dated_record_never_reads_the_sign_offs(
    signed_off,
    desk,
    world_case,
    app_sessions,
):
    statements: list[str] = []
    engine = app_sessions.kw["bind"]

    def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with desk("pops_liverpool").session() as session:
            case = session.get(Case, world_case)
            assert case is not None
            case.review_due_on = IN_Q3  # undated for the lock: only opening and closing count
            session.flush()
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert any("UPDATE cases" in s for s in statements)
    assert not any("quarter_sign_offs" in s for s in statements)
