"""The database wall around the rows two charities share (tenants.postgres.shared_policy_statements,
migration 0007), tried with raw SQL as the application role: the sender sees a transfer and its
steps at its own prison; the receiver only once the row is shared with it, and only at its own
prison; a third charity, another of the sender's prisons and no context see nothing; no row is
ever deleted, no step ever changed, and no row is written claiming a side the context is not.
PostgreSQL only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from app.db import make_engine
from app.domain.vocabulary import DataCategory
from app.models import CaseTransfer
from app.services import transfers
from tests.conftest import APP_ROLE
from tests.postgres.rls_checks import set_context
from tests.support.transfers import (
    RECEIVING_PRISON,
    SENDER_CASE,
    offered_transfer,
    transfer_consent,
)

pytestmark = pytest.mark.postgres_only

SHARED = ("case_transfers", "case_transfer_steps")
NOTHING: dict[str, set] = {"case_transfers": set(), "case_transfer_steps": set()}
# Contexts that are neither side of a POPS Liverpool -> NEPACS Durham transfer.
NEITHER_SIDE = {
    "pact_at_birmingham": ("pact", ("BMI",)),
    "pact_claiming_both_prisons": ("pact", ("LPI", "DMI")),
    "pops_at_wakefield": ("pops", ("WDI",)),
    "nepacs_at_another_prison": ("nepacs", ("LPI", "BMI")),
}


@pytest.fixture
def app_engine(pg_database) -> Iterator[Engine]:
    engine = make_engine(pg_database.app_url)
    yield engine
    engine.dispose()


@pytest.fixture
def proposed(pg_desk, pg_world) -> CaseTransfer:
    worker = pg_desk("pops_liverpool")
    transfer_consent(worker, pg_world, pg_world.cases[SENDER_CASE])
    return worker.do(
        transfers.propose_transfer, pg_world.cases[SENDER_CASE], to_prison_code=RECEIVING_PRISON
    )


@pytest.fixture
def offered(pg_desk, pg_world) -> CaseTransfer:
    return offered_transfer(pg_desk("pops_liverpool"), pg_world, DataCategory.IDENTITY)


def _seen(conn: Connection, slug: str | None, prisons: tuple[str, ...], world) -> dict[str, set]:
    set_context(conn, world.organisations[slug] if slug else None, prisons)
    return {
        "case_transfers": {r[0] for r in conn.execute(text("SELECT id FROM case_transfers"))},
        "case_transfer_steps": {
            r[0] for r in conn.execute(text("SELECT transfer_id FROM case_transfer_steps"))
        },
    }


def _step_states(conn: Connection, slug: str, prisons: tuple[str, ...], world) -> list[str]:
    set_context(conn, world.organisations[slug], prisons)
    return [
        r[0] for r in conn.execute(text("SELECT state FROM case_transfer_steps ORDER BY sequence"))
    ]


# --- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prisons", [("LPI",), ("LPI", "WDI")])
def test_sender_at_its_prison_sees_its_transfer_and_steps(app_engine, pg_world, offered, prisons):
    with app_engine.begin() as conn:
        seen = _seen(conn, "pops", prisons, pg_world)
        assert seen == {"case_transfers": {offered.id}, "case_transfer_steps": {offered.id}}
        assert _step_states(conn, "pops", prisons, pg_world) == ["proposed", "offered"]


def test_receiver_sees_no_row_before_the_transfer_is_shared(app_engine, pg_world, proposed):
    with app_engine.begin() as conn:
        assert _seen(conn, "nepacs", ("DMI",), pg_world) == NOTHING
        # The sender does see it: the row is there, only not the receiver's to read.
        assert _seen(conn, "pops", ("LPI",), pg_world)["case_transfers"] == {proposed.id}


def test_receiver_sees_the_row_from_the_offer_on_at_its_own_prison(app_engine, pg_world, offered):
    with app_engine.begin() as conn:
        seen = _seen(conn, "nepacs", ("DMI",), pg_world)
        assert seen == {"case_transfers": {offered.id}, "case_transfer_steps": {offered.id}}
        # The proposal step was taken before the family's consent: never shared.
        assert _step_states(conn, "nepacs", ("DMI",), pg_world) == ["offered"]


@pytest.mark.parametrize("context", NEITHER_SIDE.values(), ids=NEITHER_SIDE.keys())
def test_a_context_that_is_neither_side_sees_nothing(app_engine, pg_world, offered, context):
    slug, prisons = context
    with app_engine.begin() as conn:
        assert _seen(conn, slug, prisons, pg_world) == NOTHING


def test_no_context_sees_nothing(app_engine, pg_world, offered):
    with app_engine.begin() as conn:
        assert _seen(conn, None, ("LPI", "DMI"), pg_world) == NOTHING
    with app_engine.connect() as conn:  # a connection that never heard of the settings
        for table in SHARED:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        conn.rollback()


# --- writing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM case_transfers",
        "DELETE FROM case_transfer_steps",
        "UPDATE case_transfer_steps SET reason = reason",
        "TRUNCATE case_transfer_steps",
        "TRUNCATE case_transfers CASCADE",
    ],
)
def test_app_role_cannot_delete_transfers_or_change_steps(app_engine, pg_world, offered, statement):
    with app_engine.connect() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI",))
        with pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement))
        conn.rollback()
    with app_engine.begin() as conn:
        assert _step_states(conn, "pops", ("LPI",), pg_world) == ["proposed", "offered"]


def test_catalogue_grants_on_shared_tables_are_exactly_the_migrations(pg_database, pg_world):
    engine = make_engine(pg_database.owner_url)
    try:
        with engine.connect() as conn:
            held = {
                table: {
                    r[0]
                    for r in conn.execute(
                        text(
                            "SELECT privilege_type FROM information_schema.role_table_grants "
                            "WHERE grantee = :role AND table_name = :table"
                        ),
                        {"role": APP_ROLE, "table": table},
                    )
                }
                for table in SHARED
            }
    finally:
        engine.dispose()
    assert held == {
        "case_transfers": {"SELECT", "INSERT", "UPDATE"},
        "case_transfer_steps": {"SELECT", "INSERT"},
    }


def _sides(world, sender=("pops", "LPI"), receiver=("nepacs", "DMI"), receiver_sees=False):
    return {
        "sc": world.organisations[sender[0]],
        "sp": sender[1],
        "rc": world.organisations[receiver[0]],
        "rp": receiver[1],
        "rs": receiver_sees,
    }


def _refused(conn: Connection, statement: str, params: dict) -> bool:
    """True when the database refuses the statement, or it touches no row."""
    savepoint = conn.begin_nested()
    try:
        result = conn.execute(text(statement), params)
    except DBAPIError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return result.rowcount == 0


_NEW_TRANSFER = (
    "INSERT INTO case_transfers (id, sender_charity_id, sender_prison_code, receiver_charity_id, "
    "receiver_prison_code, receiver_sees, sender_case_id, origin, state, offer_life_days, "
    "step_count, created_at, updated_at) VALUES (:id, :sc, :sp, :rc, :rp, :rs, NULL, "
    "'receiver_request', 'requested', 14, 0, now(), now())"
)
_NEW_STEP = (
    "INSERT INTO case_transfer_steps (id, transfer_id, sequence, state, at, party, "
    "sender_charity_id, sender_prison_code, receiver_charity_id, receiver_prison_code, "
    "receiver_sees) VALUES (:id, :transfer, 99, 'cancelled', now(), 'sender', :sc, :sp, :rc, "
    ":rp, :rs)"
)

# Who claims to write a row (context), and whether the policy lets them.
CLAIMS = {
    "pops_at_liverpool_as_sender": (("pops", ("LPI",)), {}, False),
    "nepacs_at_durham_shared": (("nepacs", ("DMI",)), {"receiver_sees": True}, False),
    "pact_claiming_to_be_pops": (("pact", ("BMI",)), {}, True),
    "pact_claiming_to_be_nepacs": (("pact", ("BMI",)), {"receiver_sees": True}, True),
    "pops_wakefield_claiming_liverpool": (("pops", ("WDI",)), {}, True),
    "nepacs_before_it_is_shared": (("nepacs", ("DMI",)), {"receiver_sees": False}, True),
    "nepacs_at_another_prison": (("nepacs", ("BMI",)), {"receiver_sees": True}, True),
}


@pytest.mark.parametrize(("context", "sides", "refused"), CLAIMS.values(), ids=CLAIMS.keys())
def test_a_row_is_written_only_by_a_side_the_context_is(
    app_engine, pg_world, offered, context, sides, refused
):
    slug, prisons = context
    params = _sides(pg_world, **sides)
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations[slug], prisons)
        assert _refused(conn, _NEW_TRANSFER, {"id": uuid.uuid4(), **params}) is refused
        step = {"id": uuid.uuid4(), "transfer": offered.id, **params}
        assert _refused(conn, _NEW_STEP, step) is refused


@pytest.mark.parametrize(
    ("slug", "prison", "assignment"),
    [
        ("pops", "LPI", "sender_prison_code = 'WDI'"),
        ("pops", "LPI", "sender_charity_id = :pact"),
        ("nepacs", "DMI", "receiver_sees = false"),
        ("nepacs", "DMI", "receiver_prison_code = 'BMI'"),
        ("nepacs", "DMI", "receiver_charity_id = :pact"),
    ],
)
def test_a_side_cannot_move_a_transfer_out_of_its_own_sight(
    app_engine, pg_world, offered, slug, prison, assignment
):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations[slug], (prison,))
        # The same side may update the row in place (the services move its state).
        assert not _refused(
            conn, "UPDATE case_transfers SET state = state WHERE id = :id", {"id": offered.id}
        )
        assert _refused(
            conn,
            f"UPDATE case_transfers SET {assignment} WHERE id = :id",
            {"id": offered.id, "pact": pg_world.organisations["pact"]},
        )


@pytest.mark.parametrize("context", NEITHER_SIDE.values(), ids=NEITHER_SIDE.keys())
def test_a_context_that_is_neither_side_cannot_update_the_transfer(
    app_engine, pg_world, offered, context
):
    slug, prisons = context
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations[slug], prisons)
        assert _refused(
            conn,
            "UPDATE case_transfers SET state = 'cancelled' WHERE id = :id",
            {"id": offered.id},
        )
