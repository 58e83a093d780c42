"""SQLite engines keep their connections between checkouts (issue 13): opening one per request
re-read the schema, re-ran the pragmas and, when it was the last one open, checkpointed the
write-ahead log on close, all on every request. Threads still never share a connection, and a
connection comes back with nothing left open on it."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from app.db import make_engine


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'engine.sqlite3'}"


def test_a_sqlite_engine_reuses_its_connection_with_its_pragmas(tmp_path):
    engine = make_engine(_url(tmp_path))
    try:
        with engine.connect() as first:
            opened = first.connection.driver_connection
        with engine.connect() as second:
            assert second.connection.driver_connection is opened
            assert second.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert second.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert second.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_threads_at_once_each_have_a_connection_of_their_own(tmp_path):
    engine = make_engine(_url(tmp_path))
    together = threading.Barrier(4)
    seen: list[int] = []
    lock = threading.Lock()

    def hold() -> None:
        with engine.connect() as connection:
            with lock:
                seen.append(id(connection.connection.driver_connection))
            together.wait(timeout=30)

    try:
        threads = [threading.Thread(target=hold) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(set(seen)) == 4
    finally:
        engine.dispose()


def test_a_connection_comes_back_with_no_transaction_and_no_write_lock(tmp_path):
    engine = make_engine(_url(tmp_path))
    other = make_engine(_url(tmp_path))
    try:
        with engine.begin() as setup:
            setup.execute(text("CREATE TABLE notes (body TEXT)"))
        with engine.connect() as writer:
            writer.exec_driver_sql("BEGIN IMMEDIATE")
            writer.execute(text("INSERT INTO notes VALUES ('never committed')"))
            # Returned mid-transaction, holding the database's write lock.
        with engine.connect() as again:
            assert not again.connection.driver_connection.in_transaction
            assert again.execute(text("SELECT count(*) FROM notes")).scalar() == 0
        with other.begin() as elsewhere:
            elsewhere.execute(text("INSERT INTO notes VALUES ('written')"))
    finally:
        engine.dispose()
        other.dispose()
