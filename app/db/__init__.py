"""Engines and sessions: one engine per database URL, sessions that carry the walls."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.orm import InstanceState, Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from app.db.quarter_lock import install_quarter_lock
from app.domain.clock import Clock, system_clock
from app.models.base import Timestamps
from app.security.key_cache import DATA_KEY_CACHE, DataKeyCache
from tenants.guard import install_orm_guard
from tenants.postgres import install_rls_context


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-dialect settings the walls rely on."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        _create_private(database)
        if database and database != ":memory:":
            # Connections kept between checkouts (issue 13): opening one per request re-read the
            # schema and re-ran the pragmas, and closing the last one open checkpointed the
            # write-ahead log, on every request. A checkout is still one thread's alone, and
            # returns rolled back (no transaction, no write lock), as on PostgreSQL.
            kwargs.setdefault("poolclass", QueuePool)
            kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        else:
            kwargs.setdefault("poolclass", NullPool)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Rolling back on return ends any transaction-local setting; see tenants.postgres.
    kwargs.setdefault("pool_reset_on_return", "rollback")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _create_private(path: str | None) -> None:
    """The database file holds case data: readable by the service's own user only. SQLite gives
    its -wal and -shm files the same permissions."""
    if not path or path == ":memory:" or os.path.exists(path):
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_session_factory(
    engine: Engine, *, walls: bool = True, clock: Clock = system_clock
) -> sessionmaker[Session]:
    """Sessions with the application and database walls installed, whose rows' bookkeeping
    times (created, updated) are read from ``clock``, the app's.

    ``walls=False`` is for the schema owner's connection and the benchmarks' baseline.
    """
    # Every session of the factory shares its one DataKeyCache (app.security.key_cache).
    factory = sessionmaker(
        bind=engine,
        expire_on_commit=False,
        info={"on_bind": [], "clock": clock, DATA_KEY_CACHE: DataKeyCache()},
    )
    install_timestamps(factory, clock)
    if walls:
        install_orm_guard(factory)
        install_rls_context(factory)
        install_quarter_lock(factory)
    return factory


def install_timestamps(factory: sessionmaker[Session], clock: Clock) -> None:
    """Date a row's ``created_at`` and ``updated_at`` by the app's clock, not the machine's, so
    everything one request writes carries the same time (a test's clock included). A use case
    that dates a row itself (a record made for a past day) keeps its own times."""

    @event.listens_for(factory, "before_flush")
    def _stamp(session: Session, _context: Any, _instances: Any) -> None:
        now: Any = None
        for row in session.new:
            if isinstance(row, Timestamps):
                now = now or clock()
                if row.created_at is None:
                    row.created_at = now
                if row.updated_at is None:
                    row.updated_at = row.created_at
        for row in session.dirty:
            modified = isinstance(row, Timestamps) and session.is_modified(row)
            if modified and "updated_at" not in _changed(row):
                row.updated_at = now = now or clock()


def _changed(row: object) -> set[str]:
    state: InstanceState[Any] = inspect(row, raiseerr=True)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}
