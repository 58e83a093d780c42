"""Alembic environment: batch mode on SQLite, the owner's connection on PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from app.db import make_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Database-side guards that have no model counterpart (overlap exclusion, SQLite triggers).
    return not (type_ == "index" and name and name.startswith("ex_"))


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        # A batch table rebuild with foreign keys on fires ON DELETE CASCADE and loses child rows.
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    if is_sqlite:
        connection.execute(text("PRAGMA foreign_keys=ON"))
        connection.commit()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `continuum db upgrade`")
run_migrations_online()
