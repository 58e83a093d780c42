"""Fixtures: every data test runs on SQLite and on a real, throwaway PostgreSQL.

Each backend gets a template database (migrated, with the shared world built in it) once per
test session; every test gets its own copy, so tests never see each other's writes.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.db import make_engine, make_session_factory
from app.extensions import limiter
from app.migrate import upgrade
from app.security import totp
from app.security.keyring import LocalRootKey
from app.security.sealing import Sealer
from config import Settings, load_settings
from tenants.postgres import reader_role_for
from tests.support.api_desk import ApiDesk
from tests.support.cases import Desk, desks, desks_on
from tests.support.clock import ManualClock
from tests.support.figures import Seeded, seed, seeded_charities
from tests.support.isolation import Transfers, two_transfers_from_liverpool
from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    postgres_required,
    start_postgres,
)

# A throwaway Redis, started as PostgreSQL is, for the shared rate-limit store (fixtures there).
from tests.support.redis import redis_server, redis_url  # noqa: F401
from tests.support.release_steps import MORE_AT_LIVERPOOL, Releases, more_families
from tests.support.transfers import SENDER_CASE
from tests.support.worked_family import WorkedFamily, work_family
from tests.support.world import PASSWORD, World, build_world

if TYPE_CHECKING:
    from tests.support.demo_template import DemoCopy, DemoTemplates

# CI runs property tests derandomized, so a red build is reproducible from its log.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

SECRET_KEY = "test-secret-key-not-used-anywhere-else-" + "x" * 16
APP_ROLE = "continuum_app"
OWNER_ROLE = "continuum_owner"
READER_ROLE = reader_role_for(APP_ROLE)
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Database:
    """One test's own database: the app's URL and the schema owner's URL."""

    backend: str
    app_url: str
    owner_url: str
    name: str = ""


# One root key per test process: the templates' data keys are wrapped under it, and every test's
# app (each with its own instance folder) must unwrap them.
_ROOT_KEY_DIR = Path(tempfile.mkdtemp(prefix="continuum-test-keys-"))
atexit.register(shutil.rmtree, _ROOT_KEY_DIR, ignore_errors=True)
ROOT_KEY_FILE = _ROOT_KEY_DIR / "root.key"


def _settings(tmp: Path, database: Database, **overrides: object) -> Settings:
    options: dict[str, object] = {"root_key_file": str(ROOT_KEY_FILE), **overrides}
    return load_settings(
        environ={},
        instance_path=tmp,
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        secret_key=SECRET_KEY,
        testing=True,
        **options,
    )


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here and could not start: {exc.reason}")
        yield None
        return
    with server.admin_connect() as conn:
        for role, options in (
            (OWNER_ROLE, "LOGIN NOSUPERUSER"),
            (APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            (READER_ROLE, "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists is None:
                conn.execute(f"CREATE ROLE {role} {options}")
        # The app role switches to the readers' role for the ministry and the alliance.
        conn.execute(f"GRANT {READER_ROLE} TO {APP_ROLE}")
    yield server
    server.stop()


def _worker() -> str:
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


# Negative controls (tests/integration/test_negative_controls.py) rerun parts of this suite in a
# subprocess with one wall taken down, to show the tests notice. Never set outside that subprocess.
NEGATIVE_CONTROL = frozenset(
    filter(None, os.environ.get("CONTINUUM_NEGATIVE_CONTROL", "").split(","))
)


def _take_down_rules() -> None:
    """The controls that take down a pure rule: for tests with no app too."""
    if "release_relations" in NEGATIVE_CONTROL:
        from app.domain.figures.disclosure import model as disclosure_model
        from app.domain.figures.release import draft as release_draft

        # Cut the protector back to declared sums: the definitions' relations are gone.
        release_draft._relations = lambda *_args: ((), disclosure_model.Relations())


_take_down_rules()


def _take_down_walls(app: Flask) -> None:
    if "orm_guard" in NEGATIVE_CONTROL:
        from sqlalchemy.orm import sessionmaker as _sessionmaker

        from app.extensions import Continuum
        from tenants.postgres import install_rls_context

        state = app.extensions["continuum"]
        factory = _sessionmaker(bind=state.engine, expire_on_commit=False, info={"on_bind": []})
        install_rls_context(factory)
        app.extensions["continuum"] = Continuum(
            state.settings, state.engine, factory, state.totp_sealer, state.root_key
        )
    if "receiver_sees" in NEGATIVE_CONTROL:
        import tenants.guard

        tenants.guard.shared_rows = _shared_rows_without_receiver_sees
    if "server_sessions" in NEGATIVE_CONTROL:
        from app.services.accounts import accounts

        # Every session the cookie names counts as open: only the cookie and the epoch remain.
        accounts.web_session_is_live = lambda *_args: True
    if "sqlite_append_lock" in NEGATIVE_CONTROL:
        from app.services.platform import audit

        # Appends on SQLite read the chain's last event without holding the write lock.
        audit._hold_sqlite_write_lock = lambda _connection: None
    if "revision_links" in NEGATIVE_CONTROL:
        from app.services.figures import releases

        # A revision's figures are new quantities again, tied to nothing it revises.
        releases.link_revision = lambda draft, *_args: draft
    if "consent_gate" in NEGATIVE_CONTROL:
        from app.services.transfers import terms

        # Every step that asks the gate (offer, accept, halt, a proposal's wait for consent)
        # looks it up here, as terms.consent_gate: opening it once opens it everywhere.
        if not getattr(terms.consent_gate, "forced_open", False):
            terms.consent_gate = _forced_open(terms.consent_gate)


def _shared_rows_without_receiver_sees(charity_id: uuid.UUID, prisons: list[str]) -> Any:
    """tenants.guard.shared_rows with the receiver's ``receiver_sees`` condition taken out."""
    return lambda cls: (
        ((cls.sender_charity_id == charity_id) & cls.sender_prison_code.in_(prisons))
        | ((cls.receiver_charity_id == charity_id) & cls.receiver_prison_code.in_(prisons))
    )


def _forced_open(consent_gate: Callable[..., Any]) -> Callable[..., Any]:
    """app.services.transfers.terms.consent_gate made to let everything through: open, every case
    category, every child, whatever the family's consents say."""
    from app.domain.transfers.consent_gate import CASE_CATEGORIES, Gate
    from app.services.transfers.package import people_of

    class OpenGate(Gate):
        @property
        def open(self) -> bool:
            return True

        def keeps(self, consent_ids: Any, case_categories: Any) -> bool:
            return True

    def gate(session: Session, case: Any, receiver: uuid.UUID, on: Any) -> Gate:
        real = consent_gate(session, case, receiver, on)
        children = frozenset(p.key for p in people_of(session, case) if p.is_child)
        return OpenGate(real.consents, CASE_CATEGORIES, children)

    gate.forced_open = True  # type: ignore[attr-defined]
    return gate


def _drop_policies(postgres: PostgresServer, name: str) -> None:
    if "rls_policies" not in NEGATIVE_CONTROL:
        return
    from app.models import Base
    from tenants.model import is_tenant_table
    from tenants.postgres import drop_policy_statements

    with postgres.admin_connect(name) as conn:
        for table in Base.metadata.sorted_tables:
            if is_tenant_table(table):
                for statement in drop_policy_statements(table.name):
                    conn.execute(statement)


@dataclass
class Template:
    database: Database
    world: World


def _build_template(tmp: Path, database: Database) -> World:
    settings = _settings(tmp, database)
    upgrade(settings)
    owner_engine = make_engine(database.owner_url)
    app_engine = make_engine(database.app_url)
    try:
        world = build_world(
            make_session_factory(owner_engine, walls=False),
            make_session_factory(app_engine),
            Sealer(SECRET_KEY, "totp"),
            LocalRootKey.from_file(ROOT_KEY_FILE),
        )
    finally:
        owner_engine.dispose()
        app_engine.dispose()
    return world


@pytest.fixture(scope="session")
def templates(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer | None
) -> dict[str, Template]:
    built: dict[str, Template] = {}
    tmp = tmp_path_factory.mktemp("templates")
    sqlite_file = tmp / "template.sqlite3"
    sqlite = Database("sqlite", f"sqlite:///{sqlite_file}", f"sqlite:///{sqlite_file}")
    built["sqlite"] = Template(sqlite, _build_template(tmp, sqlite))
    if postgres is not None:
        name = f"continuum_tpl_{_worker()}"
        with postgres.admin_connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        pg = Database(
            "postgresql",
            postgres.url(name, user=APP_ROLE),
            postgres.url(name, user=OWNER_ROLE),
            name,
        )
        built["postgresql"] = Template(pg, _build_template(tmp, pg))
    return built


_counter = itertools.count()

# A test's database is copied file by file rather than page by page through the WAL (PostgreSQL
# 15's default): for a database this small, on a throwaway cluster without fsync, the copy and
# its drop take about half as long (measured with bench-like loops of 10 copies of a 60-table
# template: 0.09-0.19 s against 0.14-0.59 s each, and 0.05 s against 0.09 s to drop).
# PostgreSQL 15 is the first to offer the choice; an older server named by the environment copies
# its one way.
FILE_COPY_SINCE = 150000


def _copy_strategy(conn: Any) -> str:
    return "STRATEGY FILE_COPY" if conn.info.server_version >= FILE_COPY_SINCE else ""


def _pg_copy(postgres: PostgresServer, template: Database, name: str) -> Database:
    """A PostgreSQL database ``name`` copied from ``template``, with the walls a negative control
    takes down taken down in it too."""
    with postgres.admin_connect() as conn:
        strategy = _copy_strategy(conn)
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE {template.name} OWNER {OWNER_ROLE} {strategy}"
        )
    _drop_policies(postgres, name)
    return Database(
        "postgresql", postgres.url(name, user=APP_ROLE), postgres.url(name, user=OWNER_ROLE), name
    )


@contextlib.contextmanager
def _copy_of(
    postgres: PostgresServer, template: Database, prefix: str = "continuum_t"
) -> Iterator[Database]:
    """A fresh PostgreSQL database copied from the template, dropped afterwards."""
    name = f"{prefix}_{_worker()}_{next(_counter)}"
    try:
        yield _pg_copy(postgres, template, name)
    finally:
        with postgres.admin_connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _release(app: Flask, limit_store: object) -> None:
    """Let go of an app the tests made: its connections, and its in-memory rate-limit store's
    pending expiry timer. That 10 ms timer is a non-daemon thread; under the clock sweep's
    libfaketime a timed wait on the faked monotonic clock lasts as long as the fake offset
    (hours), which kept pytest from exiting after its summary, and a negative control's inner
    run (test_negative_controls.py) then timed out. Cancelling it is what a server's shutdown
    would do."""
    app.extensions["continuum"].engine.dispose()
    timer = getattr(limit_store, "timer", None)
    if timer is not None:
        timer.cancel()


def first_run_settings(database: Database, instance: Path) -> Settings:
    """The settings of a first `continuum demo`: no environment, and the root key generated in
    the instance folder on first run, as for someone trying the demo."""
    return load_settings(
        environ={},
        instance_path=instance,
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        secret_key=SECRET_KEY,
        testing=True,
    )


@dataclass
class SeededTemplates:
    """The figures' families (tests/support/figures.py) written once per backend and clock into
    a copy of the template, which tests that ask for ``seeded`` copy instead: ~190 tests used to
    run the same use cases each."""

    tmp: Path
    built: dict[tuple[str, str], Database]


@pytest.fixture(scope="session")
def seeded_templates(tmp_path_factory: pytest.TempPathFactory) -> SeededTemplates:
    return SeededTemplates(tmp_path_factory.mktemp("seeded"), {})


def _seeded_template(
    request: pytest.FixtureRequest, template: Template, postgres: PostgresServer | None
) -> Database:
    """The template with the figures' families in it, built on first use. Keyed by the test's
    clock too: the app stamps what it writes by that clock, so a module that starts its clock
    elsewhere gets families written at its own time, as it did when each test wrote them."""
    clock: ManualClock = request.getfixturevalue("clock")
    cache: SeededTemplates = request.getfixturevalue("seeded_templates")
    key = (template.database.backend, clock().isoformat())
    if key in cache.built:
        return cache.built[key]
    number = next(_counter)
    if template.database.backend == "sqlite":
        path = cache.tmp / f"seeded_{number}.sqlite3"
        shutil.copyfile(template.database.app_url.removeprefix("sqlite:///"), path)
        built = Database("sqlite", f"sqlite:///{path}", f"sqlite:///{path}")
    else:
        assert postgres is not None
        built = _pg_copy(postgres, template.database, f"continuum_seeded_{_worker()}_{number}")
    app = create_app(_settings(cache.tmp / f"instance_{number}", built), clock)
    limit_store = limiter.storage
    _take_down_walls(app)
    try:
        seed(desks(app, template.world), template.world)
    finally:
        _release(app, limit_store)
    cache.built[key] = built
    return built


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database(
    request: pytest.FixtureRequest,
    backend: str,
    templates: dict[str, Template],
    postgres: PostgresServer | None,
    tmp_path: Path,
) -> Iterator[Database]:
    if backend == "postgresql" and "postgresql" not in templates:
        pytest.skip(
            "PostgreSQL is not available (set CONTINUUM_REQUIRE_POSTGRES=1 to fail instead)"
        )
    template = templates[backend].database
    if "seeded" in request.fixturenames:
        template = _seeded_template(request, templates[backend], postgres)
    if backend == "sqlite":
        copy = tmp_path / "test.sqlite3"
        shutil.copyfile(template.app_url.removeprefix("sqlite:///"), copy)
        yield Database("sqlite", f"sqlite:///{copy}", f"sqlite:///{copy}")
        return
    assert postgres is not None
    with _copy_of(postgres, template) as copy:
        yield copy


@pytest.fixture
def pg_database(
    templates: dict[str, Template], postgres: PostgresServer | None, tmp_path: Path
) -> Iterator[Database]:
    """A PostgreSQL-only test's database (row-level security, roles, catalogue)."""
    if postgres is None:
        pytest.skip(
            "PostgreSQL is not available (set CONTINUUM_REQUIRE_POSTGRES=1 to fail instead)"
        )
    with _copy_of(postgres, templates["postgresql"].database) as copy:
        yield copy


@pytest.fixture
def world(database: Database, templates: dict[str, Template]) -> World:
    return templates[database.backend].world


@pytest.fixture
def pg_world(pg_database: Database, templates: dict[str, Template]) -> World:
    return templates["postgresql"].world


@pytest.fixture
def pg_desk(pg_database: Database, pg_world: World) -> Iterator[Callable[[str], Desk]]:
    """A PostgreSQL-only test's desks: the world's actors working as the application role, with
    no app, each dated TODAY, the test clock's day (tests/support/cases.py)."""
    engine = make_engine(pg_database.app_url)
    yield desks_on(make_session_factory(engine), LocalRootKey.from_file(ROOT_KEY_FILE), pg_world)
    engine.dispose()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return _settings(tmp_path, database)


@pytest.fixture
def clock() -> ManualClock:
    """The test's one clock (tests/support/clock.py): every app the test makes reads it, as do
    its desks; a module overrides this fixture to start elsewhere."""
    return ManualClock()


@pytest.fixture
def make_app(
    database: Database, tmp_path: Path, clock: ManualClock
) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []
    limit_stores: list[object] = []

    def factory(**overrides: object) -> Flask:
        app = create_app(_settings(tmp_path, database, **overrides), clock)
        _take_down_walls(app)
        apps.append(app)
        limit_stores.append(limiter.storage)
        return app

    yield factory
    for app, storage in zip(apps, limit_stores, strict=True):
        _release(app, storage)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def desk(app: Flask, world: World) -> Callable[..., Desk]:
    """An actor of the world, by key, working through the app's use cases on the app's clock
    (or, given a ``day``, on a clock of its own). A module whose app differs overrides ``app``."""
    return desks(app, world)


@pytest.fixture
def family(desk: Callable[..., Desk], world: World) -> WorkedFamily:
    """The world's Liverpool case with two adults and a child, a contact, a note, needs, an
    assessment and an action: a record in every category (tests/support/worked_family.py)."""
    return work_family(desk("pops_liverpool"), world.cases[SENDER_CASE])


@pytest.fixture
def two_transfers(desk: Callable[..., Desk], world: World) -> Transfers:
    """One transfer offered from POPS at Liverpool to NEPACS at Durham, one only proposed
    (tests/support/isolation.py)."""
    return two_transfers_from_liverpool(desk, world)


@pytest.fixture
def seeded(database: Database, world: World) -> Seeded:
    """The figures' families are in this test's database: ``database`` copied it from the
    seeded template when it saw this fixture asked for."""
    return seeded_charities(world)


@pytest.fixture
def releases(
    seeded: Seeded, desk: Callable[[str], Desk], app_sessions: sessionmaker[Session], world: World
) -> Releases:
    """The release steps on the figures' families, with twelve more families at Liverpool."""
    more = more_families(desk("pops_liverpool"), "LPI", MORE_AT_LIVERPOOL)
    return Releases(app_sessions, world, more)


@pytest.fixture
def app_sessions(app: Flask) -> sessionmaker[Session]:
    return app.extensions["continuum"].session_factory


@pytest.fixture
def owner_sessions(database: Database) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database.owner_url)
    yield make_session_factory(engine, walls=False)
    engine.dispose()


@pytest.fixture
def all_rows(
    database: Database, postgres: PostgresServer | None, owner_sessions: sessionmaker[Session]
) -> Iterator[sessionmaker[Session]]:
    """Sessions that see every row, for counting what a request wrote. On PostgreSQL that is the
    superuser: forced row-level security hides case rows even from the schema owner."""
    if database.backend == "sqlite":
        yield owner_sessions
        return
    assert postgres is not None
    engine = make_engine(postgres.url(database.name))
    yield make_session_factory(engine, walls=False)
    engine.dispose()


# --- signing in ------------------------------------------------------------------------------


def fresh_code(secret: bytes, clock: Callable[[], Any], offset_steps: int = 0) -> str:
    """The authenticator's code at the time ``clock`` says (the app's), ``offset_steps`` on."""
    return totp.code_at(secret, clock().timestamp() + offset_steps * totp.STEP_SECONDS)


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def sign_in(client: FlaskClient, world: World, key: str) -> FlaskClient:
    """The real two-step sign-in: password, then a TOTP code from the app's clock. A code is
    good once, so when the same actor signs in again the app's clock first moves on by one
    code's life (30 seconds), as it would between two real sign-ins."""
    actor = world.actors[key]
    clock = client.application.extensions["continuum"].clock
    signed = client.application.extensions.setdefault("tests.signed_in", set())
    if key in signed and isinstance(clock, ManualClock):
        clock.advance(timedelta(seconds=totp.STEP_SECONDS))
    signed.add(key)
    page = client.get(f"/o/{actor.org_slug}/login")
    response = client.post(
        f"/o/{actor.org_slug}/login",
        data={"username": actor.username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302, response.text
    page = client.get(f"/o/{actor.org_slug}/login/code")
    response = client.post(
        f"/o/{actor.org_slug}/login/code",
        data={"code": fresh_code(actor.totp_secret, clock), "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302 and response.location == "/", response.text
    return client


@pytest.fixture
def signed_in(app: Flask, world: World) -> Callable[[str], FlaskClient]:
    def factory(key: str) -> FlaskClient:
        return sign_in(app.test_client(), world, key)

    return factory


@pytest.fixture
def bearer(app: Flask, world: World) -> Callable[[str], dict[str, str]]:
    """Authorization headers with a fresh personal token for an actor."""
    from app.models import User
    from app.services.accounts.accounts import create_api_token

    def factory(key: str) -> dict[str, str]:
        with app.extensions["continuum"].session_factory() as session:
            user = session.get(User, world.actors[key].user_id)
            now = app.extensions["continuum"].clock()
            secret, _ = create_api_token(session, user, "test", now, 1)
        return {"Authorization": f"Bearer {secret}"}

    return factory


@pytest.fixture
def api_desk(app: Flask, bearer: Callable[[str], dict[str, str]]) -> Callable[[str], ApiDesk]:
    """An actor of the world, by key, at the JSON API with a fresh personal token."""

    def factory(key: str) -> ApiDesk:
        return ApiDesk(app.test_client(), bearer(key))

    return factory


def missing_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def empty_database(
    backend: str, postgres: PostgresServer | None, tmp_path: Path
) -> Iterator[Database]:
    """A database with nothing in it, not even the schema (for the demo and migrations)."""
    if backend == "sqlite":
        path = tmp_path / "empty.sqlite3"
        yield Database("sqlite", f"sqlite:///{path}", f"sqlite:///{path}")
        return
    if postgres is None:
        pytest.skip(
            "PostgreSQL is not available (set CONTINUUM_REQUIRE_POSTGRES=1 to fail instead)"
        )
    name = f"continuum_e_{_worker()}_{next(_counter)}"
    with postgres.admin_connect() as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
    yield Database(
        "postgresql", postgres.url(name, user=APP_ROLE), postgres.url(name, user=OWNER_ROLE), name
    )
    with postgres.admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_app(empty_database: Database, tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    """The app on an empty database, as a first `continuum demo` finds it (tests/support/demo.py
    has the demo's day and size)."""
    # The instance folder exists (settings make it when they generate the secret key, which a
    # test passes in) and holds nothing yet.
    (tmp_path / "instance").mkdir()
    app = create_app(first_run_settings(empty_database, tmp_path / "instance"), clock)
    yield app
    app.extensions["continuum"].engine.dispose()


# --- the demo's data as a test's setup -------------------------------------------------------


@pytest.fixture(scope="session")
def demo_templates(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer | None
) -> Iterator[DemoTemplates]:
    """`continuum demo` run once per backend, arguments and clock instant, on first use, for
    tests to copy (tests/support/demo_template.py)."""
    # Imported here: the module builds on this one's databases.
    from tests.support.demo_template import DemoTemplates

    built = DemoTemplates(tmp_path_factory.mktemp("demo"), postgres)
    yield built
    built.drop()


@pytest.fixture
def demo_copy(
    backend: str,
    demo_templates: DemoTemplates,
    postgres: PostgresServer | None,
    clock: ManualClock,
    tmp_path: Path,
) -> Iterator[Callable[..., DemoCopy]]:
    """A copy of what `continuum demo --no-serve ARGS` left, by its arguments: the database, the
    instance folder at tmp_path / "instance", and the app on them reading the test's clock. For a
    test that needs the demo's data; a test of the demo command runs it (``empty_app``)."""
    if backend == "postgresql" and postgres is None:
        pytest.skip(
            "PostgreSQL is not available (set CONTINUUM_REQUIRE_POSTGRES=1 to fail instead)"
        )
    with contextlib.ExitStack() as stack:

        def factory(*args: str) -> DemoCopy:
            copy = demo_templates.copy(backend, clock, tmp_path / "instance", args)
            return stack.enter_context(copy)

        yield factory
