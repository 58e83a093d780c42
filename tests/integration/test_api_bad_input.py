"""Bad input to every write operation of the case API: refused with 4xx (422 mostly), an error
envelope naming the field, and not one row of any case table changed (DESIGN.md section 10:
schemas are allowlists; STYLE.md 6: ids and charity are output-only).

Rows are compared whole, table by table, before and after, as the database holds them: on
PostgreSQL through the superuser, because row-level security is forced on the tables' owner too
and would show it nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.models import Base
from tenants.model import is_tenant_table
from tests.support import api_bodies as bodies
from tests.support.api_bodies import CASES, OpenedFamily, days_ago, open_family

CASE_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if is_tenant_table(t))
MISSING = object()
TOMORROW = days_ago(-2)  # two days ahead, so it is the future wherever the test runs
NO_SUCH_DAY = "2025-02-30"
BEFORE_THE_CASE = days_ago(30)  # the API's referrals open a week ago
LONG = 5001


@dataclass(frozen=True)
class Setting:
    """The records a bad body may point at: the worker's own family and others."""

    family: OpenedFamily
    # A member of another Liverpool family: the worker may see it, but not use it here.
    other_member_id: str
    wakefield_family_id: str
    wakefield_worker_id: str
    nepacs_worker_id: str
    pops_id: str
    nepacs_id: str


# name -> (method, path, good body). Paths name the worker's own family's records.
WRITES: dict[str, tuple[str, str, Callable[[Setting], dict[str, Any]]]] = {
    "open-case": ("POST", CASES, lambda s: bodies.referral()),
    "change-case": (
        "PATCH",
        CASES + "/{case}",
        lambda s: {"review_due_on": days_ago(-30), "safeguarding": True, "add_needs": ["housing"]},
    ),
    "close-case": ("POST", CASES + "/{case}/closure", lambda s: {"reason": "outcomes_met"}),
    "add-member": ("POST", CASES + "/{case}/members", lambda s: bodies.child()),
    "add-contact": ("POST", CASES + "/{case}/contacts", lambda s: bodies.contact()),
    "add-note": ("POST", CASES + "/{case}/notes", lambda s: bodies.note()),
    "record-assessment": ("POST", CASES + "/{case}/assessments", lambda s: bodies.assessment()),
    "add-action": ("POST", CASES + "/{case}/actions", lambda s: bodies.action()),
    "settle-action": (
        "POST",
        CASES + "/{case}/actions/{action}/settlement",
        lambda s: {"status": "done"},
    ),
    "record-consent": (
        "POST",
        CASES + "/{case}/consents",
        lambda s: bodies.consent(s.family.main_contact_id),
    ),
    "withdraw-consent": (
        "POST",
        CASES + "/{case}/consents/{consent}/withdrawal",
        lambda s: bodies.withdrawal(),
    ),
    "record-equality": (
        "PUT",
        CASES + "/{case}/members/{member}/equality",
        lambda s: bodies.equality(),
    ),
}


@dataclass(frozen=True)
class Bad:
    operation: str
    label: str
    # Dotted path in the body -> new value (MISSING removes it; a callable takes the Setting).
    changes: dict[str, Any]
    field: str
    # For record-equality: a member id for the URL instead of the worker's main contact.
    member: Callable[[Setting], str] | None = None


def _other_member(s: Setting) -> str:
    return s.other_member_id


BAD = [
    # --- opening a case --------------------------------------------------------------------
    Bad("open-case", "prison-as-number", {"prison_code": 123}, "prison_code"),
    Bad("open-case", "no-prison", {"prison_code": MISSING}, "prison_code"),
    Bad("open-case", "no-referral-source", {"referral_source": MISSING}, "referral_source"),
    Bad("open-case", "unknown-source", {"referral_source": "gossip"}, "referral_source"),
    Bad("open-case", "other-prison", {"prison_code": "WDI"}, "prison_code"),
    Bad("open-case", "other-charitys-prison", {"prison_code": "DMI"}, "prison_code"),
    Bad("open-case", "no-such-day", {"opened_on": NO_SUCH_DAY}, "opened_on"),
    Bad("open-case", "opened-tomorrow", {"opened_on": TOMORROW}, "opened_on"),
    Bad("open-case", "review-before-opening", {"review_due_on": BEFORE_THE_CASE}, "review_due_on"),
    Bad("open-case", "oversize-name", {"person.name": "x" * 201}, "person.name"),
    Bad(
        "open-case", "bad-prison-number", {"person.prison_number": "12345"}, "person.prison_number"
    ),
    Bad("open-case", "born-tomorrow", {"person.date_of_birth": TOMORROW}, "person.date_of_birth"),
    Bad("open-case", "no-one", {"person": MISSING}, "person"),
    Bad(
        "open-case",
        "family-of-other-prison",
        {"person": MISSING, "family_id": lambda s: s.wakefield_family_id},
        "family_id",
    ),
    Bad(
        "open-case",
        "contact-no-such-day",
        {"main_contact.date_of_birth": NO_SUCH_DAY},
        "main_contact.date_of_birth",
    ),
    Bad("open-case", "contact-bad-email", {"main_contact.email": "nope"}, "main_contact.email"),
    Bad(
        "open-case",
        "contact-unknown-field",
        {"main_contact.nickname": "S"},
        "main_contact.nickname",
    ),
    Bad(
        "open-case",
        "contact-not-main",
        {"main_contact.is_main_contact": False},
        "main_contact.is_main_contact",
    ),
    Bad("open-case", "unknown-need", {"needs": ["bogus"]}, "needs"),
    Bad("open-case", "needs-not-a-list", {"needs": "visits"}, "needs"),
    Bad("open-case", "safeguarding-maybe", {"safeguarding": "maybe"}, "safeguarding"),
    Bad(
        "open-case",
        "key-worker-at-other-prison",
        {"key_worker_id": lambda s: s.wakefield_worker_id},
        "key_worker_id",
    ),
    Bad(
        "open-case",
        "key-worker-of-other-charity",
        {"key_worker_id": lambda s: s.nepacs_worker_id},
        "key_worker_id",
    ),
    Bad("open-case", "unknown-field", {"colour": "red"}, "colour"),
    # --- changing a case -------------------------------------------------------------------
    Bad("change-case", "safeguarding-maybe", {"safeguarding": "maybe"}, "safeguarding"),
    Bad("change-case", "no-such-day", {"review_due_on": NO_SUCH_DAY}, "review_due_on"),
    Bad("change-case", "review-before-opening", {"review_due_on": "2000-01-01"}, "review_due_on"),
    Bad("change-case", "unknown-need", {"add_needs": ["bogus"]}, "add_needs"),
    Bad("change-case", "key-worker-not-uuid", {"key_worker_id": "bob"}, "key_worker_id"),
    Bad(
        "change-case",
        "key-worker-at-other-prison",
        {"key_worker_id": lambda s: s.wakefield_worker_id},
        "key_worker_id",
    ),
    Bad("change-case", "reference", {"reference": "LPI-00-MINE"}, "reference"),
    # --- closing a case --------------------------------------------------------------------
    Bad("close-case", "no-reason", {"reason": MISSING}, "reason"),
    Bad("close-case", "unknown-reason", {"reason": "bored"}, "reason"),
    Bad("close-case", "closed-tomorrow", {"closed_on": TOMORROW}, "closed_on"),
    Bad("close-case", "no-such-day", {"closed_on": NO_SUCH_DAY}, "closed_on"),
    Bad("close-case", "closed-before-opening", {"closed_on": BEFORE_THE_CASE}, "closed_on"),
    Bad("close-case", "date-as-number", {"closed_on": 20250101}, "closed_on"),
    # --- family members --------------------------------------------------------------------
    Bad("add-member", "no-name", {"name": MISSING}, "name"),
    Bad("add-member", "empty-name", {"name": ""}, "name"),
    Bad("add-member", "blank-name", {"name": "   "}, "name"),
    Bad("add-member", "oversize-name", {"name": "x" * 201}, "name"),
    Bad("add-member", "unknown-kind", {"kind": "pet"}, "kind"),
    Bad("add-member", "relationship-as-number", {"relationship": 7}, "relationship"),
    Bad("add-member", "born-tomorrow", {"date_of_birth": TOMORROW}, "date_of_birth"),
    Bad("add-member", "no-such-day", {"date_of_birth": NO_SUCH_DAY}, "date_of_birth"),
    Bad("add-member", "child-without-age", {"age_band": MISSING}, "age_band"),
    Bad("add-member", "adult-with-age-band", {"kind": "adult"}, "age_band"),
    Bad("add-member", "bad-email", {"email": "nope"}, "email"),
    Bad("add-member", "bad-phone", {"phone": "call me"}, "phone"),
    Bad("add-member", "oversize-address", {"address": "x" * 501}, "address"),
    Bad("add-member", "family-id", {"family_id": lambda s: s.wakefield_family_id}, "family_id"),
    # --- contacts --------------------------------------------------------------------------
    Bad("add-contact", "no-date", {"occurred_on": MISSING}, "occurred_on"),
    Bad("add-contact", "tomorrow", {"occurred_on": TOMORROW}, "occurred_on"),
    Bad("add-contact", "before-the-case", {"occurred_on": BEFORE_THE_CASE}, "occurred_on"),
    Bad("add-contact", "no-such-day", {"occurred_on": NO_SUCH_DAY}, "occurred_on"),
    Bad("add-contact", "unknown-kind", {"kind": "letter"}, "kind"),
    Bad("add-contact", "too-many-children", {"children_count": 31}, "children_count"),
    Bad("add-contact", "count-as-words", {"children_count": "two"}, "children_count"),
    Bad(
        "add-contact",
        "count-without-children",
        {"children_present": False},
        "children_count",
    ),
    Bad("add-contact", "zero-minutes", {"duration_minutes": 0}, "duration_minutes"),
    Bad("add-contact", "oversize-summary", {"summary": "x" * LONG}, "summary"),
    Bad("add-contact", "first-visit-by-phone", {"kind": "phone"}, "first_time_visitor"),
    Bad("add-contact", "recorded-by", {"recorded_by": "someone"}, "recorded_by"),
    # --- notes -----------------------------------------------------------------------------
    Bad("add-note", "no-body", {"body": MISSING}, "body"),
    Bad("add-note", "empty-body", {"body": ""}, "body"),
    Bad("add-note", "blank-body", {"body": "   "}, "body"),
    Bad("add-note", "oversize-body", {"body": "x" * LONG}, "body"),
    Bad("add-note", "body-as-number", {"body": 42}, "body"),
    Bad("add-note", "written-by", {"written_by": "someone"}, "written_by"),
    # --- outcome assessments ---------------------------------------------------------------
    Bad("record-assessment", "score-11", {"scores.physical_health": 11}, "scores"),
    Bad("record-assessment", "score-0", {"scores.physical_health": 0}, "scores"),
    Bad("record-assessment", "score-as-text", {"scores.physical_health": "5"}, "scores"),
    Bad("record-assessment", "score-fraction", {"scores.physical_health": 5.5}, "scores"),
    Bad("record-assessment", "area-missing", {"scores.work": MISSING}, "scores.work"),
    Bad("record-assessment", "unknown-area", {"scores.charm": 5}, "scores.charm"),
    Bad("record-assessment", "no-scores", {"scores": {}}, "scores"),
    Bad("record-assessment", "unknown-framework", {"framework": "horoscope"}, "framework"),
    Bad("record-assessment", "tomorrow", {"assessed_on": TOMORROW}, "assessed_on"),
    Bad("record-assessment", "no-such-day", {"assessed_on": NO_SUCH_DAY}, "assessed_on"),
    Bad("record-assessment", "before-the-case", {"assessed_on": BEFORE_THE_CASE}, "assessed_on"),
    Bad("record-assessment", "no-date", {"assessed_on": MISSING}, "assessed_on"),
    # --- actions ---------------------------------------------------------------------------
    Bad("add-action", "no-description", {"description": MISSING}, "description"),
    Bad("add-action", "blank-description", {"description": "  "}, "description"),
    Bad("add-action", "oversize-description", {"description": "x" * LONG}, "description"),
    Bad("add-action", "unknown-owner", {"owner": "nobody"}, "owner"),
    Bad("add-action", "due-before-the-case", {"due_on": BEFORE_THE_CASE}, "due_on"),
    Bad("add-action", "no-such-day", {"due_on": NO_SUCH_DAY}, "due_on"),
    # --- settling an action ----------------------------------------------------------------
    Bad("settle-action", "back-to-open", {"status": "open"}, "status"),
    Bad("settle-action", "unknown-status", {"status": "finished"}, "status"),
    Bad("settle-action", "no-status", {"status": MISSING}, "status"),
    Bad("settle-action", "tomorrow", {"settled_on": TOMORROW}, "settled_on"),
    Bad("settle-action", "no-such-day", {"settled_on": NO_SUCH_DAY}, "settled_on"),
    Bad("settle-action", "before-the-case", {"settled_on": BEFORE_THE_CASE}, "settled_on"),
    Bad("settle-action", "completed-on", {"completed_on": days_ago(0)}, "completed_on"),
    # --- consent ---------------------------------------------------------------------------
    Bad(
        "record-consent",
        "member-of-other-family",
        {"family_member_id": _other_member},
        "family_member_id",
    ),
    Bad(
        "record-consent",
        "given-by-member-of-other-family",
        {"given_by_member_id": _other_member},
        "given_by_member_id",
    ),
    Bad(
        "record-consent",
        "child-without-parent",
        {"family_member_id": lambda s: s.family.child_id},
        "given_by_member_id",
    ),
    Bad("record-consent", "member-not-named", {"family_member_id": MISSING}, "family_member_id"),
    Bad(
        "record-consent",
        "person-in-custody-with-member",
        {"subject": "person_in_custody"},
        "family_member_id",
    ),
    Bad("record-consent", "decision-withdrawn", {"decision": "withdrawn"}, "decision"),
    Bad("record-consent", "decision-maybe", {"decision": "maybe"}, "decision"),
    Bad("record-consent", "no-categories", {"categories": []}, "categories"),
    Bad("record-consent", "unknown-category", {"categories": ["secrets"]}, "categories"),
    Bad("record-consent", "from-tomorrow", {"valid_from": TOMORROW}, "valid_from"),
    Bad("record-consent", "no-such-day", {"valid_from": NO_SUCH_DAY}, "valid_from"),
    # A year past a start on the calendar's last day is no date at all: refused, not a crash.
    Bad("record-consent", "from-the-last-day", {"valid_from": "9999-12-31"}, "valid_from"),
    Bad("record-consent", "six-years", {"expires_on": days_ago(-6 * 365)}, "expires_on"),
    Bad("record-consent", "ends-before-start", {"expires_on": days_ago(1)}, "expires_on"),
    Bad(
        "record-consent",
        "transfer-to-own-charity",
        {"purpose": "transfer", "recipient_charity_id": lambda s: s.pops_id},
        "recipient_charity_id",
    ),
    Bad("record-consent", "transfer-to-no-one", {"purpose": "transfer"}, "recipient_charity_id"),
    Bad(
        "record-consent",
        "contact-naming-a-charity",
        {"recipient_charity_id": lambda s: s.nepacs_id},
        "recipient_charity_id",
    ),
    Bad("record-consent", "no-method", {"method": MISSING}, "method"),
    Bad("record-consent", "unknown-verification", {"verification": "trust me"}, "verification"),
    # --- withdrawing consent ---------------------------------------------------------------
    Bad("withdraw-consent", "no-method", {"method": MISSING}, "method"),
    Bad("withdraw-consent", "unknown-verification", {"verification": "trust me"}, "verification"),
    Bad("withdraw-consent", "tomorrow", {"withdrawn_on": TOMORROW}, "withdrawn_on"),
    Bad("withdraw-consent", "before-the-consent", {"withdrawn_on": days_ago(3)}, "withdrawn_on"),
    Bad("withdraw-consent", "no-such-day", {"withdrawn_on": NO_SUCH_DAY}, "withdrawn_on"),
    Bad("withdraw-consent", "reason", {"reason": "changed mind"}, "reason"),
    # --- equality monitoring ---------------------------------------------------------------
    Bad("record-equality", "member-of-other-family", {}, "family_member_id", _other_member),
    Bad("record-equality", "unknown-ethnicity", {"ethnicity": "martian"}, "ethnicity"),
    Bad("record-equality", "no-sex", {"sex": MISSING}, "sex"),
    Bad("record-equality", "disability-as-boolean", {"disability": True}, "disability"),
    Bad("record-equality", "oversize-language", {"first_language": "x" * 41}, "first_language"),
    # Stored in clear, and PostgreSQL text cannot hold NUL: refused, not a crash.
    Bad("record-equality", "nul-in-language", {"first_language": "Engl\x00ish"}, "first_language"),
    Bad(
        "record-equality",
        "member-id-in-body",
        {"family_member_id": lambda s: s.family.child_id},
        "family_member_id",
    ),
]


def _output_only(operation: str) -> list[str]:
    """Fields the service decides: never input. (Settling an action does take a status.)"""
    fields = ["id", "charity_id", "status", "case_id", "created_at"]
    return [f for f in fields if not (operation == "settle-action" and f == "status")]


BAD += [
    Bad(operation, f"output-only-{field}", {field: value}, field)
    for operation in WRITES
    for field in _output_only(operation)
    for value in ["00000000-0000-4000-8000-000000000000" if field.endswith("id") else "closed"]
]


def _apply(body: dict[str, Any], changes: dict[str, Any], setting: Setting) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        if value is MISSING:
            target.pop(leaf, None)
        else:
            target[leaf] = value(setting) if callable(value) else value
    return body


@pytest.fixture
def case_rows(database, postgres) -> Iterator[Callable[[], dict[str, list[tuple[str, ...]]]]]:
    """Every row of every case table, as text, sorted: a snapshot to compare."""
    url = database.owner_url
    if database.backend == "postgresql":
        url = postgres.url(database.name)  # the superuser: row-level security does not apply
    engine = create_engine(url, poolclass=NullPool)

    def snapshot() -> dict[str, list[tuple[str, ...]]]:
        with engine.connect() as connection:
            return {
                table: sorted(
                    tuple(str(value) for value in row)
                    for row in connection.execute(text(f"SELECT * FROM {table}"))
                )
                for table in CASE_TABLES
            }

    yield snapshot
    engine.dispose()


@pytest.fixture
def setting(app, world, bearer) -> Setting:
    client, headers = app.test_client(), bearer("pops_liverpool")
    manager = bearer("pops_manager")
    wakefield_case = world.cases[("pops", "WDI")]
    wakefield = client.get(f"{CASES}/{wakefield_case}/family", headers=manager).get_json()
    other_case = world.cases[("pops", "LPI")]
    other = client.post(f"{CASES}/{other_case}/members", json=bodies.child(), headers=headers)
    assert other.status_code == 201, other.text
    return Setting(
        family=open_family(client, headers),
        other_member_id=other.get_json()["id"],
        wakefield_family_id=wakefield["family_id"],
        wakefield_worker_id=str(world.actors["pops_wakefield"].user_id),
        nepacs_worker_id=str(world.actors["nepacs_durham"].user_id),
        pops_id=str(world.organisations["pops"]),
        nepacs_id=str(world.organisations["nepacs"]),
    )


def _send(app, headers, setting: Setting, operation: str, body: Any, member: str | None = None):
    method, template, _ = WRITES[operation]
    url = template.format(
        case=setting.family.case_id,
        action=setting.family.action_id,
        consent=setting.family.consent_id,
        member=member or setting.family.main_contact_id,
    )
    return app.test_client().open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize("operation", list(WRITES))
def test_the_good_body_of_each_operation_is_written(app, bearer, setting, case_rows, operation):
    # The control for every refusal below: the same body, unchanged, is accepted and written,
    # and the snapshot sees the write.
    before = case_rows()
    body = WRITES[operation][2](setting)
    response = _send(app, bearer("pops_liverpool"), setting, operation, body)
    assert response.status_code in (200, 201), response.text
    assert case_rows() != before


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: f"{bad.operation}:{bad.label}")
def test_bad_input_is_refused_naming_the_field_and_writes_no_row(
    app, bearer, setting, case_rows, bad
):
    headers = bearer("pops_liverpool")
    body = _apply(WRITES[bad.operation][2](setting), bad.changes, setting)
    member = bad.member(setting) if bad.member else None
    before = case_rows()
    assert before["cases"] and before["family_members"] and before["consents"]

    response = _send(app, headers, setting, bad.operation, body, member)

    assert response.status_code == 422, response.text
    error = response.get_json()["error"]
    assert error["status"] == 422 and error["code"] == "invalid_input"
    named = error["fields"]
    assert any(f == bad.field or f.startswith(f"{bad.field}.") for f in named), named
    assert case_rows() == before


@pytest.mark.parametrize("operation", list(WRITES))
def test_a_body_that_is_not_an_object_is_refused_and_writes_no_row(
    app, bearer, setting, case_rows, operation
):
    before = case_rows()
    response = _send(app, bearer("pops_liverpool"), setting, operation, [{"status": "done"}])
    assert response.status_code == 422, response.text
    assert "_schema" in response.get_json()["error"]["fields"]
    assert case_rows() == before
