"""The national-scale demo data (app.demo.national): ``continuum demo --national`` writes it into
an empty database through the app role (on PostgreSQL past row-level security), what the release
counts of it agrees with a direct count, nothing personal is stored in clear, and a seed always
draws the same data. The demo runs once per backend into a fresh database; the tests only read."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import create_app
from app.db import make_engine
from app.demo import words
from app.demo.national import empty_batch
from app.demo.national_rows import Charity, Drawer, Rows
from app.domain.figures.periods import Quarter
from app.models import Case, ConsentRecord, Contact
from app.security.keyring import Keyring, LocalRootKey, MemoryKeyStore
from app.services.figures.metrics import quarter_figures
from config import load_settings
from tests.conftest import APP_ROLE, BACKENDS, OWNER_ROLE, SECRET_KEY
from tests.support.clock import ManualClock
from tests.support.postgres import PostgresServer

TODAY = date(2026, 11, 20)
QUARTER = Quarter(2026, 3)
FAMILIES = 150


@dataclass(frozen=True)
class National:
    app: Flask
    superuser_url: str  # reads past every wall, as someone with the disk would


@pytest.fixture(scope="module", params=BACKENDS)
def national(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresServer | None,
) -> Iterator[National]:
    """`continuum demo --national` into an empty database, once per backend."""
    tmp = tmp_path_factory.mktemp(f"national-{request.param}")
    name = f"continuum_national_{os.getpid()}"
    if request.param == "sqlite":
        app_url = owner_url = superuser_url = f"sqlite:///{tmp / 'national.sqlite3'}"
    else:
        if postgres is None:
            pytest.skip("PostgreSQL is not available (set CONTINUUM_REQUIRE_POSTGRES=1 to fail)")
        with postgres.admin_connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        app_url, owner_url = postgres.url(name, user=APP_ROLE), postgres.url(name, user=OWNER_ROLE)
        superuser_url = postgres.url(name)
    (tmp / "instance").mkdir()
    settings = load_settings(
        environ={},
        instance_path=tmp / "instance",
        database_url=app_url,
        migration_database_url=owner_url,
        secret_key=SECRET_KEY,
        testing=True,
        root_key_file=str(tmp / "root.key"),
    )
    app = create_app(settings, ManualClock())
    args = ["demo", "--no-serve", "--national", "--families", str(FAMILIES), "--today", str(TODAY)]
    try:
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        assert f"added {FAMILIES} case histories" in result.output
        yield National(app, superuser_url)
    finally:
        app.extensions["continuum"].engine.dispose()
        if request.param == "postgresql" and postgres is not None:
            with postgres.admin_connect() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def superuser(national: National) -> Iterator[Session]:
    engine = make_engine(national.superuser_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _families_supported(owner: Session) -> int:
    """Families with a contact in the quarter within their case's episode, less those whose
    statistics answer by the quarter's end is no (each family has one answer at most here)."""
    episodes = {c.id: c for c in owner.scalars(select(Case))}
    objecting = set()
    for record in owner.scalars(
        select(ConsentRecord).where(
            ConsentRecord.purpose == "statistics", ConsentRecord.valid_from <= QUARTER.end
        )
    ):
        if record.decision != "given":
            objecting.add(episodes[record.case_id].family_id)
    supported = set()
    for contact in owner.scalars(select(Contact)):
        case = episodes[contact.case_id]
        if (
            QUARTER.contains(contact.occurred_on)
            and contact.occurred_on >= case.opened_on
            and (case.closed_on is None or contact.occurred_on <= case.closed_on)
        ):
            supported.add(case.family_id)
    return len(supported - objecting)


def test_the_release_counts_the_national_families_a_direct_count_finds(
    national: National, superuser: Session
) -> None:
    with national.app.extensions["continuum"].session_factory() as session:
        totals = quarter_figures(session, QUARTER).total()
    counted = sum(
        tally.count
        for (table, _, column), tally in totals.items()
        if (table, column) == ("prison_activity", "families_supported")
    )
    assert counted == _families_supported(superuser) > 0


def test_no_name_or_prison_number_of_the_national_families_is_stored_in_clear(
    superuser: Session,
) -> None:
    tables = ("people_in_custody", "family_members", "contacts")
    stored = [
        bytes(value)
        for table in tables
        for row in superuser.execute(text(f"SELECT * FROM {table}"))
        for value in row
        if isinstance(value, bytes | memoryview)
    ]
    indexes = superuser.scalars(text("SELECT prison_number_index FROM people_in_custody")).all()
    assert len(stored) > FAMILIES
    blob = b"\n".join(stored)
    # Prison numbers are N0000AA, N0001AA, ...; surnames come from a short list.
    assert b"N0000AA" not in blob and b"N0001AA" not in blob
    assert not [name for name in words.SURNAMES if name.encode() in blob]
    assert all(index and "N0" not in index for index in indexes)


def _draw(seed: str) -> Rows:
    keyring = Keyring(LocalRootKey(bytes(32)), MemoryKeyStore())
    charity_id = uuid.UUID(int=1)
    keyring.ensure_key(charity_id)
    rows = empty_batch()
    drawer = Drawer(random.Random(seed), TODAY)
    charity = Charity(charity_id, keyring, [uuid.UUID(int=2)])
    for _ in range(30):
        drawer.family(charity, "LPI", rows)
    # Ciphertexts take a fresh nonce each time; everything else is the seed's.
    sealed = ("_enc", "prison_number_index")
    return {
        table: [{k: v for k, v in row.items() if not k.endswith(sealed)} for row in found]
        for table, found in rows.items()
    }


def test_a_seed_always_draws_the_same_families_and_another_seed_others() -> None:
    first, again, other = _draw("one"), _draw("one"), _draw("two")
    assert first == again
    assert first["contacts"]
    assert first != other
