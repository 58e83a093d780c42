"""`continuum demo` run once and copied: for tests that need the demo's data as their setup, not
the demo command as their subject.

A demo run takes 10-15 s, most of it migrating and writing the histories. The first test to ask
for a demo with given arguments runs it into a template database, on its backend and at its
clock's instant (the demo stamps what it writes by the app's clock, and without ``--today`` its
histories lead up to the clock's day); every test after that copies the database and the instance
folder the run left. The folder holds the root key the run generated and demo-credentials.json:
the copy's data keys are wrapped under that root key and unreadable without it. The fixtures are
``demo_templates`` and ``demo_copy`` in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from app import create_app
from app.extensions import limiter
from tests.conftest import (
    APP_ROLE,
    OWNER_ROLE,
    Database,
    _copy_of,
    _counter,
    _release,
    _worker,
    first_run_settings,
)
from tests.support.clock import ManualClock
from tests.support.postgres import PostgresServer


@dataclass(frozen=True)
class DemoTemplate:
    """One demo run kept to copy: its database and the instance folder it wrote."""

    database: Database
    instance: Path


@dataclass(frozen=True)
class DemoCopy:
    """A test's copy of a demo run: its own database and instance folder, and the app on them."""

    app: Flask
    database: Database
    instance: Path
    superuser_url: str  # reads and writes past every wall, as someone with the disk would


class DemoTemplates:
    """The demo runs of one test session, by backend, arguments and clock instant, made on first
    use and dropped at the end."""

    def __init__(self, tmp: Path, postgres: PostgresServer | None) -> None:
        self._tmp = tmp
        self._postgres = postgres
        self._built: dict[tuple[str, tuple[str, ...], str], DemoTemplate] = {}

    def template(self, backend: str, clock: ManualClock, args: tuple[str, ...]) -> DemoTemplate:
        """`continuum demo --no-serve ARGS` into an empty database, run on first use."""
        key = (backend, args, clock().isoformat())
        if key not in self._built:
            self._built[key] = self._run(backend, ManualClock(clock()), args)
        return self._built[key]

    def _run(self, backend: str, clock: ManualClock, args: tuple[str, ...]) -> DemoTemplate:
        folder = self._tmp / f"demo_{next(_counter)}"
        (folder / "instance").mkdir(parents=True)
        database = self._empty(backend, folder)
        app = create_app(first_run_settings(database, folder / "instance"), clock)
        storage = limiter.storage
        try:
            result = app.test_cli_runner().invoke(args=["demo", "--no-serve", *args])
            assert result.exit_code == 0, result.output
        finally:
            _release(app, storage)
        return DemoTemplate(database, folder / "instance")

    def _empty(self, backend: str, folder: Path) -> Database:
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'demo.sqlite3'}"
            return Database("sqlite", url, url)
        assert self._postgres is not None
        name = f"continuum_demo_{_worker()}_{next(_counter)}"
        with self._postgres.admin_connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        return Database(
            "postgresql",
            self._postgres.url(name, user=APP_ROLE),
            self._postgres.url(name, user=OWNER_ROLE),
            name,
        )

    @contextlib.contextmanager
    def copy(
        self, backend: str, clock: ManualClock, instance: Path, args: tuple[str, ...]
    ) -> Iterator[DemoCopy]:
        """A copy of the demo run with ``args`` (its database, and its instance folder at
        ``instance``), the app on it reading ``clock``; the database is dropped afterwards."""
        template = self.template(backend, clock, args)
        shutil.copytree(template.instance, instance)
        with contextlib.ExitStack() as stack:
            if backend == "sqlite":
                path = instance.parent / f"{instance.name}.sqlite3"
                shutil.copyfile(template.database.app_url.removeprefix("sqlite:///"), path)
                database = Database("sqlite", f"sqlite:///{path}", f"sqlite:///{path}")
                superuser_url = database.owner_url
            else:
                assert self._postgres is not None
                database = stack.enter_context(
                    _copy_of(self._postgres, template.database, "continuum_democ")
                )
                superuser_url = self._postgres.url(database.name)
            app = create_app(first_run_settings(database, instance), clock)
            storage = limiter.storage
            try:
                yield DemoCopy(app, database, instance, superuser_url)
            finally:
                _release(app, storage)

    def drop(self) -> None:
        """Drop the PostgreSQL templates (SQLite's go with the session's temporary folder)."""
        if self._postgres is None:
            return
        with self._postgres.admin_connect() as conn:
            for template in self._built.values():
                if template.database.backend == "postgresql":
                    conn.execute(f"DROP DATABASE IF EXISTS {template.database.name} WITH (FORCE)")
