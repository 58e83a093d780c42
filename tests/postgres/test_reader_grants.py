"""The readers' role holds only what the ministry's and the alliance's requests need (issue 13
item 9), on PostgreSQL: the catalogue names every grant, column grant, row policy and function
it holds, each with its reason, and an unexpected one fails; probes, run as the role on a raw
connection, show it reads none of a charity's audit events and can read or change no charity
user's account or session, nor any column sign-in never writes; and what its requests do need
still works. A negative control undoes migration 0012 and sees every probe get further.
PostgreSQL only (tests/postgres/test_reader_role.py shows the requests run as the role)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from app.db import make_engine, make_session_factory
from app.domain.audit_chain import PLATFORM_CHAIN, AuditDraft
from app.migrate import downgrade, upgrade
from app.models import User
from app.security.passwords import verify_password
from app.services.platform import audit
from tenants.postgres import use_readers_role
from tests.conftest import READER_ROLE, csrf_from
from tests.support.clock import DEFAULT_NOW
from tests.support.world import PASSWORD

pytestmark = pytest.mark.postgres_only

ORIGIN = audit.Origin(source="203.0.113.9", clock=lambda: DEFAULT_NOW)


@pytest.fixture
def backend() -> str:
    return "postgresql"


# Every grant, column grant, row policy and function the readers' role holds, each with the
# request that needs it. The ministry's and the alliance's requests only ever touch their own
# staff's rows (sign-in itself runs as the app role, before the actor is known) and append to
# the platform's audit chain; a grant found in the catalogue and not named here fails.
READER_TABLE_GRANTS = {
    ("organisations", "SELECT"): "the signed-in user's organisation; names on every page",
    ("prisons", "SELECT"): "prison names on the dashboard and in releases",
    ("users", "SELECT"): "the signed-in user, reloaded after a commit (policy users_readers)",
    ("user_prisons", "SELECT"): "loaded with the user: none for the alliance or the ministry",
    ("audit_events", "SELECT"): "the platform chain's last event, sealed onto by the next",
    ("audit_events", "INSERT"): "every request's event, on the platform chain only",
    ("releases", "SELECT"): "the dashboard, the API and the coordinator's release screens",
    ("web_sessions", "SELECT"): "finding this browser's session to end it (sign-out)",
    ("web_sessions", "INSERT"): "a password change moves the browser to a new session",
}
READER_COLUMN_GRANTS = {
    ("users", "UPDATE", "password_hash"): "the user changes their own password",
    ("users", "UPDATE", "must_change_password"): "cleared once they have chosen their own",
    ("users", "UPDATE", "session_epoch"): "a password change or signing out everywhere",
    ("users", "UPDATE", "failed_attempts"): "a wrong current password counts to the lockout",
    ("users", "UPDATE", "locked_until"): "the lockout that count reaches",
    ("users", "UPDATE", "updated_at"): "the row's bookkeeping time, with any of the above",
    ("releases", "UPDATE", "status"): "the coordinator publishes or discards a draft",
    ("releases", "UPDATE", "published_at"): "when it was published",
    ("releases", "UPDATE", "published_by"): "who published it",
    ("web_sessions", "UPDATE", "ended_at"): "sign-out ends this browser's session",
}
READER_POLICIES = {
    ("users", "users_readers", "ALL"): "only the alliance's and the ministry's staff",
    ("user_prisons", "user_prisons_readers", "ALL"): "only those staff's prisons (none)",
    ("web_sessions", "web_sessions_readers", "ALL"): "only those staff's sessions",
    ("audit_events", "audit_events_readers_head", "SELECT"): "the platform chain's last event",
    ("audit_events", "audit_events_readers_append", "INSERT"): "the platform chain only",
}
READER_ROUTINES = {
    ("audit_platform_head", "EXECUTE"): "the policy's head of the platform chain (it reads "
    "the chain as the owner, so the readers' role sees no other event)",
}


@pytest.fixture
def owner_engine(database) -> Iterator[Engine]:
    engine = create_engine(database.owner_url)
    yield engine
    engine.dispose()


def test_catalogue_names_every_grant_the_readers_role_holds_and_no_other(owner_engine):
    with owner_engine.connect() as connection:
        tables = {
            (row.table_name, row.privilege_type)
            for row in connection.execute(
                text(
                    "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                    "WHERE grantee = :role"
                ),
                {"role": READER_ROLE},
            )
        }
        columns = {
            (row.table_name, row.privilege_type, row.column_name)
            for row in connection.execute(
                text(
                    "SELECT table_name, privilege_type, column_name "
                    "FROM information_schema.column_privileges WHERE grantee = :role"
                ),
                {"role": READER_ROLE},
            )
            # A grant on the whole table shows on every column too.
            if (row.table_name, row.privilege_type) not in tables
        }
        policies = {
            (row.tablename, row.policyname, row.cmd)
            for row in connection.execute(
                text("SELECT tablename, policyname, cmd FROM pg_policies WHERE :role = ANY(roles)"),
                {"role": READER_ROLE},
            )
        }
        routines = {
            (row.routine_name, row.privilege_type)
            for row in connection.execute(
                text(
                    "SELECT routine_name, privilege_type FROM information_schema.routine_privileges "
                    "WHERE grantee = :role"
                ),
                {"role": READER_ROLE},
            )
        }
    assert tables == set(READER_TABLE_GRANTS)
    assert columns == set(READER_COLUMN_GRANTS)
    assert policies == set(READER_POLICIES)
    assert routines == set(READER_ROUTINES)


# Each probe is one statement the readers' role runs on a raw connection, with what it must come
# to: "refused" by PostgreSQL, or the number of rows it returned or changed. Every one of them
# would do more without migration 0012 (the negative control below runs them there).
REFUSED = "refused"
SIGN_IN_NEVER_CHANGES = (
    "id",
    "organisation_id",
    "username",
    "display_name",
    "role",
    "active",
    "totp_secret_sealed",
    "totp_confirmed",
    "totp_last_step",
    "oidc_subject",
    "last_login_at",
    "created_at",
)
PROBES = {
    "read another charity's audit events": (
        "SELECT id FROM audit_events WHERE chain = :charity",
        0,
    ),
    "read the platform chain past its last event": (
        "SELECT id FROM audit_events WHERE chain = 'platform'",
        1,
    ),
    "append to another charity's chain": (
        "INSERT INTO audit_events (id, chain, sequence, occurred_at, actor, organisation, "
        "action, record_type, record_ids, source, outcome, prev_hash, hash) VALUES "
        "(:new_id, :charity, 99, now(), 'x', 'x', 'x', 'x', '[]', 'x', 'ok', :hash, :hash)",
        REFUSED,
    ),
    "read a charity caseworker's account": ("SELECT id FROM users WHERE id = :caseworker", 0),
    "set a charity caseworker's password hash": (
        "UPDATE users SET password_hash = 'chosen' WHERE id = :caseworker",
        0,
    ),
    "sign a charity caseworker out everywhere": (
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = :caseworker",
        0,
    ),
    "read a charity caseworker's prisons": (
        "SELECT prison_code FROM user_prisons WHERE user_id = :caseworker",
        0,
    ),
    "open a session for a charity caseworker": (
        "INSERT INTO web_sessions (id, user_id, token_hash, created_at) "
        "VALUES (:new_id, :caseworker, :hash, now())",
        REFUSED,
    ),
    "end a charity caseworker's session": (
        "UPDATE web_sessions SET ended_at = now() WHERE user_id = :caseworker",
        0,
    ),
    "change a session's secret": ("UPDATE web_sessions SET token_hash = :hash", REFUSED),
    "change a release's figures": ("UPDATE releases SET content = content", REFUSED),
    **{
        f"change the ministry analyst's own {column}": (
            f"UPDATE users SET {column} = {column} WHERE id = :analyst",
            REFUSED,
        )
        for column in SIGN_IN_NEVER_CHANGES
    },
}


@pytest.fixture
def probe_as_reader(database, world, owner_engine) -> Iterator[Callable[[str], object]]:
    """Runs a probe as the readers' role. Beforehand, as the owner: two events on POPS' chain
    and two on the platform's, and a session of the POPS caseworker's."""
    caseworker = world.actors["pops_liverpool"].user_id
    pops = str(world.organisations["pops"])
    with Session(owner_engine) as session:
        for chain in (pops, pops, PLATFORM_CHAIN, PLATFORM_CHAIN):
            audit.record(session, _draft(chain))
        session.execute(
            text(
                "INSERT INTO web_sessions (id, user_id, token_hash, created_at) "
                "VALUES (:id, :user, :hash, now())"
            ),
            {"id": uuid.uuid4(), "user": caseworker, "hash": "a" * 64},
        )
        session.commit()
    params = {
        "charity": pops,
        "caseworker": caseworker,
        "analyst": world.actors["ministry"].user_id,
        "hash": "b" * 64,
    }
    engine = create_engine(database.app_url)

    def probe(name: str) -> object:
        statement, _expected = PROBES[name]
        with engine.connect() as connection:
            connection.execute(text("SELECT set_config('role', :r, true)"), {"r": READER_ROLE})
            try:
                result = connection.execute(text(statement), {**params, "new_id": uuid.uuid4()})
            except ProgrammingError as error:
                if "permission denied" in str(error) or "row-level security" in str(error):
                    return REFUSED
                raise
            return len(result.all()) if result.returns_rows else result.rowcount

    yield probe
    engine.dispose()


def _draft(chain: str) -> AuditDraft:
    return audit.draft_event(
        ORIGIN,
        chain=chain,
        actor=uuid.uuid4(),
        organisation=uuid.uuid4(),
        action="case.read",
        record_type="case",
        record_ids=[uuid.uuid4()],
    )


@pytest.mark.parametrize("name", list(PROBES))
def test_readers_role_is_refused_or_shown_nothing(probe_as_reader, name):
    assert probe_as_reader(name) == PROBES[name][1]


def test_negative_control_before_0012_every_probe_gets_further(probe_as_reader, settings):
    """Migration 0012 undone (and done again): each probe above then reads, changes or adds
    more than it is allowed to, so each of those tests can fail."""
    downgrade(settings, "0011")
    unwalled = {name: probe_as_reader(name) for name in PROBES}
    upgrade(settings)
    walled = {name: probe_as_reader(name) for name in PROBES}
    assert walled == {name: expected for name, (_statement, expected) in PROBES.items()}
    assert {name for name, seen in unwalled.items() if seen == PROBES[name][1]} == set()


def test_readers_role_appends_to_the_platform_chain_through_the_service(database, world):
    """What every reader request does: read the platform chain's head and seal onto it."""
    engine = make_engine(database.app_url)
    sessions = make_session_factory(engine)
    try:
        for _ in range(3):
            with sessions() as session:
                use_readers_role(session, READER_ROLE)
                assert session.scalar(text("SELECT current_user")) == READER_ROLE
                head = audit.last_event(session, PLATFORM_CHAIN)
                event = audit.record(session, _draft(PLATFORM_CHAIN))
                session.commit()
            assert event.sequence == (head.sequence + 1 if head else 1)
        with sessions() as session:
            assert audit.verify(session, PLATFORM_CHAIN).ok
    finally:
        engine.dispose()


@pytest.mark.parametrize("who", ["ministry", "coordinator"])
def test_ministry_and_alliance_staff_still_change_their_password_and_sign_out_everywhere(
    app, world, signed_in, owner_sessions, who
):
    """Their requests run as the readers' role: a wrong current password is counted, a right
    one changes the password and ends the other sessions, and signing out everywhere ends all."""
    actor = world.actors[who]
    client = signed_in(who)

    def change(current: str) -> int:
        page = client.get("/account/password")
        form = {
            "current_password": current,
            "new_password": "lantern orchard pebble 42",
            "confirm_password": "lantern orchard pebble 42",
            "csrf_token": csrf_from(page.text),
        }
        return client.post("/account/password", data=form).status_code

    def row() -> User:
        with owner_sessions() as session:
            user = session.get(User, actor.user_id)
            assert user is not None
            return user

    assert change("not my password at all") == 400
    assert row().failed_attempts == 1
    assert change(PASSWORD) == 302
    changed = row()
    assert not verify_password(changed.password_hash, PASSWORD)
    assert changed.session_epoch == 1
    token = csrf_from(client.get("/account").text)
    assert client.post("/account/sessions/end", data={"csrf_token": token}).status_code == 302
    assert row().session_epoch == 2
