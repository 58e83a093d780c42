"""The audit log as the application writes it (DESIGN.md section 8), on SQLite and PostgreSQL.

Sign-ins of a charity's staff go to that charity's chain, everyone else's to the platform chain;
a case read, a list page and a case opened are each exactly one event, written in the same
transaction as what they record; a refused access is one event and changes no response; and
``continuum audit verify`` names the first event an edit, a deletion or a swap broke.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.domain.audit_chain import PLATFORM_CHAIN, AuditEvent
from app.models import AuditEntry, Case
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.conftest import csrf_from, missing_id, sign_in
from tests.support.api_bodies import referral
from tests.support.audit_trail import activity, chain_of, verify_audit
from tests.support.world import PASSWORD, World

ALL_PRISONS = frozenset({"LPI", "WDI", "DMI"})
CASE_LINK = re.compile(r'href="/cases/([0-9a-f-]{36})"')
Key = tuple[str, int]


class AuditLog:
    """The events written since the last `mark`, read as the app role may read them."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._seen: set[Key] = set()

    def _all(self) -> list[AuditEvent]:
        with self._sessions() as session:
            rows = session.scalars(
                select(AuditEntry).order_by(AuditEntry.occurred_at, AuditEntry.sequence)
            )
            return [row.to_event() for row in rows]

    def mark(self) -> None:
        self._seen = {(event.chain, event.sequence) for event in self._all()}

    def new(self) -> list[AuditEvent]:
        return [event for event in self._all() if (event.chain, event.sequence) not in self._seen]


@pytest.fixture
def audit_log(app_sessions: sessionmaker[Session]) -> AuditLog:
    return AuditLog(app_sessions)


def _password_step(client: FlaskClient, slug: str, username: str, password: str):
    page = client.get(f"/o/{slug}/login")
    return client.post(
        f"/o/{slug}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


def _case_count(app_sessions: sessionmaker[Session], world: World) -> int:
    """Every case of both charities, counted through each charity's own context."""
    total = 0
    for slug in ("pops", "nepacs"):
        context = TenantContext(world.organisations[slug], ALL_PRISONS, Role.SITE_MANAGER)
        with app_sessions() as session:
            bind_tenant(session, context)
            total += session.scalar(select(func.count()).select_from(Case)) or 0
    return total


# --- signing in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "charity"), [("pops_liverpool", "pops"), ("coordinator", None), ("ministry", None)]
)
def test_completed_sign_in_leaves_one_ok_event_in_the_actors_chain(
    app, world, audit_log, actor, charity
):
    """A charity's staff sign in to their charity's chain; alliance and ministry staff to the
    platform's."""
    audit_log.mark()
    sign_in(app.test_client(), world, actor)
    (event,) = audit_log.new()
    assert event.chain == (chain_of(world, charity) if charity else PLATFORM_CHAIN)
    assert (event.action, event.outcome) == ("auth.sign_in", "ok")
    assert event.actor == str(world.actors[actor].user_id)
    assert event.organisation == str(world.organisations[world.actors[actor].org_slug])
    assert event.record_ids == ()
    assert event.source == "127.0.0.1"


def test_wrong_password_leaves_one_refused_event_naming_the_account(app, world, audit_log):
    audit_log.mark()
    response = _password_step(app.test_client(), "pops", "pops.liverpool", "not it at all")
    assert response.status_code == 401
    (event,) = audit_log.new()
    assert (event.chain, event.action, event.outcome) == (
        chain_of(world, "pops"),
        "auth.sign_in",
        "refused",
    )
    assert event.actor == str(world.actors["pops_liverpool"].user_id)
    assert event.record_ids == ()


def test_unknown_username_leaves_one_refused_event_by_an_unknown_actor_without_the_name(
    app, world, audit_log
):
    audit_log.mark()
    response = _password_step(app.test_client(), "pops", "pops.somebody.typed", PASSWORD)
    assert response.status_code == 401
    (event,) = audit_log.new()
    assert (event.actor, event.outcome) == ("unknown", "refused")
    assert event.organisation == str(world.organisations["pops"])
    assert "somebody" not in repr(event)


def test_wrong_code_leaves_one_refused_event_and_no_ok_event(app, world, audit_log):
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    assert _password_step(client, "pops", actor.username, PASSWORD).status_code == 302
    audit_log.mark()
    page = client.get("/o/pops/login/code")
    response = client.post(
        "/o/pops/login/code", data={"code": "12345x", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 401
    (event,) = audit_log.new()
    assert (event.actor, event.outcome) == (str(actor.user_id), "refused")


# --- reading and writing cases ---------------------------------------------------------------


def test_caseworker_reading_own_case_leaves_one_read_event_naming_it(world, signed_in, audit_log):
    client = signed_in("pops_liverpool")
    case_id = world.cases[("pops", "LPI")]
    audit_log.mark()
    assert client.get(f"/cases/{case_id}").status_code == 200
    (event,) = audit_log.new()
    assert (event.chain, event.action, event.outcome) == (
        chain_of(world, "pops"),
        "case.read",
        "ok",
    )
    assert (event.record_type, event.record_ids) == ("case", (str(case_id),))
    assert event.actor == str(world.actors["pops_liverpool"].user_id)


def test_site_manager_list_page_leaves_one_event_naming_every_case_shown(
    world, signed_in, audit_log
):
    client = signed_in("pops_manager")
    audit_log.mark()
    response = client.get("/cases")
    assert response.status_code == 200
    shown = list(dict.fromkeys(CASE_LINK.findall(response.text)))
    assert len(shown) == 2
    (event,) = audit_log.new()
    assert (event.action, event.record_type) == ("case.list", "case")
    assert event.record_ids == tuple(shown)


def test_api_list_leaves_one_event_naming_every_case_returned(app, world, bearer, audit_log):
    headers = bearer("pops_manager")
    audit_log.mark()
    response = app.test_client().get("/api/v1/cases", headers=headers)
    assert response.status_code == 200
    (event,) = audit_log.new()
    assert event.action == "case.list"
    assert event.record_ids == tuple(item["id"] for item in response.json["items"])


def test_caseworker_opening_a_case_by_api_leaves_one_create_event_naming_it(
    app, world, bearer, audit_log
):
    headers = bearer("pops_liverpool")
    audit_log.mark()
    response = app.test_client().post("/api/v1/cases", json=referral(), headers=headers)
    assert response.status_code == 201
    (event,) = audit_log.new()
    assert (event.chain, event.action, event.outcome) == (
        chain_of(world, "pops"),
        "case.create",
        "ok",
    )
    assert event.record_ids == (response.json["id"],)


@pytest.mark.parametrize(
    "body", [{"prison_code": "DMI"}, {"prison_code": "LPI", "charity_id": "x"}, {}]
)
def test_caseworker_invalid_case_by_api_writes_nothing_at_all(
    app, world, app_sessions, bearer, audit_log, body
):
    headers = bearer("pops_liverpool")
    cases_before = _case_count(app_sessions, world)
    audit_log.mark()
    response = app.test_client().post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 422
    assert audit_log.new() == []
    assert _case_count(app_sessions, world) == cases_before


# --- refused access --------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/cases/{id}", "/api/v1/cases/{id}"])
def test_caseworker_asking_for_a_foreign_case_leaves_one_refusal_and_the_same_404(
    app, world, signed_in, bearer, audit_log, route
):
    if route.startswith("/api/"):
        client, headers = app.test_client(), bearer("pops_liverpool")
    else:
        client, headers = signed_in("pops_liverpool"), {}
    foreign_id = world.cases[("nepacs", "DMI")]
    audit_log.mark()
    foreign = client.get(route.format(id=foreign_id), headers=headers)
    (event,) = audit_log.new()
    assert foreign.status_code == 404
    assert (event.chain, event.action, event.outcome) == (
        chain_of(world, "pops"),
        "access.refused",
        "refused",
    )
    assert (event.record_type, event.record_ids) == ("case", (str(foreign_id),))
    assert event.actor == str(world.actors["pops_liverpool"].user_id)

    absent_id = missing_id()
    audit_log.mark()
    missing = client.get(route.format(id=absent_id), headers=headers)
    (event,) = audit_log.new()
    assert event.record_ids == (str(absent_id),)
    # Recording the refusal must not tell a foreign id from a missing one.
    assert foreign.status_code == missing.status_code
    assert foreign.data == missing.data
    assert foreign.headers.get("Content-Type") == missing.headers.get("Content-Type")


@pytest.mark.parametrize(("actor", "charity"), [("pops_admin", "pops"), ("ministry", None)])
def test_staff_without_case_access_leave_one_refusal_in_their_own_chain(
    world, signed_in, audit_log, actor, charity
):
    case_id = world.cases[("pops", "LPI")]
    client = signed_in(actor)
    audit_log.mark()
    assert client.get(f"/cases/{case_id}").status_code == 403
    (event,) = audit_log.new()
    assert event.chain == (chain_of(world, charity) if charity else PLATFORM_CHAIN)
    assert (event.action, event.outcome, event.record_ids) == (
        "access.refused",
        "refused",
        (str(case_id),),
    )


# --- verifying -------------------------------------------------------------------------------


def _tamper(owner_sessions: sessionmaker[Session], *statements: str, **params: object) -> None:
    """What the schema owner (or anyone with the database file) could still do."""
    with owner_sessions() as session:
        for statement in statements:
            session.execute(text(statement), params)
        session.commit()


def test_verify_passes_every_chain_after_activity(app, world, signed_in):
    activity(world, signed_in)
    code, lines = verify_audit(app)
    assert code == 0, lines
    assert sorted(lines) == sorted(
        [f"ok {chain_of(world, 'pops')} 4 events", f"ok {chain_of(world, 'nepacs')} 2 events"]
    )
    code, lines = verify_audit(app, "--chain", chain_of(world, "nepacs"))
    assert (code, lines) == (0, [f"ok {chain_of(world, 'nepacs')} 2 events"])


def test_owner_editing_one_event_makes_verify_fail_at_that_sequence(
    app, world, signed_in, owner_sessions
):
    activity(world, signed_in)
    pops = chain_of(world, "pops")
    _tamper(
        owner_sessions,
        "UPDATE audit_events SET source = '10.9.9.9' WHERE chain = :chain AND sequence = 2",
        chain=pops,
    )
    code, lines = verify_audit(app)
    assert code == 1
    assert f"BROKEN {pops} at sequence 2: hash mismatch" in lines
    assert f"ok {chain_of(world, 'nepacs')} 2 events" in lines


def test_owner_deleting_one_event_makes_verify_name_the_gap(app, world, signed_in, owner_sessions):
    activity(world, signed_in)
    pops = chain_of(world, "pops")
    _tamper(
        owner_sessions,
        "DELETE FROM audit_events WHERE chain = :chain AND sequence = 2",
        chain=pops,
    )
    code, lines = verify_audit(app, "--chain", pops)
    assert (code, lines) == (1, [f"BROKEN {pops} at sequence 2: sequence gap"])


def test_owner_swapping_two_events_makes_verify_name_the_first(
    app, world, signed_in, owner_sessions
):
    activity(world, signed_in)
    pops = chain_of(world, "pops")
    where = "WHERE chain = :chain AND sequence = "
    _tamper(
        owner_sessions,
        f"UPDATE audit_events SET sequence = -1 {where} 2",
        f"UPDATE audit_events SET sequence = 2 {where} 3",
        f"UPDATE audit_events SET sequence = 3 {where} -1",
        chain=pops,
    )
    code, lines = verify_audit(app, "--chain", pops)
    assert code == 1
    assert lines == [f"BROKEN {pops} at sequence 2: broken link"]
