"""A statement built once and run again and again (issue 13: app.services.cases.family_records) keeps
its scoped form per context in the guard: each context must still see only its own rows, in
turn, on one engine, through one session and through many."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Case
from app.services.cases.family_records import Part, family_records
from tenants import guard
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role

# Built once, like the family file's statement: the guard sees the same object every time.
CASE_IDS = select(Case.id)
CASE_COUNT = select(func.count()).select_from(Case)
CONTEXTS = [
    ("pops", ("LPI",)),
    ("nepacs", ("DMI",)),
    ("pops", ("WDI",)),
    ("pops", ("LPI", "WDI")),
    ("nepacs", ("DMI",)),
    ("pops", ("LPI",)),
]


def test_a_statement_built_once_shows_each_context_in_turn_only_its_own(app_sessions, world):
    for slug, prisons in CONTEXTS * 2:
        context = TenantContext(world.organisations[slug], frozenset(prisons), Role.CASEWORKER)
        expected = {world.cases[(slug, code)] for code in prisons}
        with app_sessions() as session:
            bind_tenant(session, context)
            assert set(session.scalars(CASE_IDS)) == expected
            assert session.scalar(CASE_COUNT) == len(expected)


def test_one_session_rebound_runs_a_statement_built_once_in_its_new_context(app_sessions, world):
    with app_sessions() as session:
        for slug, prisons in CONTEXTS * 2:
            context = TenantContext(world.organisations[slug], frozenset(prisons), Role.CASEWORKER)
            bind_tenant(session, context)
            expected = {world.cases[(slug, code)] for code in prisons}
            assert set(session.scalars(CASE_IDS)) == expected


def test_the_family_records_of_a_foreign_or_other_prisons_case_are_empty(app_sessions, world):
    own = world.cases[("pops", "LPI")]
    with app_sessions() as session:
        bind_tenant(
            session,
            TenantContext(world.organisations["pops"], frozenset({"LPI"}), Role.CASEWORKER),
        )
        case = session.get_one(Case, own)
        family_id, key_worker_id = case.family_id, case.key_worker_id
        assert family_records(session, own, family_id, key_worker_id)[Part.PERSON]
    for slug, prisons in (("nepacs", ("DMI",)), ("pops", ("WDI",))):
        context = TenantContext(world.organisations[slug], frozenset(prisons), Role.CASEWORKER)
        with app_sessions() as session:
            bind_tenant(session, context)
            found = family_records(session, own, family_id, key_worker_id)
            # Staff are not case records: only a key worker named by id could come back.
            assert all(not rows for part, rows in found.items() if part != Part.STAFF)
            assert {row.u1 for row in found[Part.STAFF]} <= {key_worker_id}


def test_a_statement_keeps_a_bounded_number_of_scoped_forms(app_sessions, world):
    statement = select(Case.id)
    pops = world.organisations["pops"]
    for n in range(guard.SCOPED_PER_STATEMENT + 5):
        # Contexts differing only by prisons never seen: each a scoped form of its own.
        context = TenantContext(pops, frozenset({"LPI", f"X{n:03d}"}), Role.CASEWORKER)
        with app_sessions() as session:
            bind_tenant(session, context)
            assert set(session.scalars(statement)) == {world.cases[("pops", "LPI")]}
    assert len(guard._SCOPED[statement]) == guard.SCOPED_PER_STATEMENT
