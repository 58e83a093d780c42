"""Encryption at rest (DESIGN.md section 4), checked on the demo's own data.

The demo is set up once per backend into a fresh database; each test works on a copy
(tests/support/demo_template.py). The plaintexts looked for are the generator's own
(app.demo.histories), so the check covers every real name, prison number, phone, email and free
text the demo wrote, and a negative control shows the same check finds a value stored in clear.
"""

from __future__ import annotations

import glob
import re
import shutil
import sqlite3
import subprocess
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.demo.charities import CHARITIES
from app.demo.histories import HistoryPlan, plaintexts
from app.demo.records import plan_demo_histories, women_prisons
from app.demo.transfer_stories import families_held_by, plan_transfer_stories, story_plaintexts
from app.domain.vocabulary import ContactKind
from app.models import Case, Contact, Family, Organisation, PersonInCustody, User
from app.security.keyring import FieldDecryptionError
from app.services.cases import casework, family_file, search
from app.services.platform.audit import Origin
from app.services.platform.keys import rotate_charity_key
from app.services.platform.vault import vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.conftest import Database
from tests.support.postgres import postgres_required

TODAY = date(2026, 3, 2)
FAMILIES = 40
ORIGIN = Origin("test", clock=lambda: datetime.combine(TODAY, time(17), UTC))


@dataclass(frozen=True)
class Demo:
    app: Flask
    database: Database
    plans: dict[str, list[HistoryPlan]]
    superuser_url: str  # reads and writes past every wall, as someone with the disk would


@pytest.fixture
def demo(demo_copy) -> Demo:
    """A copy of the demo database for one test, and an app on it."""
    # --background 0: the histories' names only.
    copy = demo_copy("--families", str(FAMILIES), "--today", str(TODAY), "--background", "0")
    with copy.app.extensions["continuum"].session_factory() as session:
        plans = plan_demo_histories(TODAY, FAMILIES, women_prisons(session))
    return Demo(copy.app, copy.database, plans, copy.superuser_url)


# --- looking at the database as an attacker with a copy of it would ---------------------------


def _pg_dump(url: str) -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump")) or [shutil.which("pg_dump")]
    if not found or found[-1] is None:
        if postgres_required():
            pytest.fail("pg_dump is required here and is not installed")
        pytest.skip("pg_dump is not installed")
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://")
    done = subprocess.run(  # noqa: S603 - a fixed binary and our own throwaway database
        [found[-1], "--data-only", "--no-owner", f"--dbname={libpq_url}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _unhex(pattern: str, dump: str) -> str:
    """The dump with each bytes value written out as its bytes, so text hidden in a bytes column
    shows as text (and hex digits never pass for a prison number)."""
    return re.sub(pattern, lambda m: bytes.fromhex(m.group(1)).decode("latin-1"), dump)


def _dump(demo: Demo) -> str:
    """Everything the database holds, as text: pg_dump as the superuser (row-level security
    hides no rows from it), or SQLite's own dump plus the raw files (pages, not only rows)."""
    if demo.database.backend == "postgresql":
        return _unhex(r"\\\\x([0-9a-f]*)", _pg_dump(demo.superuser_url))
    path = Path(demo.database.app_url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as conn:
        dump = _unhex(r"X'([0-9A-F]*)'", "\n".join(conn.iterdump()))
    raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return dump + "\n" + raw.decode("latin-1")


def _in_clear(dump: str, values: set[str]) -> set[str]:
    return {value for value in values if value in dump}


def _as_superuser(demo: Demo, statement) -> None:
    from app.db import make_engine

    engine = make_engine(demo.superuser_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(statement).rowcount == 1
    finally:
        engine.dispose()


# --- reading through the walls -----------------------------------------------------------------


def _charity(session: Session, slug: str) -> uuid.UUID:
    return session.scalars(select(Organisation.id).where(Organisation.slug == slug)).one()


def _manager_context(session: Session, slug: str) -> TenantContext:
    spec = next(spec for spec in CHARITIES if spec.slug == slug)
    prisons = frozenset(code for code, _, _ in spec.services)
    manager = session.scalars(
        select(User.id).where(
            User.organisation_id == _charity(session, slug), User.role == Role.SITE_MANAGER
        )
    ).first()
    return TenantContext(_charity(session, slug), prisons, Role.SITE_MANAGER, manager)


def _cases_by_person(session: Session) -> dict[uuid.UUID, Case]:
    families = {f.id: f.person_in_custody_id for f in session.scalars(select(Family))}
    return {families[case.family_id]: case for case in session.scalars(select(Case))}


def _version(blob: bytes | None) -> int:
    """The data key version a field was sealed under (app.security.keyring's field format)."""
    assert blob is not None
    return int.from_bytes(bytes(blob)[1:5], "big")


# --- the tests ----------------------------------------------------------------------------------


def test_demo_database_holds_no_name_number_phone_email_or_free_text_in_clear(demo):
    # The histories' families, and the transfers' (their offers and accepted cases included).
    stories = plan_transfer_stories(TODAY)
    secrets = plaintexts(plan for plans in demo.plans.values() for plan in plans)
    secrets |= story_plaintexts(stories)
    everything = [plan for plans in demo.plans.values() for plan in plans]
    # The generator's values are the ones in the database: every person decrypts to one of them.
    state = demo.app.extensions["continuum"]
    for slug in demo.plans:
        with state.session_factory() as session:
            bind_tenant(session, _manager_context(session, slug))
            vault = vault_for(session, state.root_key)
            names = {vault.open(p, "name") for p in session.scalars(select(PersonInCustody))}
        assert names == {plan.family.person.name for plan in demo.plans[slug]} | {
            family.person.name for family in families_held_by(stories, slug)
        }
    # Every kind of secret is in the set looked for.
    assert {p.family.person.prison_number for p in everything} <= secrets
    assert {m.phone for p in everything for m in p.family.members if m.phone} <= secrets
    assert {m.email for p in everything for m in p.family.members if m.email} <= secrets
    assert {c.summary for p in everything for c in p.contacts} <= secrets
    assert {n.body for p in everything for n in p.notes} <= secrets
    dump = _dump(demo)
    # The dump has the case tables' rows (their references are in clear), not an empty view.
    assert all(plan.reference in dump for plan in everything)
    assert _in_clear(dump, secrets) == set()


def test_the_dump_check_finds_a_value_written_in_clear_into_an_encrypted_column(demo):
    """Negative control: the check above can fail."""
    plan = demo.plans["pops"][0]
    leaked = plan.family.members[0].name
    state = demo.app.extensions["continuum"]
    with state.session_factory() as session:
        bind_tenant(session, _manager_context(session, "pops"))
        case = session.scalars(select(Case).where(Case.reference == plan.reference)).one()
        contact_id = session.scalars(select(Contact.id).where(Contact.case_id == case.id)).first()
    assert _in_clear(_dump(demo), {leaked}) == set()
    table = Contact.__table__
    _as_superuser(
        demo, update(table).where(table.c.id == contact_id).values(summary_enc=leaked.encode())
    )
    assert _in_clear(_dump(demo), {leaked}) == {leaked}


def test_a_ciphertext_copied_to_another_row_column_or_charity_does_not_decrypt(demo):
    state = demo.app.extensions["continuum"]
    with state.session_factory() as session:
        bind_tenant(session, _manager_context(session, "nepacs"))
        foreign = session.scalars(select(PersonInCustody)).first()
    with state.session_factory() as session:
        context = _manager_context(session, "pops")
        bind_tenant(session, context)
        first, second, third = session.scalars(select(PersonInCustody).limit(3)).all()
        cases = _cases_by_person(session)
    people = PersonInCustody.__table__
    moves = [
        (second.id, "name_enc", first.name_enc),  # another row, same charity
        (third.id, "name_enc", foreign.name_enc),  # another charity's row
        (first.id, "name_enc", first.prison_number_enc),  # another column of the same row
    ]
    for row_id, column, blob in moves:
        _as_superuser(demo, update(people).where(people.c.id == row_id).values({column: blob}))
    with state.session_factory() as session:
        bind_tenant(session, context)
        vault = vault_for(session, state.root_key)
        for row_id, _, _ in moves:
            person = session.scalars(
                select(PersonInCustody).where(PersonInCustody.id == row_id)
            ).one()
            with pytest.raises(FieldDecryptionError):
                vault.open(person, "name")
            # The fields left where they were still read.
            assert vault.open(person, "prison_number")
            # Reading the family file fails too, rather than showing someone else's name.
            with pytest.raises(FieldDecryptionError):
                family_file.read_family(session, context, ORIGIN, vault, cases[row_id].id)


def test_after_pops_rotates_its_key_every_field_reads_and_new_writes_use_the_new_version(demo):
    state = demo.app.extensions["continuum"]
    with state.session_factory() as session:
        version = rotate_charity_key(session, state.root_key, _charity(session, "pops"))
    assert version == 2
    plans = {plan.reference: plan for plan in demo.plans["pops"]}
    with state.session_factory() as session:
        context = _manager_context(session, "pops")
        bind_tenant(session, context)
        vault = vault_for(session, state.root_key)
        # The histories' cases (the transfers' families are looked for in the dump above).
        for case in session.scalars(select(Case).where(Case.reference.in_(plans))).all():
            plan = plans[case.reference]
            file = family_file.read_family(session, context, ORIGIN, vault, case.id)
            assert file.person.name == plan.family.person.name
            assert file.person.prison_number == plan.family.person.prison_number
            assert {m.name for m in file.members} == {m.name for m in plan.family.members}
            assert {m.phone for m in file.members} == {m.phone for m in plan.family.members}
            assert {c.summary for c in file.contacts} == {c.summary for c in plan.contacts}
            assert {n.body for n in file.notes} == {n.body for n in plan.notes}
            assert {a.description for a in file.actions} == {a.description for a in plan.actions}
        # The blind index still finds an old prison number: it is keyed from version 1.
        number = next(iter(plans.values())).family.person.prison_number
        assert [s.prison_number for s in search.find_cases(session, context, ORIGIN, vault, number)]
        active = session.scalars(select(Case).where(Case.status == "active")).first()
        old = session.scalars(select(Contact).where(Contact.case_id == active.id)).first()
        new = casework.add_contact(
            session,
            context,
            ORIGIN,
            vault,
            active.id,
            kind=ContactKind.PHONE,
            occurred_on=TODAY,
            summary="Rang after the key rotation; all well.",
        )
        assert (_version(old.summary_enc), _version(new.summary_enc)) == (1, 2)
        assert vault.open(new, "summary") == "Rang after the key rotation; all well."
