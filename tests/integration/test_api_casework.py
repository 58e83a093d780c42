"""The case API as a Liverpool worker uses it: a morning's referral, the family file that shows
it all, and the refusals around it (closed cases, other prisons and charities, roles without
case access, no token). Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.domain.consent import DEFAULT_VALIDITY
from app.domain.outcomes import framework
from tests.conftest import missing_id
from tests.support import api_bodies as bodies
from tests.support.api_bodies import CASES, OpenedFamily, open_family


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.get_json()


def _refused(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.get_json()["error"]
    assert error["status"] == status
    return error


# Every operation on one case, by name, with a body good enough to reach the use case.
def _operations(family: OpenedFamily) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    case = f"{CASES}/{family.case_id}"
    return {
        "read-case": ("GET", case, None),
        "change-case": ("PATCH", case, {"safeguarding": True}),
        "close-case": ("POST", f"{case}/closure", {"reason": "outcomes_met"}),
        "read-family": ("GET", f"{case}/family", None),
        "add-member": ("POST", f"{case}/members", bodies.child()),
        "add-contact": ("POST", f"{case}/contacts", bodies.contact()),
        "add-note": ("POST", f"{case}/notes", bodies.note()),
        "record-assessment": ("POST", f"{case}/assessments", bodies.assessment()),
        "add-action": ("POST", f"{case}/actions", bodies.action()),
        "settle-action": (
            "POST",
            f"{case}/actions/{family.action_id}/settlement",
            {"status": "done"},
        ),
        "record-consent": ("POST", f"{case}/consents", bodies.consent(family.main_contact_id)),
        "withdraw-consent": (
            "POST",
            f"{case}/consents/{family.consent_id}/withdrawal",
            bodies.withdrawal(),
        ),
        "consent-receipt": ("GET", f"{case}/consents/{family.consent_id}/receipt", None),
        "read-equality": ("GET", f"{case}/equality", None),
        "record-equality": (
            "PUT",
            f"{case}/members/{family.main_contact_id}/equality",
            bodies.equality(),
        ),
    }


OPERATIONS = list(_operations(OpenedFamily("c", "m", "k", "a", "s")))
WRITES_ON_A_CASE = ("PATCH", "POST", "PUT")


def _call(client: FlaskClient, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    return client.open(url, method=method, json=body, headers=headers)


# --- a morning's work ------------------------------------------------------------------------


def test_liverpool_worker_records_a_referral_and_the_family_file_shows_all_of_it(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")

    case = _ok(client.post(CASES, json=bodies.referral(), headers=headers), 201)
    assert case["status"] == "referred" and case["prison_code"] == "LPI"
    assert case["referral_source"] == "offender_manager"
    here = f"{CASES}/{case['id']}"

    child = _ok(client.post(f"{here}/members", json=bodies.child(), headers=headers), 201)
    assert child["kind"] == "child" and child["age_band"] == "5-10"
    visit = _ok(client.post(f"{here}/contacts", json=bodies.contact(), headers=headers), 201)
    note = _ok(client.post(f"{here}/notes", json=bodies.note(), headers=headers), 201)
    first_scores, latest_scores = bodies.scores(3), bodies.scores(5)
    first = _ok(
        client.post(
            f"{here}/assessments",
            json=bodies.assessment(assessed_on=bodies.days_ago(6), scores=first_scores),
            headers=headers,
        ),
        201,
    )
    latest = _ok(
        client.post(
            f"{here}/assessments", json=bodies.assessment(scores=latest_scores), headers=headers
        ),
        201,
    )
    action = _ok(client.post(f"{here}/actions", json=bodies.action(), headers=headers), 201)
    assert action["status"] == "open"
    settled = _ok(
        client.post(
            f"{here}/actions/{action['id']}/settlement", json={"status": "done"}, headers=headers
        )
    )
    assert settled["status"] == "done" and settled["completed_on"] == bodies.today().isoformat()

    file = _ok(client.get(f"{here}/family", headers=headers))
    main_contact = next(m for m in file["members"] if m["is_main_contact"])
    consent = _ok(
        client.post(f"{here}/consents", json=bodies.consent(main_contact["id"]), headers=headers),
        201,
    )
    receipt = _ok(client.get(f"{here}/consents/{consent['id']}/receipt", headers=headers))
    file = _ok(client.get(f"{here}/family", headers=headers))

    # The receipt says who agreed, to what, with whom and until when.
    assert receipt["subject_name"] == bodies.MAIN_CONTACT
    assert receipt["charity_name"] == "POPS" and receipt["case_reference"] == case["reference"]
    assert receipt["purpose"] == "contact" and receipt["state"] == "active"
    assert receipt["categories"] == sorted(bodies.consent(main_contact["id"])["categories"])
    valid_from = bodies.today()
    assert receipt["expires_on"] == (valid_from + DEFAULT_VALIDITY).isoformat()

    # The family file: everything recorded this morning, decrypted for the worker.
    assert file["case"]["id"] == case["id"]
    assert file["case"]["status"] == "active"  # a given consent to contact starts the support
    assert file["person"]["name"] == bodies.PERSON_NAME
    assert file["person"]["prison_number"] == bodies.PRISON_NUMBER
    assert sorted(file["needs"]) == sorted(bodies.referral()["needs"])
    assert {m["name"] for m in file["members"]} == {bodies.MAIN_CONTACT, bodies.CHILD}
    assert [c["id"] for c in file["contacts"]] == [visit["id"]]
    assert file["contacts"][0]["summary"] == bodies.contact()["summary"]
    assert [n["id"] for n in file["notes"]] == [note["id"]]
    assert file["notes"][0]["body"] == bodies.note()["body"]
    assert [a["id"] for a in file["assessments"]] == [first["id"], latest["id"]]
    assert file["assessments"][0]["scores"] == first_scores
    assert set(file["assessments"][1]["scores"]) == set(framework().area_codes())
    assert file["distance"] == {
        area: latest_scores[area] - first_scores[area] for area in framework().area_codes()
    }
    assert [(a["id"], a["status"]) for a in file["actions"]] == [(action["id"], "done")]
    assert file["actions"][0]["description"] == bodies.action()["description"]
    assert [(c["id"], c["state"]) for c in file["consents"]] == [(consent["id"], "active")]
    on_timeline = {entry["record_id"] for entry in file["timeline"]}
    assert {case["id"], visit["id"], note["id"], first["id"], latest["id"]} <= on_timeline
    assert {action["id"], consent["id"]} <= on_timeline
    assert file["family_id"]


def test_worker_changes_then_closes_the_case_and_the_closed_case_refuses_new_work(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")
    family = open_family(client, headers)
    here = f"{CASES}/{family.case_id}"

    review = bodies.days_ago(-30)
    changed = _ok(
        client.patch(
            here, json={"review_due_on": review, "add_needs": ["housing"]}, headers=headers
        )
    )
    assert changed["review_due_on"] == review
    assert "housing" in _ok(client.get(f"{here}/family", headers=headers))["needs"]

    closed = _ok(client.post(f"{here}/closure", json={"reason": "outcomes_met"}, headers=headers))
    assert closed["status"] == "closed" and closed["closure_reason"] == "outcomes_met"
    assert closed["closed_on"] == bodies.today().isoformat()

    for method, url, body in _operations(family).values():
        response = _call(client, method, url, body, headers)
        if method in WRITES_ON_A_CASE:
            error = _refused(response, 409)
            assert error["code"] == "conflict", url
        else:
            assert response.status_code == 200, (url, response.text)


def test_equality_answers_are_read_on_their_own_and_never_in_the_family_file(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")
    family = open_family(client, headers)
    here = f"{CASES}/{family.case_id}"
    answers = bodies.equality()

    written = _ok(
        client.put(
            f"{here}/members/{family.main_contact_id}/equality", json=answers, headers=headers
        )
    )
    assert written["family_member_id"] == family.main_contact_id

    read = _ok(client.get(f"{here}/equality", headers=headers))
    assert read == {"answers": {family.main_contact_id: answers}}
    file_text = client.get(f"{here}/family", headers=headers).text
    assert answers["ethnicity"] not in file_text and "first_language" not in file_text


def test_withdrawn_consent_shows_on_its_receipt_and_cannot_be_withdrawn_twice(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")
    family = open_family(client, headers)
    consent = f"{CASES}/{family.case_id}/consents/{family.consent_id}"

    withdrawal = _ok(
        client.post(f"{consent}/withdrawal", json=bodies.withdrawal(), headers=headers), 201
    )
    assert withdrawal["decision"] == "withdrawn" and withdrawal["withdraws_id"] == family.consent_id
    receipt = _ok(client.get(f"{consent}/receipt", headers=headers))
    assert receipt["state"] == "withdrawn"
    assert receipt["withdrawn_on"] == bodies.today().isoformat()
    _refused(client.post(f"{consent}/withdrawal", json=bodies.withdrawal(), headers=headers), 409)


def test_settled_action_cannot_be_settled_again(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")
    family = open_family(client, headers)
    settle = f"{CASES}/{family.case_id}/actions/{family.action_id}/settlement"

    _ok(client.post(settle, json={"status": "dropped"}, headers=headers))
    _refused(client.post(settle, json={"status": "done"}, headers=headers), 409)


def test_worker_cannot_close_a_safeguarding_case_but_the_site_manager_can(app, bearer):
    client = app.test_client()
    worker = bearer("pops_liverpool")
    family = open_family(client, worker)
    here = f"{CASES}/{family.case_id}"
    _ok(client.patch(here, json={"safeguarding": True}, headers=worker))

    _refused(client.post(f"{here}/closure", json={"reason": "released"}, headers=worker), 403)
    assert _ok(client.get(here, headers=worker))["status"] != "closed"
    manager = bearer("pops_manager")
    assert (
        _ok(client.post(f"{here}/closure", json={"reason": "released"}, headers=manager))["status"]
        == "closed"
    )


# --- what the list and the search show -------------------------------------------------------


def test_case_list_carries_no_names_but_search_finds_the_family_by_name(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")
    family = open_family(client, headers)

    listed = client.get(CASES, headers=headers)
    item = next(i for i in _ok(listed)["items"] if i["id"] == family.case_id)
    assert set(item) == {
        "id",
        "reference",
        "prison_code",
        "status",
        "referral_source",
        "safeguarding",
        "key_worker_id",
        "opened_on",
        "review_due_on",
        "closed_on",
        "closure_reason",
        "created_at",
    }
    for personal in (bodies.PERSON_NAME, bodies.PRISON_NUMBER, bodies.MAIN_CONTACT, "Apitestcase"):
        assert personal not in listed.text

    found = _ok(client.get(f"/api/v1/search?q={bodies.PRISON_NUMBER}", headers=headers))["items"]
    assert [r["case"]["id"] for r in found] == [family.case_id]
    assert found[0]["person_name"] == bodies.PERSON_NAME
    assert found[0]["main_contact"] == bodies.MAIN_CONTACT
    by_name = _ok(client.get("/api/v1/search?q=riley apitestcase", headers=headers))["items"]
    assert [r["case"]["id"] for r in by_name] == [family.case_id]


def test_wakefield_worker_search_does_not_find_a_liverpool_family(app, bearer):
    client = app.test_client()
    open_family(client, bearer("pops_liverpool"))
    found = _ok(
        client.get(f"/api/v1/search?q={bodies.PRISON_NUMBER}", headers=bearer("pops_wakefield"))
    )
    assert found == {"items": []}


# --- refusals on every operation -------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_other_prison_and_other_charity_get_the_same_404_as_a_missing_case(app, bearer, operation):
    client, own = app.test_client(), bearer("pops_liverpool")
    family = open_family(client, own)
    before = _ok(client.get(f"{CASES}/{family.case_id}/family", headers=own))
    missing = OpenedFamily(*(str(missing_id()) for _ in range(5)))
    answers = []
    for actor, ids in (
        ("pops_wakefield", family),
        ("nepacs_durham", family),
        ("pops_liverpool", missing),
    ):
        method, url, body = _operations(ids)[operation]
        response = _call(client, method, url, body, bearer(actor))
        _refused(response, 404)
        answers.append(response.data)
    assert answers[0] == answers[1] == answers[2]
    assert _ok(client.get(f"{CASES}/{family.case_id}/family", headers=own)) == before


@pytest.mark.parametrize("actor", ["pops_admin", "coordinator", "ministry"])
def test_roles_without_case_access_get_403_on_every_operation(app, bearer, actor):
    client = app.test_client()
    family = open_family(client, bearer("pops_liverpool"))
    headers = bearer(actor)
    for method, url, body in [
        ("GET", CASES, None),
        ("POST", CASES, bodies.referral()),
        ("GET", f"/api/v1/search?q={bodies.PRISON_NUMBER}", None),
        *_operations(family).values(),
    ]:
        error = _refused(_call(client, method, url, body, headers), 403)
        assert set(error) == {"status", "code", "message"}, url


def test_every_operation_without_a_token_gets_401_with_a_bearer_challenge(app, bearer):
    client = app.test_client()
    family = open_family(client, bearer("pops_liverpool"))
    for method, url, body in [("POST", CASES, bodies.referral()), *_operations(family).values()]:
        response = _call(client, method, url, body, {})
        _refused(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer "), url


def test_an_id_that_is_not_a_uuid_gets_the_same_404_as_a_missing_case(app, bearer):
    client, headers = app.test_client(), bearer("pops_liverpool")
    missing = client.get(f"{CASES}/{missing_id()}/family", headers=headers)
    malformed = client.get(f"{CASES}/1/family", headers=headers)
    _refused(malformed, 404)
    assert malformed.data == missing.data
