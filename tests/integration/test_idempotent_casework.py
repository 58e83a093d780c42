"""Notes and contacts written over the API exactly once (issue 13): a client whose answer was cut
off retries with the same ``Idempotency-Key`` and gets the first answer again, with nothing
written the second time; the same key with another body is refused naming the header; two
requests racing with one key leave one record. A key belongs to one worker on one case: another
worker's, another case's or another charity's use of the same key is a key of its own, and learns
nothing of the first record. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import InvalidInput
from app.domain.vocabulary import ContactKind
from app.migrate import downgrade, upgrade
from app.models import AuditEntry, CaseNote, Contact
from app.models.base import new_id
from app.services.cases import casework
from app.services.platform.vault import vault_for
from tests.conftest import missing_id
from tests.support import api_bodies as bodies
from tests.support.api_bodies import CASES
from tests.support.cases import TODAY, desks
from tests.support.clock import ManualClock
from tests.support.transfers import row_counts
from tests.support.world import World

HEADER = "Idempotency-Key"
# Requests released at once with one key (enough that on PostgreSQL some pass the look-up for
# an earlier row before the first commits, and so meet the unique key).
RACERS = 6
# A request that has not finished after this long is stuck (a lock never released), not slow.
JOIN_SECONDS = 120
# Two POPS workers at Liverpool (a caseworker and a manager) and a NEPACS worker at Durham.
ACTORS = ("pops_liverpool", "pops_manager", "nepacs_durham")


@dataclass(frozen=True)
class Kind:
    """One of the two writes: where it is posted, its table, its audit action, two bodies."""

    path: str
    model: Any
    action: str
    body: Callable[[], dict[str, Any]]
    other_body: Callable[[], dict[str, Any]]


KINDS = {
    "note": Kind(
        "notes",
        CaseNote,
        "note.create",
        bodies.note,
        lambda: bodies.note(body="Sam rang back: the travel grant came through."),
    ),
    "contact": Kind(
        "contacts",
        Contact,
        "contact.create",
        bodies.contact,
        lambda: bodies.contact(duration_minutes=30),
    ),
}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


@pytest.fixture
def post(app: Flask, bearer: Callable[[str], dict[str, str]]) -> Callable[..., Any]:
    """``post(actor, case_id, kind, body, key)``: one API request as one of ACTORS. Their tokens
    are made first, so that counting rows before a request counts none of them."""
    tokens = {actor: bearer(actor) for actor in ACTORS}

    def send(
        actor: str, case_id: uuid.UUID | str, kind: Kind, body: Any, key: str | None = None
    ) -> Any:
        headers = {**tokens[actor], **({HEADER: key} if key is not None else {})}
        url = f"{CASES}/{case_id}/{kind.path}"
        return app.test_client().post(url, json=body, headers=headers)

    return send


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.get_json()


def _rows_on(sessions: sessionmaker[Session], kind: Kind, case_id: uuid.UUID) -> list[Any]:
    with sessions() as session:
        return list(session.scalars(select(kind.model).where(kind.model.case_id == case_id)))


def _events(sessions: sessionmaker[Session], kind: Kind) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == kind.action)
            )
            or 0
        )


def _liverpool(world: World) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


# --- a retry answers as the first did ---------------------------------------------------------


def test_a_retry_with_the_same_key_answers_as_the_first_and_writes_nothing(
    post, world, all_rows, clock: ManualClock, kind
):
    case_id = _liverpool(world)
    first = post("pops_liverpool", case_id, kind, kind.body(), "retry-0001")
    record = _created(first)
    counts = row_counts(all_rows)
    # The retry comes later: its answer is the stored record's, not a new one dated now.
    clock.advance(timedelta(minutes=3))

    again = post("pops_liverpool", case_id, kind, kind.body(), "retry-0001")

    assert again.status_code == 201, again.text
    assert again.data == first.data
    assert row_counts(all_rows) == counts
    (row,) = _rows_on(all_rows, kind, case_id)
    assert str(row.id) == record["id"]


def test_the_same_key_with_another_body_is_refused_naming_the_header_and_writes_nothing(
    post, world, all_rows, kind
):
    case_id = _liverpool(world)
    _created(post("pops_liverpool", case_id, kind, kind.body(), "retry-0002"))
    counts = row_counts(all_rows)

    refused = post("pops_liverpool", case_id, kind, kind.other_body(), "retry-0002")

    assert refused.status_code == 422, refused.text
    assert HEADER in refused.get_json()["error"]["fields"]
    assert row_counts(all_rows) == counts


def test_without_a_key_every_post_is_a_record_of_its_own(post, world, all_rows, kind):
    case_id = _liverpool(world)
    ids = {_created(post("pops_liverpool", case_id, kind, kind.body()))["id"] for _ in range(2)}
    assert len(ids) == 2
    assert len(_rows_on(all_rows, kind, case_id)) == 2


def test_a_retry_after_the_case_closed_still_answers_as_the_first(post, app, world, bearer, kind):
    case_id = _liverpool(world)
    first = post("pops_liverpool", case_id, kind, kind.body(), "retry-0003")
    _created(first)
    closed = app.test_client().post(
        f"{CASES}/{case_id}/closure",
        json={"reason": "outcomes_met"},
        headers=bearer("pops_manager"),
    )
    assert closed.status_code == 200, closed.text

    again = post("pops_liverpool", case_id, kind, kind.body(), "retry-0003")
    assert again.status_code == 201 and again.data == first.data
    # A new write on the closed case is still refused.
    assert post("pops_liverpool", case_id, kind, kind.body(), "retry-0004").status_code == 409


# --- a key belongs to one worker on one case ------------------------------------------------


def test_another_worker_sending_the_same_key_on_the_same_case_gets_a_record_of_their_own(
    post, world, all_rows, kind
):
    case_id = _liverpool(world)
    mine = _created(post("pops_liverpool", case_id, kind, kind.body(), "shared-key-1"))
    theirs = _created(post("pops_manager", case_id, kind, kind.body(), "shared-key-1"))
    assert theirs["id"] != mine["id"]
    assert len(_rows_on(all_rows, kind, case_id)) == 2
    # Each worker's retry still finds their own record.
    again = _created(post("pops_manager", case_id, kind, kind.body(), "shared-key-1"))
    assert again == theirs


def test_the_same_key_on_another_case_is_a_record_of_its_own(post, world, all_rows, kind):
    liverpool, wakefield = _liverpool(world), world.cases[("pops", "WDI")]
    first = _created(post("pops_manager", liverpool, kind, kind.body(), "shared-key-2"))
    second = _created(post("pops_manager", wakefield, kind, kind.other_body(), "shared-key-2"))
    assert second["id"] != first["id"]
    assert len(_rows_on(all_rows, kind, liverpool)) == len(_rows_on(all_rows, kind, wakefield)) == 1


def test_another_charity_sending_the_same_key_learns_nothing_of_the_first_record(
    post, world, all_rows, kind
):
    pops_case, nepacs_case = _liverpool(world), world.cases[("nepacs", "DMI")]
    first = post("pops_liverpool", pops_case, kind, kind.body(), "shared-key-3")
    _created(first)

    # At POPS's case: the same 404 as for a case that does not exist, byte for byte.
    at_pops = post("nepacs_durham", pops_case, kind, kind.body(), "shared-key-3")
    nowhere = post("nepacs_durham", missing_id(), kind, kind.body(), "shared-key-3")
    assert at_pops.status_code == nowhere.status_code == 404
    assert at_pops.data == nowhere.data
    # At its own case: a record of its own, the key no collision with POPS's.
    own = _created(post("nepacs_durham", nepacs_case, kind, kind.body(), "shared-key-3"))
    assert own["id"] != first.get_json()["id"]
    assert len(_rows_on(all_rows, kind, pops_case)) == 1


@pytest.mark.parametrize("key", ["no spaces!", "abc", "x" * 81, ""])
def test_a_malformed_key_is_refused_naming_the_header_and_writes_nothing(
    post, world, all_rows, kind, key
):
    counts = row_counts(all_rows)
    refused = post("pops_liverpool", _liverpool(world), kind, kind.body(), key)
    assert refused.status_code == 422, refused.text
    assert HEADER in refused.get_json()["error"]["fields"]
    assert row_counts(all_rows) == counts


# --- races -----------------------------------------------------------------------------------


def test_requests_racing_with_one_key_leave_one_record_and_all_answer_alike(
    app, bearer, world, all_rows, kind
):
    case_id = _liverpool(world)
    headers = {**bearer("pops_liverpool"), HEADER: "race-0001"}
    url = f"{CASES}/{case_id}/{kind.path}"
    body = kind.body()
    barrier = threading.Barrier(RACERS)
    answers: list[Any] = []
    raised: list[BaseException] = []
    lock = threading.Lock()
    events_before = _events(all_rows, kind)

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        try:
            response = client.post(url, json=body, headers=headers)
        except BaseException as error:
            with lock:
                raised.append(error)
        else:
            with lock:
                answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"

    assert raised == []
    assert [a.status_code for a in answers] == [201] * RACERS, [a.text for a in answers]
    assert len({a.data for a in answers}) == 1
    assert len(_rows_on(all_rows, kind, case_id)) == 1
    assert _events(all_rows, kind) == events_before + 1


# The same write as a use case, with the body the API would have loaded.
SERVICE_WRITES: dict[str, tuple[Callable[..., Any], dict[str, Any], dict[str, Any]]] = {
    "note": (
        casework.add_note,
        {"body": "Talked about the visit."},
        {"body": "Talked about something else."},
    ),
    "contact": (
        casework.add_contact,
        {"kind": ContactKind.PHONE, "occurred_on": TODAY, "summary": "Travel."},
        {"kind": ContactKind.PHONE, "occurred_on": TODAY, "summary": "Travel.", "duration_minutes": 5},
    ),
}  # fmt: skip


@pytest.mark.parametrize("same_body", [True, False], ids=["same-body", "other-body"])
def test_the_loser_of_a_race_meets_the_unique_key_and_answers_with_the_winners_record(
    app, world, all_rows, kind, same_body
):
    """The loser looked for an earlier record before the winner committed, so only the database's
    unique key stops it: it rolls back and answers with the winner's record (or refuses another
    body), writing nothing."""
    name = "note" if kind.model is CaseNote else "contact"
    write, body, other = SERVICE_WRITES[name]
    desk = desks(app, world)("pops_liverpool")
    case_id = _liverpool(world)
    won: list[Any] = []

    def winner_commits_first(session: Session, *_: Any) -> None:
        # Just before the loser's insert reaches the database, the winner's whole request runs.
        if not won and any(isinstance(row, kind.model) for row in session.new):
            won.append(desk.do(write, case_id, idempotency_key="race-0002", **body))

    with desk.session() as session:
        event.listen(session, "before_flush", winner_commits_first)
        loser = (session, desk.context, desk.origin, vault_for(session, desk.root), case_id)
        if same_body:
            answered = write(*loser, idempotency_key="race-0002", **body)
            assert won and answered.id == won[0].id
        else:
            with pytest.raises(InvalidInput) as refused:
                write(*loser, idempotency_key="race-0002", **other)
            assert HEADER in refused.value.errors
    assert [row.id for row in _rows_on(all_rows, kind, case_id)] == [won[0].id]
    with all_rows() as session:
        named = session.scalars(
            select(AuditEntry.record_ids).where(AuditEntry.action == kind.action)
        )
        assert sum(str(won[0].id) in ids for ids in named) == 1


# --- the database's own guard, the migration and the document ------------------------------


def test_the_database_refuses_a_second_row_with_one_workers_key_on_one_case(world, all_rows):
    """Below the use case: the unique key (charity, case, author, key) itself."""
    case_id = _liverpool(world)
    author = world.actors["pops_liverpool"].user_id
    charity = world.organisations["pops"]

    def note(key: str) -> CaseNote:
        return CaseNote(
            id=new_id(),
            charity_id=charity,
            prison_code="LPI",
            case_id=case_id,
            body_enc=b"sealed elsewhere",
            written_at=ManualClock()(),
            written_by=author,
            idempotency_key=key,
        )

    with all_rows() as session:
        session.add_all([note("dup-key-01"), note("other-key")])
        session.commit()
        session.add(note("dup-key-01"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_keyed_records_survive_the_migration_going_down_and_up(
    post, world, settings, all_rows, kind
):
    case_id = _liverpool(world)
    record = _created(post("pops_liverpool", case_id, kind, kind.body(), "migrate-01"))
    downgrade(settings, "0012")
    upgrade(settings)
    (row,) = _rows_on(all_rows, kind, case_id)
    assert str(row.id) == record["id"] and row.idempotency_key is None


def test_the_document_offers_the_key_on_notes_and_contacts(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for kind in KINDS.values():
        parameters = paths[f"/api/v1/cases/{{case_id}}/{kind.path}"]["post"]["parameters"]
        (header,) = [p for p in parameters if p["in"] == "header"]
        assert header["name"] == HEADER and header["required"] is False
