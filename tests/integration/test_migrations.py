"""Migrations: the head matches the models, and every step goes up and down, with data present,
on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from app.db import make_engine
from app.migrate import alembic_config, downgrade, upgrade
from app.models import Base, Case, Organisation, Prison, User


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"compare_type": True, "include_object": _ignore_database_only_guards},
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _ignore_database_only_guards(obj, name, type_, reflected, compare_to):
    return not (type_ == "index" and name and name.startswith("ex_"))


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            return {
                name: conn.execute(select(func.count()).select_from(text(name))).scalar()
                for name in ("prisons", "organisations", "services", "users", "user_prisons")
                if name in tables
            }
    finally:
        engine.dispose()


def test_head_matches_the_models(database, world):
    assert _diff(database.owner_url) == []


def test_every_revision_goes_down_and_up_again_with_data_present(database, world, settings):
    script = ScriptDirectory.from_config(alembic_config(settings))
    revisions = [rev.revision for rev in script.walk_revisions()]  # head first
    before = _counts(database.owner_url)
    assert before["users"] > 0 and before["prisons"] > 100
    for revision in revisions:
        target = script.get_revision(revision).down_revision or "base"
        downgrade(settings, target)
        upgrade(settings, revision)
        if target != "base":
            # A step that keeps its tables must keep their rows.
            assert _counts(database.owner_url) == before
    upgrade(settings)
    assert _diff(database.owner_url) == []


def test_full_downgrade_then_upgrade_leaves_a_working_schema(database, world, settings, make_app):
    downgrade(settings, "base")
    engine = make_engine(database.owner_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(settings)
    assert _diff(database.owner_url) == []
    # The rebuilt schema takes data again through the application's own paths.
    from app.services.platform.reference import ensure_organisation, load_prisons
    from tenants.permissions import OrganisationKind

    app = make_app()
    owner = make_engine(database.owner_url)
    try:
        from sqlalchemy.orm import Session

        with Session(owner) as session:
            load_prisons(session)
            ensure_organisation(session, "pops", "POPS", OrganisationKind.CHARITY)
            session.commit()
            assert session.scalar(select(func.count()).select_from(Prison)) > 100
    finally:
        owner.dispose()
    with app.extensions["continuum"].session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1
        assert session.scalar(select(func.count()).select_from(User)) == 0
    assert Case.__tablename__ == "cases"
