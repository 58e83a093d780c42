"""A charity admin manages the charity's own staff, and asks who looked at a case; a site
manager sees the caseload by prison. On SQLite and PostgreSQL.

Admins reach their own organisation's users only (another charity's user is as missing as one
never made), every change is exactly one audit event naming ids only, and every admin route
refuses caseworkers and managers.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import astuple
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app.domain.vocabulary import ReferralSource
from app.models import AuditEntry, Case, CaseStatus, Family, PersonInCustody, User
from app.models.cases import OPEN_STATUSES
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.conftest import csrf_from, missing_id
from tests.support.world import PASSWORD, World

SET_UP_PASSWORD = re.compile(r'id="set-up-password">([A-Z0-9-]+)<')
NEW_STAFF = {
    "display_name": "Alex Newstarter",
    "username": "alex.newstarter",
    "role": "caseworker",
    "prisons": ["LPI"],
}


# --- helpers ---------------------------------------------------------------------------------


def _post(client: FlaskClient, url: str, data: dict[str, object] | None = None) -> TestResponse:
    """A form post with the session's CSRF token, as a browser would send it."""
    token = csrf_from(client.get("/account").text)
    return client.post(url, data={**(data or {}), "csrf_token": token})


def _password_step(client: FlaskClient, slug: str, username: str, password: str) -> TestResponse:
    page = client.get(f"/o/{slug}/login")
    return client.post(
        f"/o/{slug}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


def _user(sessions: sessionmaker[Session], user_id: uuid.UUID) -> User:
    with sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        _ = user.prison_links  # loaded before the session closes
        return user


def _chain(world: World, slug: str) -> str:
    return str(world.organisations[slug])


def _head(sessions: sessionmaker[Session], chain: str) -> int:
    with sessions() as session:
        return session.scalar(
            select(func.coalesce(func.max(AuditEntry.sequence), 0)).where(AuditEntry.chain == chain)
        )


def _events_after(sessions: sessionmaker[Session], chain: str, head: int) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.chain == chain, AuditEntry.sequence > head)
                .order_by(AuditEntry.sequence)
            )
        )


def _all_events(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


# --- creating staff --------------------------------------------------------------------------


def test_pops_admin_creates_a_caseworker_with_prisons_who_signs_in_and_enrols(
    app, world, signed_in, app_sessions
):
    admin = signed_in("pops_admin")

    response = _post(admin, "/admin/users/new", NEW_STAFF)

    assert response.status_code == 200, response.text
    password = SET_UP_PASSWORD.search(response.text)
    assert password is not None
    with app_sessions() as session:
        user = session.scalar(select(User).where(User.username == NEW_STAFF["username"]))
        assert user is not None
        assert user.organisation_id == world.organisations["pops"]
        assert user.role_enum is Role.CASEWORKER
        assert user.prison_codes == {"LPI"}
        assert user.active and not user.totp_confirmed
    first = _password_step(app.test_client(), "pops", NEW_STAFF["username"], password[1])
    assert first.status_code == 302 and first.location == "/o/pops/login/enrol"


def test_set_up_password_is_not_kept_anywhere_but_its_hash(app, world, signed_in, app_sessions):
    admin = signed_in("pops_admin")
    response = _post(admin, "/admin/users/new", NEW_STAFF)
    password = SET_UP_PASSWORD.search(response.text)
    assert password is not None

    assert password[1] not in admin.get("/admin/users").text
    with app_sessions() as session:
        user = session.scalar(select(User).where(User.username == NEW_STAFF["username"]))
        assert user is not None and user.password_hash is not None
        assert password[1] not in user.password_hash


def test_pops_admin_cannot_give_a_new_user_a_prison_pops_never_served(
    world, signed_in, app_sessions
):
    admin = signed_in("pops_admin")

    response = _post(admin, "/admin/users/new", {**NEW_STAFF, "prisons": ["LPI", "DMI"]})

    assert response.status_code == 400
    assert "govuk-error-summary" in response.text and 'href="#prisons"' in response.text
    assert "DMI" in response.text
    with app_sessions() as session:
        taken = session.scalar(select(User).where(User.username == NEW_STAFF["username"]))
    assert taken is None


def test_pops_admin_cannot_assign_a_prison_pops_never_served_to_a_caseworker(
    world, signed_in, app_sessions
):
    admin = signed_in("pops_admin")
    target = world.actors["pops_liverpool"].user_id

    response = _post(admin, f"/admin/users/{target}/prisons", {"prisons": ["DMI"]})

    assert response.status_code == 400
    assert 'href="#prisons"' in response.text
    assert _user(app_sessions, target).prison_codes == {"LPI"}


def test_new_user_form_names_every_missing_answer_in_the_error_summary(signed_in):
    admin = signed_in("pops_admin")

    nothing = _post(admin, "/admin/users/new", {})
    role_only = _post(admin, "/admin/users/new", {"role": "site_manager"})

    assert nothing.status_code == role_only.status_code == 400
    for response, fields in (
        (nothing, ("display_name", "username", "role")),
        (role_only, ("display_name", "username", "prisons")),
    ):
        summary = response.text[response.text.index("govuk-error-summary") :]
        for field in fields:
            assert f'href="#{field}"' in summary, field


def test_a_charity_admin_account_is_given_no_prisons(signed_in, app_sessions):
    admin = signed_in("pops_admin")

    refused = _post(admin, "/admin/users/new", {**NEW_STAFF, "role": "charity_admin"})
    created = _post(
        admin, "/admin/users/new", {**NEW_STAFF, "role": "charity_admin", "prisons": []}
    )

    assert refused.status_code == 400 and 'href="#prisons"' in refused.text
    assert created.status_code == 200, created.text
    with app_sessions() as session:
        user = session.scalar(select(User).where(User.username == NEW_STAFF["username"]))
        assert user is not None and user.role_enum is Role.CHARITY_ADMIN
        assert user.prison_codes == set()


def test_a_username_already_in_use_is_refused_with_a_message(world, signed_in):
    admin = signed_in("pops_admin")
    taken = world.actors["pops_liverpool"].username

    response = _post(admin, "/admin/users/new", {**NEW_STAFF, "username": taken})

    assert response.status_code == 400 and 'href="#username"' in response.text


# --- changing staff --------------------------------------------------------------------------


def test_new_prisons_apply_to_a_signed_in_caseworker_from_their_next_request(world, signed_in):
    caseworker = signed_in("pops_liverpool")
    liverpool, wakefield = world.cases[("pops", "LPI")], world.cases[("pops", "WDI")]
    assert caseworker.get(f"/cases/{liverpool}").status_code == 200
    assert caseworker.get(f"/cases/{wakefield}").status_code == 404

    response = _post(
        signed_in("pops_admin"),
        f"/admin/users/{world.actors['pops_liverpool'].user_id}/prisons",
        {"prisons": ["WDI"]},
    )

    assert response.status_code == 302
    assert caseworker.get(f"/cases/{liverpool}").status_code == 404
    assert caseworker.get(f"/cases/{wakefield}").status_code == 200


def test_deactivated_caseworker_loses_session_and_token_and_cannot_sign_in(
    app, world, signed_in, bearer
):
    caseworker = signed_in("pops_liverpool")
    headers = bearer("pops_liverpool")
    assert caseworker.get("/cases").status_code == 200
    assert app.test_client().get("/api/v1/cases", headers=headers).status_code == 200
    target = world.actors["pops_liverpool"]

    response = _post(signed_in("pops_admin"), f"/admin/users/{target.user_id}/deactivate")

    assert response.status_code == 302
    page = caseworker.get("/cases")
    assert page.status_code == 302 and "/login" in page.location
    assert app.test_client().get("/api/v1/cases", headers=headers).status_code == 401
    refused = _password_step(app.test_client(), "pops", target.username, PASSWORD)
    assert refused.status_code != 302


def test_reactivated_caseworker_signs_in_again_but_old_tokens_stay_revoked(
    app, world, signed_in, bearer
):
    headers = bearer("pops_liverpool")
    target = world.actors["pops_liverpool"]
    admin = signed_in("pops_admin")
    _post(admin, f"/admin/users/{target.user_id}/deactivate")

    response = _post(admin, f"/admin/users/{target.user_id}/reactivate")

    assert response.status_code == 302
    assert signed_in("pops_liverpool").get("/cases").status_code == 200
    assert app.test_client().get("/api/v1/cases", headers=headers).status_code == 401


def test_reset_sign_in_ends_sessions_replaces_the_password_and_forces_enrolment(
    app, world, signed_in, app_sessions
):
    caseworker = signed_in("pops_liverpool")
    target = world.actors["pops_liverpool"]

    response = _post(signed_in("pops_admin"), f"/admin/users/{target.user_id}/second-factor/reset")

    assert response.status_code == 200
    password = SET_UP_PASSWORD.search(response.text)
    assert password is not None
    assert caseworker.get("/cases").status_code == 302
    assert _password_step(app.test_client(), "pops", target.username, PASSWORD).status_code != 302
    again = _password_step(app.test_client(), "pops", target.username, password[1])
    assert again.status_code == 302 and again.location == "/o/pops/login/enrol"
    user = _user(app_sessions, target.user_id)
    assert user.totp_secret_sealed is None and not user.totp_confirmed


@pytest.mark.parametrize("action", ["deactivate", "second-factor/reset"])
def test_admin_cannot_lock_themselves_out(world, signed_in, app_sessions, action):
    me = world.actors["pops_admin"].user_id

    response = _post(signed_in("pops_admin"), f"/admin/users/{me}/{action}")

    assert response.status_code == 409
    user = _user(app_sessions, me)
    assert user.active and user.totp_confirmed


def test_deactivation_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    world, signed_in, app_sessions
):
    target = world.actors["pops_liverpool"].user_id

    response = signed_in("pops_admin").post(
        f"/admin/users/{target}/deactivate", data={"csrf_token": "forged"}
    )

    assert response.status_code == 400
    assert _user(app_sessions, target).active


# --- another charity's users -----------------------------------------------------------------

USER_ROUTES = (
    ("get", "/admin/users/{id}"),
    ("post", "/admin/users/{id}/prisons"),
    ("post", "/admin/users/{id}/deactivate"),
    ("post", "/admin/users/{id}/reactivate"),
    ("post", "/admin/users/{id}/second-factor/reset"),
)


@pytest.mark.parametrize(("method", "route"), USER_ROUTES)
def test_pops_admin_gets_the_same_404_for_a_nepacs_user_and_a_missing_one(
    world, signed_in, app_sessions, method, route
):
    admin = signed_in("pops_admin")
    nepacs = world.actors["nepacs_durham"].user_id
    before = _user(app_sessions, nepacs)

    def ask(user_id: uuid.UUID) -> TestResponse:
        url = route.format(id=user_id)
        return admin.get(url) if method == "get" else _post(admin, url, {"prisons": ["LPI"]})

    foreign, missing = ask(nepacs), ask(missing_id())

    assert foreign.status_code == missing.status_code == 404
    assert foreign.data == missing.data
    after = _user(app_sessions, nepacs)
    assert (after.active, after.prison_codes, after.session_epoch, after.password_hash) == (
        before.active,
        before.prison_codes,
        before.session_epoch,
        before.password_hash,
    )


def test_pops_staff_list_shows_pops_users_and_no_nepacs_user(world, signed_in):
    page = signed_in("pops_admin").get("/admin/users")

    assert page.status_code == 200
    for key, actor in world.actors.items():
        shown = f">{actor.username}<" in page.text
        assert shown is (actor.org_slug == "pops"), key


# --- who may use the admin pages -------------------------------------------------------------


def _admin_requests(world: World) -> dict[str, tuple[str, str, dict[str, object]]]:
    target = world.actors["pops_wakefield"].user_id
    case = world.cases[("pops", "LPI")]
    return {
        "admin.users": ("get", "/admin/users", {}),
        "admin.new_user": ("post", "/admin/users/new", NEW_STAFF),
        "admin.user": ("get", f"/admin/users/{target}", {}),
        "admin.user_prisons": ("post", f"/admin/users/{target}/prisons", {"prisons": ["LPI"]}),
        "admin.deactivate": ("post", f"/admin/users/{target}/deactivate", {}),
        "admin.reactivate": ("post", f"/admin/users/{target}/reactivate", {}),
        "admin.reset_second_factor": (
            "post",
            f"/admin/users/{target}/second-factor/reset",
            {},
        ),
        "admin.access_log": ("get", f"/admin/access-log?case={case}", {}),
    }


def test_every_admin_route_is_in_the_refusal_matrix(app, world):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    admin_only = {e for e in endpoints if e.startswith("admin.")} - {"admin.manager"}
    assert admin_only == set(_admin_requests(world))


@pytest.mark.parametrize("actor", ["pops_liverpool", "pops_manager", "coordinator", "ministry"])
def test_staff_who_are_not_charity_admins_get_403_on_every_admin_route(
    world, signed_in, app_sessions, actor
):
    client = signed_in(actor)
    target = world.actors["pops_wakefield"].user_id
    before = _user(app_sessions, target)

    for endpoint, (method, url, data) in _admin_requests(world).items():
        response = client.get(url) if method == "get" else _post(client, url, data)
        assert response.status_code == 403, (endpoint, response.status_code)
        if endpoint == "admin.access_log":
            assert client.get("/admin/access-log").status_code == 403

    after = _user(app_sessions, target)
    assert (after.active, after.prison_codes, after.session_epoch) == (
        before.active,
        before.prison_codes,
        before.session_epoch,
    )
    with app_sessions() as session:
        created = session.scalar(select(User).where(User.username == NEW_STAFF["username"]))
    assert created is None


# --- audit -----------------------------------------------------------------------------------

CHANGES = {
    "user.create": lambda target: ("/admin/users/new", NEW_STAFF),
    "user.prisons": lambda target: (f"/admin/users/{target}/prisons", {"prisons": ["LPI", "WDI"]}),
    "user.deactivate": lambda target: (f"/admin/users/{target}/deactivate", {}),
    "user.reactivate": lambda target: (f"/admin/users/{target}/reactivate", {}),
    "user.reset_second_factor": lambda target: (f"/admin/users/{target}/second-factor/reset", {}),
}


@pytest.mark.parametrize("action", list(CHANGES))
def test_every_admin_change_writes_exactly_one_audit_event_naming_ids_only(
    world, signed_in, app_sessions, action
):
    admin = signed_in("pops_admin")
    target = world.actors["pops_wakefield"]
    url, data = CHANGES[action](target.user_id)
    token = csrf_from(admin.get("/account").text)
    chain = _chain(world, "pops")
    head, total = _head(app_sessions, chain), _all_events(app_sessions)

    response = admin.post(url, data={**data, "csrf_token": token})

    assert response.status_code in (200, 302), response.text
    events = _events_after(app_sessions, chain, head)
    assert _all_events(app_sessions) == total + 1
    assert [event.action for event in events] == [action]
    event = events[0]
    assert event.actor == str(world.actors["pops_admin"].user_id)
    assert event.record_type == "user" and event.outcome == "ok"
    if action == "user.create":
        with app_sessions() as session:
            made = session.scalar(select(User.id).where(User.username == NEW_STAFF["username"]))
        assert event.to_event().record_ids == (str(made),)
    else:
        assert event.to_event().record_ids == (str(target.user_id),)
    stored = " ".join(str(value) for value in astuple(event.to_event()))
    for name in (target.username, target.key, NEW_STAFF["username"], NEW_STAFF["display_name"]):
        assert name not in stored


# --- who looked at a case --------------------------------------------------------------------


def test_pops_admin_sees_who_read_a_pops_case_and_the_question_is_recorded(
    world, signed_in, app_sessions
):
    case = world.cases[("pops", "LPI")]
    assert signed_in("pops_liverpool").get(f"/cases/{case}").status_code == 200
    admin = signed_in("pops_admin")
    chain = _chain(world, "pops")
    head = _head(app_sessions, chain)

    page = admin.get(f"/admin/access-log?case={case}")

    assert page.status_code == 200
    reader = world.actors["pops_liverpool"].key  # the world's display name
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", page.text, re.S)
    assert any(reader in row and "case.read" in row for row in rows)
    events = _events_after(app_sessions, chain, head)
    assert [(e.action, e.to_event().record_ids) for e in events] == [
        ("case.access_log", (str(case),))
    ]
    assert events[0].actor == str(world.actors["pops_admin"].user_id)


def test_access_log_for_a_nepacs_case_shows_no_events_even_after_nepacs_staff_read_it(
    world, signed_in
):
    case = world.cases[("nepacs", "DMI")]
    assert signed_in("nepacs_durham").get(f"/cases/{case}").status_code == 200

    page = signed_in("pops_admin").get(f"/admin/access-log?case={case}")

    assert page.status_code == 200
    assert "No events for this case id" in page.text
    assert world.actors["nepacs_durham"].key not in page.text


def test_access_log_refuses_a_malformed_case_id_with_a_message(signed_in):
    page = signed_in("pops_admin").get("/admin/access-log?case=not-a-case")

    assert page.status_code == 400
    assert 'href="#case"' in page.text


# --- a site manager's caseload by prison -----------------------------------------------------


def _add_cases(app_sessions: sessionmaker[Session], world: World, today: date) -> None:
    """A spread of statuses and review dates at both POPS prisons, on the world's families."""
    pops = world.organisations["pops"]
    plan = {
        "LPI": [
            (CaseStatus.REFERRED, today - timedelta(days=3)),
            (CaseStatus.REFERRED, today + timedelta(days=3)),
            (CaseStatus.AWAITING_CONSENT, None),
            (CaseStatus.ACTIVE, today - timedelta(days=30)),
            (CaseStatus.CLOSED, today - timedelta(days=30)),
        ],
        "WDI": [
            (CaseStatus.ACTIVE, today),
            (CaseStatus.TRANSFER_PENDING, today - timedelta(days=1)),
            (CaseStatus.TRANSFERRED_OUT, today - timedelta(days=1)),
        ],
    }
    with app_sessions() as session:
        bind_tenant(session, TenantContext(pops, frozenset(plan), Role.SITE_MANAGER))
        for code, cases in plan.items():
            family = session.scalar(select(Case.family_id).where(Case.prison_code == code))
            for n, (status, review) in enumerate(cases):
                session.add(
                    Case(
                        charity_id=pops,
                        prison_code=code,
                        family_id=family,
                        reference=f"{code}-26-ADM{n:03d}",
                        status=status.value,
                        referral_source=ReferralSource.SELF.value,
                        opened_on=today - timedelta(days=60),
                        closed_on=today if status is CaseStatus.CLOSED else None,
                        review_due_on=review,
                    )
                )
        session.commit()
    # Another charity's open case under a POPS prison's code: only the charity wall keeps it out.
    nepacs = world.organisations["nepacs"]
    with app_sessions() as session:
        bind_tenant(session, TenantContext(nepacs, frozenset({"LPI"}), Role.SITE_MANAGER))
        person = PersonInCustody(id=uuid.uuid4(), charity_id=nepacs, prison_code="LPI")
        session.add(person)
        session.flush()
        family = Family(
            id=uuid.uuid4(), charity_id=nepacs, prison_code="LPI", person_in_custody_id=person.id
        )
        session.add(family)
        session.flush()
        session.add(
            Case(
                charity_id=nepacs,
                prison_code="LPI",
                family_id=family.id,
                reference="LPI-26-NEPACS",
                status=CaseStatus.ACTIVE.value,
                referral_source=ReferralSource.SELF.value,
                opened_on=today - timedelta(days=60),
                review_due_on=today - timedelta(days=90),
            )
        )
        session.commit()


def _expected(
    app_sessions: sessionmaker[Session], world: World, today: date
) -> dict[str, Counter[str]]:
    """Counted in Python from the POPS case rows, apart from the service's SQL and its walls."""
    pops = world.organisations["pops"]
    expected: dict[str, Counter[str]] = {"LPI": Counter(), "WDI": Counter()}
    open_values = {status.value for status in OPEN_STATUSES}
    with app_sessions() as session:
        bind_tenant(session, TenantContext(pops, frozenset(expected), Role.SITE_MANAGER))
        for case in session.scalars(select(Case)):
            if case.charity_id != pops or case.status not in open_values:
                continue
            expected[case.prison_code][case.status] += 1
            expected[case.prison_code]["open"] += 1
            if case.review_due_on is not None and case.review_due_on < today:
                expected[case.prison_code]["overdue"] += 1
    return expected


def _cell(html: str, prison: str, column: str) -> int:
    match = re.search(rf'id="count-{prison}-{column}">(?:<strong[^>]*>)?(\d+)<', html)
    assert match is not None, (prison, column)
    return int(match[1])


def test_pops_manager_sees_open_cases_and_overdue_reviews_counted_per_prison(
    world, signed_in, app_sessions, clock
):
    today = clock.today()
    _add_cases(app_sessions, world, today)
    expected = _expected(app_sessions, world, today)
    assert expected["LPI"]["overdue"] > 0 and expected["WDI"]["transfer_pending"] > 0

    page = signed_in("pops_manager").get("/manager")

    assert page.status_code == 200
    for prison, counts in expected.items():
        for status in OPEN_STATUSES:
            assert _cell(page.text, prison, status.value) == counts[status.value], status
        assert _cell(page.text, prison, "open") == counts["open"]
        assert _cell(page.text, prison, "overdue") == counts["overdue"]
    assert 'id="count-DMI-' not in page.text


@pytest.mark.parametrize("actor", ["pops_liverpool", "pops_admin", "ministry"])
def test_only_site_managers_get_the_caseload_by_prison(signed_in, actor):
    assert signed_in(actor).get("/manager").status_code == 403
