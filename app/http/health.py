"""The load balancer's two questions, answered in front of the app (docs/production.md).

``/healthz``: is the process up? ``/readyz``: can it serve, that is, does the database answer
and hold the migrations this code was written for? Each answer is a status and two words; what
went wrong goes to the operator's log, never to the caller (no version, no error text, no
database name).

They are answered here, at the WSGI layer, before Flask: no session is read or set, no sign-in
is asked for, no rate limit counts a probe, nothing is audited. Only these two exact paths are
taken; every other request goes on to the app and its deny-by-default gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

LIVENESS = "/healthz"
READINESS = "/readyz"
# Both paths, for the access log: answered here, they reach no Flask route to name.
PROBES = (LIVENESS, READINESS)
METHODS = ("GET", "HEAD")

_VERSION = "SELECT version_num FROM alembic_version"

# Every table and column of the models, read from the catalogue in one statement (any role may).
_COLUMNS = {
    "sqlite": (
        "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p"
        " WHERE m.type = 'table'"
    ),
    "postgresql": (
        "SELECT c.relname, a.attname FROM pg_catalog.pg_class AS c"
        " JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid"
        " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')"
        " AND a.attnum > 0 AND NOT a.attisdropped"
    ),
}
_INDEXES = {
    "sqlite": "SELECT name, name FROM sqlite_master WHERE type = 'index'",
    "postgresql": (
        "SELECT relname, relname FROM pg_catalog.pg_class"
        " WHERE relnamespace = current_schema()::regnamespace AND relkind = 'i'"
    ),
}


class MigrationsAtHead:
    """Whether the database answers and its migrations are at this code's head.

    Alembic's own record, ``alembic_version``, is read (the app role may read it from migration
    0012 on) and compared with the head of this code's migrations:

    - the head: ready;
    - a revision this code knows, before its head, or no record it can read (a fresh database,
      or one from before 0012): behind, not ready; ``continuum db upgrade`` is the answer;
    - a revision this code does not know: the database is ahead, migrated by a newer release
      during a deploy. It is ready if it still holds every table, column and index of this
      code's models (a migration that only adds), so the old servers stay in the pool until the
      new ones are ready (docs/production.md, "What at head means").

    tests/integration/test_health.py walks every revision down and finds each one not ready.
    """

    def __init__(self, engine: Engine, migrations: Path) -> None:
        self._engine = engine
        self._migrations = migrations
        self._script: tuple[str, frozenset[str]] | None = None
        self._expected: tuple[frozenset[tuple[str, str]], frozenset[str]] | None = None

    def __call__(self) -> bool:
        head, known = self._script or self._read_script()
        try:
            with self._engine.connect() as conn:
                try:
                    found = {str(v) for (v,) in conn.execute(text(_VERSION))}
                except SQLAlchemyError as exc:
                    logger.warning(
                        "readyz: the database's revision cannot be read (%s): it is behind this"
                        " code or empty; run `continuum db upgrade`",
                        type(exc).__name__,
                    )
                    return False
                if found == {head}:
                    return True
                if not found or found & known:
                    logger.warning(
                        "readyz: the database is behind this code; run `continuum db upgrade`"
                    )
                    return False
                missing = self._missing(conn)
        except SQLAlchemyError as exc:
            # The class alone: the driver's message names the host, the port and the role.
            logger.warning("readyz: the database did not answer (%s)", type(exc).__name__)
            return False
        if missing:
            logger.warning(
                "readyz: the database is at a revision this code does not know and lacks"
                " %d of its columns or indexes",
                missing,
            )
            return False
        return True

    def _read_script(self) -> tuple[str, frozenset[str]]:
        script = ScriptDirectory(str(self._migrations))
        head = script.get_current_head()
        if head is None:
            raise RuntimeError(f"no migrations in {self._migrations}")
        self._script = (head, frozenset(r.revision for r in script.walk_revisions()))
        return self._script

    def _missing(self, conn: Connection) -> int:
        """How many of the models' columns and indexes the database lacks."""
        columns, indexes = self._expected or self._from_models()
        dialect = self._engine.dialect.name
        found = {(str(t), str(c)) for t, c in conn.execute(text(_COLUMNS[dialect]))}
        named = {str(name) for name, _ in conn.execute(text(_INDEXES[dialect]))}
        return len(columns - found) + len(indexes - named)

    def _from_models(self) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
        from app.models import Base

        tables = Base.metadata.sorted_tables
        columns = frozenset((table.name, column.name) for table in tables for column in table.c)
        indexes = frozenset(
            str(index.name) for table in tables for index in table.indexes if index.name
        )
        self._expected = (columns, indexes)
        return self._expected


class HealthChecks:
    """WSGI middleware: the two probes, then everything else to ``app``."""

    def __init__(self, app: WSGIApplication, ready: Callable[[], bool]) -> None:
        self._app = app
        self._ready = ready

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in PROBES:
            return self._app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in METHODS:
            return _answer(start_response, "405 Method Not Allowed", b"", method, allow=True)
        if path == LIVENESS or self._ready():
            return _answer(start_response, "200 OK", b"ok", method)
        return _answer(start_response, "503 Service Unavailable", b"not ready", method)


def _answer(
    start_response: StartResponse, status: str, body: bytes, method: str, *, allow: bool = False
) -> Iterable[bytes]:
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        # A cached "ok" would hide an outage from the next probe.
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if allow:
        headers.append(("Allow", ", ".join(METHODS)))
    start_response(status, headers)
    return [b""] if method == "HEAD" else [body]
