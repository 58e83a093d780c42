"""The staff web pages for case records, driven as a family support worker drives them: open a
referral, read the family page, and do a day's work through its forms.

Every form is checked three ways: what is posted is what is stored (read back through the page or
the database), bad input of every kind is refused with the field named in the error summary and
nothing written, and a closed case refuses new work. Row counts are taken below every wall (the
owner on SQLite, the superuser on PostgreSQL), so a write the app could not see would still count.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.models import (
    ActionItem,
    Base,
    Case,
    CaseNeed,
    Contact,
    EqualityMonitoring,
    OutcomeScore,
)
from tenants.model import is_tenant_table
from tests.conftest import csrf_from
from tests.support.clock import DEFAULT_NOW
from tests.support.world import World

# The day of the app's clock (the test's, tests/support/clock.py): a UTC day.
TODAY = DEFAULT_NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
AREAS = (
    "physical_health",
    "well_being",
    "emotional_needs",
    "children_safe",
    "social_networks",
    "education",
    "boundaries",
    "routine",
    "home_money",
    "work",
)
MEMBER_OPTION = re.compile(r'<option value="([0-9a-f-]{36})">([^<(]+?) \(')

Sessions = sessionmaker[Session]


# --- helpers ---------------------------------------------------------------------------------


def _date(name: str, day: date | tuple[str, str, str]) -> dict[str, str]:
    parts = (str(day.day), str(day.month), str(day.year)) if isinstance(day, date) else day
    return {f"{name}-day": parts[0], f"{name}-month": parts[1], f"{name}-year": parts[2]}


def _rows(all_rows: Sessions) -> dict[str, int]:
    """Rows in every case table, counted below the walls."""
    with all_rows() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(text(table.name))) or 0
            for table in Base.metadata.sorted_tables
            if is_tenant_table(table)
        }


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def _post(client: FlaskClient, url: str, data: dict[str, object], form_url: str | None = None):
    """Post a form the way a browser does: with the CSRF token of the page it came from."""
    page = client.get(form_url or url)
    assert page.status_code == 200, page.text
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def _summary_links(html: str) -> list[str]:
    summary = html[html.index("govuk-error-summary") :]
    summary = summary[: summary.index("</ul>")]
    return re.findall(r'<a href="#([^"]+)">', summary)


def referral(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "prison_code": "LPI",
        "referral_source": "offender_manager",
        "person.name": "Kieran Testperson",
        "person.prison_number": "c4321de",
        **_date("person.date_of_birth", date(1990, 8, 14)),
        **_date("person.expected_release_on", date(2027, 9, 1)),
        "main_contact.name": "Shannon Testperson",
        "main_contact.relationship": "partner",
        "main_contact.phone": "07700 900123",
        "main_contact.email": "shannon@example.org",
        "main_contact.address": "1 Example Street, Liverpool",
        "needs": ["family_contact", "housing"],
        "safeguarding": "true",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _open(client: FlaskClient, **changes: object) -> uuid.UUID:
    response = _post(client, "/cases/new", referral(**changes))
    assert response.status_code == 302, response.text
    return uuid.UUID(response.location.rsplit("/", 1)[-1])


def _members(client: FlaskClient, case_id: uuid.UUID) -> dict[str, str]:
    """Family members by name, from the consent form's choices (as a worker finds them)."""
    page = client.get(f"/cases/{case_id}/consents/new").text
    return {name.strip(): member_id for member_id, name in MEMBER_OPTION.findall(page)}


def _add_member(client: FlaskClient, case_id: uuid.UUID, name: str, **changes: str) -> str:
    data = {"name": name, "kind": "adult", "relationship": "partner", **changes}
    response = _post(client, f"/cases/{case_id}/members/new", data)
    assert response.status_code == 302, response.text
    return _members(client, case_id)[name]


def _scores(first: int = 5, **changes: int) -> dict[str, str]:
    return {f"scores.{area}": str(changes.get(area, first)) for area in AREAS}


@pytest.fixture
def liverpool(signed_in: Callable[[str], FlaskClient]) -> FlaskClient:
    return signed_in("pops_liverpool")


@pytest.fixture
def world_case(world: World) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


# --- opening a referral ------------------------------------------------------------------------


def test_liverpool_worker_opens_a_referral_and_sees_it_on_the_family_page(
    liverpool, all_rows, world
):
    before = _rows(all_rows)
    case_id = _open(liverpool, **_date("review_due_on", TODAY + timedelta(days=10)))
    assert _grown(before, _rows(all_rows)) == {
        "people_in_custody": 1,
        "families": 1,
        "family_members": 1,
        "cases": 1,
        "case_needs": 2,
    }
    page = liverpool.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert "Referral opened as case LPI-" in html  # the success banner
    for shown in (
        "Kieran Testperson",
        "C4321DE",
        "14 August 1990",
        "1 September 2027",
        "Liverpool (HMP)",
        "Offender manager",
        "Maintaining family contact",
        "Housing",
        "Safeguarding concern",
        "Shannon Testperson",
        "07700 900123",
        "shannon@example.org",
        (TODAY + timedelta(days=10)).strftime("%-d %B %Y"),
        "Referred",
        "Case opened",
    ):
        assert shown in html, shown
    # Labels, never stored values.
    assert "family_contact" not in html and "offender_manager" not in html
    with all_rows() as session:
        case = session.get(Case, case_id)
        assert (case.prison_code, case.referral_source, case.safeguarding) == (
            "LPI",
            "offender_manager",
            True,
        )
        assert case.key_worker_id == world.actors["pops_liverpool"].user_id
        needs = set(session.scalars(select(CaseNeed.need).where(CaseNeed.case_id == case_id)))
    assert needs == {"family_contact", "housing"}


BAD_REFERRALS = {
    "missing name": ({"person.name": ""}, "person.name"),
    "wrong prison number": ({"person.prison_number": "12345"}, "person.prison_number"),
    "impossible date": (_date("person.date_of_birth", ("30", "2", "2025")), "person.date_of_birth"),
    "words for a date": (_date("opened_on", ("first", "may", "2026")), "opened_on"),
    "oversize name": ({"person.name": "x" * 201}, "person.name"),
    "a prison not theirs": ({"prison_code": "WDI"}, "prison_code"),
    "another charity's prison": ({"prison_code": "DMI"}, "prison_code"),
    "unknown referral source": ({"referral_source": "rumour"}, "referral_source"),
    "missing referral source": ({"referral_source": None}, "referral_source"),
    "unknown need": ({"needs": ["housing", "flying"]}, "needs"),
    "bad email": ({"main_contact.email": "not an email"}, "main_contact.email"),
    "contact without relationship": (
        {"main_contact.relationship": None},
        "main_contact.relationship",
    ),
    "review before referral": (_date("review_due_on", date(2020, 1, 1)), "review_due_on"),
    "birth in the future": (
        _date("person.date_of_birth", TODAY + timedelta(days=3)),
        "person.date_of_birth",
    ),
}


@pytest.mark.parametrize("bad", BAD_REFERRALS)
def test_bad_referral_is_refused_naming_the_field_and_writes_nothing(liverpool, all_rows, bad):
    changes, field = BAD_REFERRALS[bad]
    before = _rows(all_rows)
    response = _post(liverpool, "/cases/new", referral(**changes))
    assert response.status_code == 400
    assert field in _summary_links(response.text)
    assert f'id="{field}"' in response.text  # the summary's link lands on the input
    assert response.text.count("<title>Error: ") == 1
    assert _rows(all_rows) == before


def test_referral_form_shows_what_was_posted_again_after_an_error(liverpool):
    response = _post(liverpool, "/cases/new", referral(**{"person.prison_number": "nope"}))
    assert response.status_code == 400
    assert 'value="Kieran Testperson"' in response.text
    assert 'value="housing" checked' in response.text


# --- the forms write what was posted -----------------------------------------------------------


def test_worker_adds_a_child_and_sees_them_on_the_family_page(liverpool, world_case, all_rows):
    before = _rows(all_rows)
    _add_member(
        liverpool,
        world_case,
        "Ruby Worldcase",
        kind="child",
        relationship="child",
        age_band="5-10",
        **_date("date_of_birth", ("", "", "")),
    )
    assert _grown(before, _rows(all_rows)) == {"family_members": 1}
    html = liverpool.get(f"/cases/{world_case}").text
    assert "Ruby Worldcase" in html and "5 to 10" in html and "Child" in html


def test_worker_records_a_contact_and_it_is_stored_as_posted(liverpool, world_case, all_rows):
    before = _rows(all_rows)
    data = {
        "kind": "visit",
        **_date("occurred_on", YESTERDAY),
        "first_time_visitor": "true",
        "children_present": "true",
        "children_count": "2",
        "duration_minutes": "45",
        "summary": "First visit with both children.\nAsked about the family day.",
    }
    response = _post(liverpool, f"/cases/{world_case}/contacts/new", data)
    assert response.status_code == 302 and response.location == f"/cases/{world_case}"
    assert _grown(before, _rows(all_rows)) == {"contacts": 1}
    with all_rows() as session:
        contact = session.scalars(select(Contact).where(Contact.case_id == world_case)).one()
        stored = (
            contact.kind,
            contact.occurred_on,
            contact.first_time_visitor,
            contact.children_present,
            contact.children_count,
            contact.duration_minutes,
        )
    assert stored == ("visit", YESTERDAY, True, True, 2, 45)
    html = liverpool.get(f"/cases/{world_case}").text
    assert "Contact recorded" in html
    assert "Visitor-centre visit" in html
    assert "First visit with both children.<br>Asked about the family day." in html


def test_worker_adds_a_note_and_reads_it_on_the_timeline(liverpool, world_case, all_rows):
    before = _rows(all_rows)
    body = "Mum worried about the move to Risley; <b>call back</b> Friday."
    response = _post(liverpool, f"/cases/{world_case}/notes/new", {"body": body})
    assert response.status_code == 302
    assert _grown(before, _rows(all_rows)) == {"case_notes": 1}
    html = liverpool.get(f"/cases/{world_case}").text
    assert "Case note" in html
    assert "Mum worried about the move to Risley; &lt;b&gt;call back&lt;/b&gt; Friday." in html


def test_two_assessments_show_distance_travelled_per_area(liverpool, world_case, all_rows):
    url = f"/cases/{world_case}/assessments/new"
    first = _post(liverpool, url, {**_date("assessed_on", date(2025, 7, 1)), **_scores(4)})
    assert first.status_code == 302, first.text
    latest = _post(
        liverpool, url, {**_date("assessed_on", YESTERDAY), **_scores(4, routine=7, work=3)}
    )
    assert latest.status_code == 302
    with all_rows() as session:
        scores = sorted(session.scalars(select(OutcomeScore.score)))
    assert scores == sorted([4] * 10 + [4] * 8 + [7, 3])
    html = liverpool.get(f"/cases/{world_case}").text
    assert "Family routine" in html and "Progress to work" in html
    assert "+3" in html and "-1" in html and "+0" in html


def test_worker_adds_an_action_and_marks_it_done(liverpool, world_case, all_rows):
    data = {"description": "Book a family day place", "owner": "worker", **_date("due_on", TODAY)}
    assert _post(liverpool, f"/cases/{world_case}/actions/new", data).status_code == 302
    with all_rows() as session:
        action = session.scalars(select(ActionItem).where(ActionItem.case_id == world_case)).one()
        assert (action.owner, action.due_on, action.status) == ("worker", TODAY, "open")
    page = liverpool.get(f"/cases/{world_case}")
    assert "Book a family day place" in page.text
    settle = f"/cases/{world_case}/actions/{action.id}/settle"
    assert settle in page.text
    response = liverpool.post(settle, data={"status": "done", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    with all_rows() as session:
        action = session.get(ActionItem, action.id)
        assert (action.status, action.completed_on) == ("done", TODAY)
    assert settle not in liverpool.get(f"/cases/{world_case}").text


def test_worker_changes_key_worker_review_date_safeguarding_and_adds_a_need(
    liverpool, world_case, all_rows, world
):
    manager = world.actors["pops_manager"].user_id
    form = liverpool.get(f"/cases/{world_case}/change").text
    assert "pops_manager" in form and "pops_wakefield" not in form and "nepacs_durham" not in form
    data = {
        "key_worker_id": str(manager),
        **_date("review_due_on", TODAY + timedelta(days=30)),
        "safeguarding": "true",
        "add_needs": ["visits"],
    }
    assert _post(liverpool, f"/cases/{world_case}/change", data).status_code == 302
    with all_rows() as session:
        case = session.get(Case, world_case)
        changed = (case.key_worker_id, case.review_due_on, case.safeguarding)
        needs = list(session.scalars(select(CaseNeed.need).where(CaseNeed.case_id == world_case)))
    assert changed == (manager, TODAY + timedelta(days=30), True)
    assert needs == ["visits"]
    assert "Visits" in liverpool.get(f"/cases/{world_case}").text


def test_worker_closes_a_case_and_it_becomes_read_only(liverpool, world_case, all_rows):
    data = {"reason": "outcomes_met", **_date("closed_on", YESTERDAY)}
    assert _post(liverpool, f"/cases/{world_case}/close", data).status_code == 302
    with all_rows() as session:
        case = session.get(Case, world_case)
        assert (case.status, case.closed_on, case.closure_reason) == (
            "closed",
            YESTERDAY,
            "outcomes_met",
        )
    html = liverpool.get(f"/cases/{world_case}").text
    assert "Outcomes met" in html and "Case closed" in html
    for button in ("Record a contact", "Add a note", "Record consent", "Add a family member"):
        assert button not in html


def test_consent_is_recorded_shown_with_its_receipt_and_withdrawn(
    liverpool, world_case, all_rows, world
):
    mum = _add_member(liverpool, world_case, "Jade Worldcase", relationship="partner")
    ruby = _add_member(
        liverpool, world_case, "Ruby Worldcase", kind="child", relationship="child", age_band="0-4"
    )
    before = _rows(all_rows)
    data = {
        "subject": "family_member",
        "family_member_id": ruby,
        "given_by_member_id": mum,
        "purpose": "transfer",
        "recipient_charity_id": str(world.organisations["nepacs"]),
        "decision": "given",
        "categories": ["identity", "children", "needs"],
        "method": "written",
        "verification": "signed_form",
        **_date("valid_from", YESTERDAY),
    }
    response = _post(liverpool, f"/cases/{world_case}/consents/new", data)
    assert response.status_code == 302, response.text
    assert _grown(before, _rows(all_rows)) == {"consents": 1}
    html = liverpool.get(f"/cases/{world_case}").text
    assert "Consent given: share with a named charity for a transfer" in html
    assert "In force" in html
    receipt_url = re.search(rf'href="(/cases/{world_case}/consents/[0-9a-f-]+/receipt)"', html)[1]
    receipt = liverpool.get(receipt_url)
    assert receipt.status_code == 200
    for agreed in (
        "Ruby Worldcase",
        "given by Jade Worldcase",
        "Share with a named charity for a transfer: NEPACS",
        "Identity",
        "Children",
        "Needs",
        "Written",
        "signed form",
        YESTERDAY.strftime("%-d %B %Y"),
        (YESTERDAY + timedelta(days=365)).strftime("%-d %B %Y"),
        "In force",
    ):
        assert agreed in receipt.text, agreed
    assert "Contact details" not in receipt.text  # not agreed, so not listed
    assert 'src="/static/js/print.js"' in receipt.text and "<script>" not in receipt.text

    withdraw_url = receipt_url.replace("/receipt", "/withdraw")
    data = {"method": "verbal", "verification": "call_back", **_date("withdrawn_on", TODAY)}
    assert _post(liverpool, withdraw_url, data).status_code == 302
    assert _grown(before, _rows(all_rows)) == {"consents": 2}
    assert "Withdrawn" in liverpool.get(receipt_url).text
    # A withdrawn consent cannot be withdrawn again.
    assert liverpool.get(withdraw_url).status_code == 409


def test_equality_answers_live_on_their_own_page_not_the_family_page(
    liverpool, world_case, all_rows
):
    mum = _add_member(liverpool, world_case, "Jade Worldcase")
    page = liverpool.get(f"/cases/{world_case}/equality")
    assert page.status_code == 200 and "Not asked yet" in page.text
    data = {
        "ethnicity": "mixed_white_black_caribbean",
        "sex": "female",
        "disability": "not_stated",
        "first_language": "English",
    }
    url = f"/cases/{world_case}/equality/{mum}"
    assert _post(liverpool, url, data).status_code == 302
    with all_rows() as session:
        row = session.scalars(select(EqualityMonitoring)).one()
        stored = (row.ethnicity, row.sex, row.disability, row.first_language)
    assert stored == ("mixed_white_black_caribbean", "female", "not_stated", "English")
    answers = liverpool.get(f"/cases/{world_case}/equality").text
    assert "Mixed or multiple ethnic groups: White and Black Caribbean" in answers
    assert "White and Black Caribbean" not in liverpool.get(f"/cases/{world_case}").text
    assert 'value="mixed_white_black_caribbean" selected' in liverpool.get(url).text


# --- bad input on every form -------------------------------------------------------------------

LONG = "x" * 5001
# form -> (path under the case, a valid post, [(changes, field named), ...])
BAD_FORMS: dict[str, tuple[str, dict[str, object], list[tuple[dict[str, object], str]]]] = {
    "member": (
        "members/new",
        {"name": "Jade Worldcase", "kind": "adult", "relationship": "partner"},
        [
            ({"name": ""}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"kind": "alien"}, "kind"),
            ({"relationship": None}, "relationship"),
            (_date("date_of_birth", ("30", "2", "2025")), "date_of_birth"),
            ({"kind": "child", "relationship": "child"}, "age_band"),
            ({"age_band": "99-100"}, "age_band"),
            ({"phone": "call me maybe"}, "phone"),
        ],
    ),
    "contact": (
        "contacts/new",
        {"kind": "phone", **_date("occurred_on", YESTERDAY)},
        [
            ({"kind": None}, "kind"),
            ({"kind": "telepathy"}, "kind"),
            (_date("occurred_on", TODAY + timedelta(days=2)), "occurred_on"),
            (_date("occurred_on", date(2025, 5, 1)), "occurred_on"),
            (_date("occurred_on", ("31", "4", "2025")), "occurred_on"),
            ({"summary": LONG}, "summary"),
            ({"children_count": "lots"}, "children_count"),
            ({"children_count": "2"}, "children_count"),
            ({"first_time_visitor": "true"}, "first_time_visitor"),
        ],
    ),
    "note": (
        "notes/new",
        {"body": "Called about visits."},
        [({"body": ""}, "body"), ({"body": "   "}, "body"), ({"body": LONG}, "body")],
    ),
    "assessment": (
        "assessments/new",
        {**_date("assessed_on", YESTERDAY), **_scores(5)},
        [
            ({"scores.work": None}, "scores.work"),
            ({"scores.routine": "11"}, "scores.routine"),
            ({"scores.routine": "0"}, "scores.routine"),
            ({"scores.routine": "ten"}, "scores.routine"),
            (_date("assessed_on", ("29", "2", "2025")), "assessed_on"),
        ],
    ),
    "action": (
        "actions/new",
        {"description": "Book a visit", "owner": "family"},
        [
            ({"description": ""}, "description"),
            ({"description": LONG}, "description"),
            ({"owner": "the moon"}, "owner"),
            (_date("due_on", date(2025, 1, 1)), "due_on"),
        ],
    ),
    "change": (
        "change",
        {"safeguarding": "false"},
        [
            (_date("review_due_on", ("30", "2", "2026")), "review_due_on"),
            (_date("review_due_on", date(2025, 1, 1)), "review_due_on"),
            ({"add_needs": ["fame"]}, "add_needs"),
            ({"safeguarding": "perhaps"}, "safeguarding"),
            ({"key_worker_id": "not-an-id"}, "key_worker_id"),
            ({"key_worker_id": "{pops_wakefield}"}, "key_worker_id"),
            ({"key_worker_id": "{nepacs_durham}"}, "key_worker_id"),
        ],
    ),
    "close": (
        "close",
        {"reason": "no_contact"},
        [
            ({"reason": None}, "reason"),
            ({"reason": "bored"}, "reason"),
            (_date("closed_on", TODAY + timedelta(days=1)), "closed_on"),
        ],
    ),
    "consent": (
        "consents/new",
        {
            "subject": "person_in_custody",
            "purpose": "contact",
            "decision": "given",
            "categories": ["identity"],
            "method": "verbal",
            "verification": "in_person_id_seen",
        },
        [
            ({"subject": None}, "subject"),
            ({"subject": "family_member"}, "family_member_id"),
            ({"purpose": "transfer"}, "recipient_charity_id"),
            ({"purpose": "transfer", "recipient_charity_id": "{pops}"}, "recipient_charity_id"),
            ({"recipient_charity_id": "{nepacs}"}, "recipient_charity_id"),
            ({"categories": ["identity", "bank_details"]}, "categories"),
            ({"categories": None}, "categories"),
            ({"decision": "withdrawn"}, "decision"),
            ({"method": "carrier_pigeon"}, "method"),
            (_date("expires_on", date(2020, 1, 1)), "expires_on"),
            (_date("valid_from", TODAY + timedelta(days=1)), "valid_from"),
        ],
    ),
}


def _resolve(value: object, world: World) -> object:
    """Values "{actor}" and "{charity}" stand for ids known only once the world is built."""
    if isinstance(value, str) and value.startswith("{"):
        key = value.strip("{}")
        if key in world.actors:
            return str(world.actors[key].user_id)
        return str(world.organisations[key])
    return value


@pytest.mark.parametrize("form", BAD_FORMS)
def test_every_bad_post_names_its_field_and_writes_nothing(
    liverpool, world_case, all_rows, world, form
):
    path, valid, bad_inputs = BAD_FORMS[form]
    url = f"/cases/{world_case}/{path}"
    before = _rows(all_rows)
    for changes, field in bad_inputs:
        data = {k: _resolve(v, world) for k, v in {**valid, **changes}.items() if v is not None}
        response = _post(liverpool, url, data)
        assert response.status_code == 400, (changes, response.status_code)
        assert field in _summary_links(response.text), (changes, _summary_links(response.text))
        assert f'id="{field}"' in response.text, field
        assert _rows(all_rows) == before, changes
    # The valid post is accepted, so the refusals above were about the bad values.
    response = _post(liverpool, url, {k: _resolve(v, world) for k, v in valid.items()})
    assert response.status_code == 302, response.text
    assert _rows(all_rows) != before or form in ("change", "close")


def test_withdrawal_and_equality_forms_refuse_bad_input_and_write_nothing(
    liverpool, world_case, all_rows
):
    mum = _add_member(liverpool, world_case, "Jade Worldcase")
    consent = {
        "subject": "family_member",
        "family_member_id": mum,
        "purpose": "statistics",
        "decision": "given",
        "categories": ["needs"],
        "method": "verbal",
        "verification": "none",
    }
    assert _post(liverpool, f"/cases/{world_case}/consents/new", consent).status_code == 302
    html = liverpool.get(f"/cases/{world_case}").text
    withdraw = re.search(r'href="(/cases/[^"]+/withdraw)"', html)[1]
    before = _rows(all_rows)
    for data, field in (
        ({"verification": "none"}, "method"),
        ({"method": "verbal", "verification": "psychic"}, "verification"),
        (
            {
                "method": "verbal",
                "verification": "none",
                **_date("withdrawn_on", ("1", "13", "2026")),
            },
            "withdrawn_on",
        ),
    ):
        response = _post(liverpool, withdraw, data)
        assert response.status_code == 400 and field in _summary_links(response.text)
    equality = f"/cases/{world_case}/equality/{mum}"
    for data, field in (
        ({"sex": "female", "disability": "no"}, "ethnicity"),
        ({"ethnicity": "martian", "sex": "female", "disability": "no"}, "ethnicity"),
        (
            {
                "ethnicity": "white_irish",
                "sex": "female",
                "disability": "no",
                "first_language": "x" * 41,
            },
            "first_language",
        ),
    ):
        response = _post(liverpool, equality, data)
        assert response.status_code == 400 and field in _summary_links(response.text)
    assert _rows(all_rows) == before


# --- CSRF and closed cases ---------------------------------------------------------------------

POST_FORMS = (
    "members/new",
    "contacts/new",
    "notes/new",
    "assessments/new",
    "actions/new",
    "change",
    "close",
    "consents/new",
)


def test_every_form_without_its_csrf_token_is_refused_and_writes_nothing(
    liverpool, world_case, all_rows
):
    before = _rows(all_rows)
    for path in (*POST_FORMS, "/cases/new"):
        url = path if path.startswith("/") else f"/cases/{world_case}/{path}"
        response = liverpool.post(url, data={"body": "Called about visits.", "kind": "phone"})
        assert response.status_code == 400, url
    assert _rows(all_rows) == before


def test_closed_case_refuses_new_work_with_409(liverpool, world_case, all_rows, world):
    data = {"reason": "released", **_date("closed_on", TODAY)}
    assert _post(liverpool, f"/cases/{world_case}/close", data).status_code == 302
    before = _rows(all_rows)
    token = csrf_from(liverpool.get(f"/cases/{world_case}").text)
    for form, (path, valid, _bad) in BAD_FORMS.items():
        valid_data = {k: _resolve(v, world) for k, v in valid.items()}
        response = liverpool.post(
            f"/cases/{world_case}/{path}", data={**valid_data, "csrf_token": token}
        )
        assert response.status_code == 409, form
        assert "cannot be done to this record in its present state" in response.text
    # Work on a record of the closed case is refused before the record is even looked up.
    for path in (
        f"actions/{uuid.uuid4()}/settle",
        f"consents/{uuid.uuid4()}/withdraw",
        f"equality/{uuid.uuid4()}",
    ):
        data = {"status": "done", "method": "verbal", "verification": "none", "csrf_token": token}
        data |= {"ethnicity": "not_stated", "sex": "not_stated", "disability": "not_stated"}
        assert liverpool.post(f"/cases/{world_case}/{path}", data=data).status_code == 409, path
    assert _rows(all_rows) == before
    # The forms say so instead of offering fields.
    assert (
        '<form method="post" novalidate>'
        not in liverpool.get(f"/cases/{world_case}/contacts/new").text
    )


def test_settling_an_action_with_a_made_up_status_is_refused_and_changes_nothing(
    liverpool, world_case, all_rows
):
    data = {"description": "Book a visit", "owner": "family"}
    assert _post(liverpool, f"/cases/{world_case}/actions/new", data).status_code == 302
    page = liverpool.get(f"/cases/{world_case}").text
    settle = re.search(r'action="(/cases/[^"]+/settle)"', page)[1]
    before = _rows(all_rows)
    for status in ("open", "finished", ""):
        response = liverpool.post(settle, data={"status": status, "csrf_token": csrf_from(page)})
        assert response.status_code == 422, status
    with all_rows() as session:
        assert session.scalars(select(ActionItem.status)).all() == ["open"]
    assert _rows(all_rows) == before


def test_liverpool_worker_cannot_add_to_another_charitys_family(liverpool, world, all_rows):
    foreign = world.cases[("nepacs", "DMI")]
    token = csrf_from(liverpool.get("/cases/new").text)
    before = _rows(all_rows)
    data = {"kind": "phone", **_date("occurred_on", YESTERDAY), "csrf_token": token}
    refused = liverpool.post(f"/cases/{foreign}/contacts/new", data=data)
    missing = liverpool.post(f"/cases/{uuid.uuid4()}/contacts/new", data=data)
    assert refused.status_code == missing.status_code == 404
    assert refused.data == missing.data
    assert liverpool.get(f"/cases/{foreign}/contacts/new").status_code == 404
    assert _rows(all_rows) == before


# --- search --------------------------------------------------------------------------------------


def test_liverpool_worker_finds_the_family_by_prison_number_from_any_page(
    liverpool, world, world_case
):
    number, name = world.people[("pops", "LPI")]
    home = liverpool.get("/").text
    assert 'action="/search"' in home and 'name="q"' in home  # the header search box
    response = liverpool.get("/search", query_string={"q": f" {number.lower()} "})
    assert response.status_code == 200
    assert name in response.text and f'href="/cases/{world_case}"' in response.text
    assert "1 case found" in response.text
    by_name = liverpool.get("/search", query_string={"q": name.split()[1].lower()})
    assert f'href="/cases/{world_case}"' in by_name.text


def test_nepacs_worker_searching_the_same_number_sees_only_their_own_family(
    signed_in, world, world_case
):
    number, pops_name = world.people[("pops", "LPI")]
    assert world.people[("nepacs", "DMI")][0] == number  # the world's shared prison number
    nepacs_name = world.people[("nepacs", "DMI")][1]
    response = signed_in("nepacs_durham").get("/search", query_string={"q": number})
    assert response.status_code == 200
    assert nepacs_name in response.text
    assert pops_name not in response.text and str(world_case) not in response.text
    assert "1 case found" in response.text


def test_a_search_too_short_to_mean_anything_is_refused_with_the_field_named(liverpool):
    response = liverpool.get("/search", query_string={"q": "x"})
    assert response.status_code == 400
    assert _summary_links(response.text) == ["q"]


# --- lists and home ------------------------------------------------------------------------------


def test_case_list_shows_names_and_prison_numbers(liverpool, world, world_case):
    number, name = world.people[("pops", "LPI")]
    html = liverpool.get("/cases").text
    assert name in html and number in html and "Active" in html


def test_home_shows_my_cases_overdue_reviews_and_recent_contacts(liverpool):
    case_id = _open(
        liverpool,
        **_date("opened_on", TODAY - timedelta(days=20)),
        **_date("review_due_on", TODAY - timedelta(days=2)),
    )
    data = {"kind": "family_day", **_date("occurred_on", YESTERDAY)}
    assert _post(liverpool, f"/cases/{case_id}/contacts/new", data).status_code == 302
    home = liverpool.get("/").text
    reviews = home[home.index("Reviews due") : home.index("Your open cases")]
    assert "Kieran Testperson" in reviews and "Overdue" in reviews
    mine = home[home.index("Your open cases") : home.index("Recent contacts")]
    assert "Kieran Testperson" in mine
    recent = home[home.index("Recent contacts") :]
    assert "family day" in recent.lower() and f'href="/cases/{case_id}"' in recent


# --- who has viewed this family ------------------------------------------------------------------


def test_site_manager_sees_the_workers_view_in_the_access_log(signed_in, world_case):
    worker = signed_in("pops_liverpool")
    assert worker.get(f"/cases/{world_case}").status_code == 200
    manager = signed_in("pops_manager")
    family = manager.get(f"/cases/{world_case}").text
    assert f'href="/cases/{world_case}/access-log"' in family
    log = manager.get(f"/cases/{world_case}/access-log")
    assert log.status_code == 200
    rows = log.text[log.text.index("<tbody") :]
    assert "pops_liverpool" in rows and "Read the family page" in rows


def test_caseworker_may_not_read_the_access_log(liverpool, world_case):
    assert f"/cases/{world_case}/access-log" not in liverpool.get(f"/cases/{world_case}").text
    assert liverpool.get(f"/cases/{world_case}/access-log").status_code == 403
