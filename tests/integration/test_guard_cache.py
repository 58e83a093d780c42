"""One engine, many contexts: the guard's criteria must never be served from another context's
cached statement (SQLAlchemy caches compiled statements per engine)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Case
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role


def test_contexts_in_turn_on_one_engine_each_see_only_their_own(app_sessions, world):
    contexts = [
        ("pops", ("LPI",)),
        ("nepacs", ("DMI",)),
        ("pops", ("WDI",)),
        ("pops", ("LPI", "WDI")),
        ("nepacs", ("DMI",)),
        ("pops", ("LPI",)),
    ]
    for slug, prisons in contexts * 2:
        context = TenantContext(world.organisations[slug], frozenset(prisons), Role.CASEWORKER)
        expected = {world.cases[(slug, code)] for code in prisons}
        with app_sessions() as session:
            bind_tenant(session, context)
            assert set(session.scalars(select(Case.id))) == expected
            assert session.scalar(select(func.count()).select_from(Case)) == len(expected)
            for case_id in world.cases.values():
                found = session.get(Case, case_id)
                assert (found is not None) == (case_id in expected)


def test_a_context_with_no_prisons_sees_nothing(app_sessions, world):
    context = TenantContext(world.organisations["pops"], frozenset(), Role.CASEWORKER)
    with app_sessions() as session:
        bind_tenant(session, context)
        assert session.scalars(select(Case.id)).all() == []
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_one_session_bound_to_contexts_in_turn_sees_only_each_ones_own(app_sessions, world):
    # The guard builds its criteria once per session and context: a rebind must rebuild them.
    contexts = [
        ("pops", ("LPI",)),
        ("nepacs", ("DMI",)),
        ("pops", ("WDI",)),
        ("pops", ("LPI", "WDI")),
        ("pops", ("LPI",)),
    ]
    with app_sessions() as session:
        for slug, prisons in contexts * 2:
            context = TenantContext(world.organisations[slug], frozenset(prisons), Role.CASEWORKER)
            expected = {world.cases[(slug, code)] for code in prisons}
            bind_tenant(session, context)
            assert set(session.scalars(select(Case.id))) == expected
            assert session.scalar(select(func.count()).select_from(Case)) == len(expected)
