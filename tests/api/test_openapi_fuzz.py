"""The API against its own OpenAPI document: generated requests (schemathesis, derandomised so
CI is repeatable) never get a server error, and every response conforms to the document.

Every operation in the document is fuzzed, on both databases. Path ids are either random (the
answer is the documented 404) or the ids of one real family opened through the API first (and of
a real transfer of its case), so generated bodies reach the use cases and their refusals, not
only the 404. The receiving charity's steps are fuzzed as its manager, on a transfer offered to it.
The release operations are fuzzed with a ministry client's OAuth2 token, on a published release.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from app.domain.vocabulary import DataCategory
from tests.support import api_bodies as bodies
from tests.support.api_bodies import open_family, start_transfer
from tests.support.oauth import access_token, bearer_header, make_client
from tests.support.releases import publish_quarter

OPERATIONS = [
    "GET /api/v1/cases",
    "POST /api/v1/cases",
    "GET /api/v1/cases/{case_id}",
    "PATCH /api/v1/cases/{case_id}",
    "POST /api/v1/cases/{case_id}/closure",
    "GET /api/v1/cases/{case_id}/family",
    "POST /api/v1/cases/{case_id}/members",
    "POST /api/v1/cases/{case_id}/contacts",
    "POST /api/v1/cases/{case_id}/notes",
    "POST /api/v1/cases/{case_id}/assessments",
    "POST /api/v1/cases/{case_id}/actions",
    "POST /api/v1/cases/{case_id}/actions/{action_id}/settlement",
    "POST /api/v1/cases/{case_id}/consents",
    "POST /api/v1/cases/{case_id}/consents/{consent_id}/withdrawal",
    "GET /api/v1/cases/{case_id}/consents/{consent_id}/receipt",
    "GET /api/v1/cases/{case_id}/equality",
    "PUT /api/v1/cases/{case_id}/members/{member_id}/equality",
    "GET /api/v1/search",
    "GET /api/v1/transfers",
    "GET /api/v1/transfers/{transfer_id}",
    "POST /api/v1/cases/{case_id}/transfers",
    "POST /api/v1/transfers/{transfer_id}/offer",
    "POST /api/v1/transfers/{transfer_id}/accept",
    "POST /api/v1/transfers/{transfer_id}/decline",
    "POST /api/v1/transfers/{transfer_id}/cancel",
    "POST /api/v1/transfers/{transfer_id}/grant",
    "POST /api/v1/transfers/{transfer_id}/refuse",
    "POST /api/v1/transfer-requests",
    "GET /api/v1/releases",
    "GET /api/v1/releases/{release_id}",
    "GET /api/v1/releases/{release_id}/tables/{table_id}",
]
# Steps only the receiving charity's manager takes; everything else is fuzzed as the sender.
RECEIVER_OPERATIONS = frozenset(
    {
        "POST /api/v1/transfers/{transfer_id}/accept",
        "POST /api/v1/transfers/{transfer_id}/decline",
        "POST /api/v1/transfer-requests",
    }
)
# Read by the ministry's OAuth2 clients only: fuzzed with a client's token, on a published release.
RELEASE_OPERATIONS = frozenset(
    name for name in OPERATIONS if name.startswith("GET /api/v1/releases")
)
DOCUMENT = "/api/v1/openapi.json"


def test_every_documented_operation_is_fuzzed(app):
    document = app.test_client().get(DOCUMENT).get_json()
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("operation_name", OPERATIONS)
def test_generated_requests_conform_to_the_document(
    app, bearer, world, owner_sessions, operation_name
):
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    method, path = operation_name.split(" ")
    operation = schema[path][method]
    sender = bearer("pops_liverpool")
    family = open_family(app.test_client(), sender)
    known = {
        "case_id": family.case_id,
        "member_id": family.main_contact_id,
        "action_id": family.action_id,
        "consent_id": family.consent_id,
    }
    receiving = operation_name in RECEIVER_OPERATIONS
    headers = bearer("nepacs_manager") if receiving else sender
    if "{transfer_id}" in path:
        known["transfer_id"] = start_transfer(
            app.test_client(),
            sender,
            family.case_id,
            world.organisations["nepacs"],
            offer=receiving,
        )
    if operation_name in RELEASE_OPERATIONS:
        known["release_id"] = publish_quarter(app.extensions["continuum"].session_factory, world).id
        known["table_id"] = "prison_activity"
        headers = bearer_header(access_token(app, *make_client(owner_sessions, world)))
    real_ids = {name: value for name, value in known.items() if f"{{{name}}}" in path}
    assert set(real_ids) == set(re.findall(r"{(\w+)}", path))
    # The token is part of every generated case, not patched in when it is sent: otherwise a
    # negative case "without Authorization" goes out with it, is answered, and schemathesis
    # reports invalid data accepted (which of its cases meet that depends on the document).
    strategy = st.one_of(
        operation.as_strategy(path_parameters=real_ids, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real_ids, headers=headers),
        operation.as_strategy(headers=headers),
    )

    @given(case=strategy)
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):  # type: ignore[no-untyped-def]
        response = case.call(headers=headers)
        assert response.status_code < 500, response.text
        # ignored_auth replays requests with made-up credentials expecting refusal; it takes our
        # real token for a made-up one. Refusals without a valid token are tested directly
        # in tests/integration/test_api_tokens.py. positive_data_acceptance expects every
        # schema-valid body to be accepted; a body the schema allows can still break a rule
        # (a prison the user may not use, a date in the future, a closed case), refused with
        # the documented 409 or 422 (tests/integration/test_api_bad_input.py).
        case.validate_response(response, excluded_checks=[ignored_auth, positive_data_acceptance])

    check()


# Good bodies for every write: the fuzzer seldom builds one that passes the rules (a prison the
# user may use, dates in range), so each success response is checked against the document here.
def _good_writes(family) -> dict[str, object]:
    return {
        "POST /api/v1/cases": bodies.referral(),
        # Not the safeguarding flag: a caseworker may not close a flagged case (a manager does).
        "PATCH /api/v1/cases/{case_id}": {"review_due_on": bodies.days_ago(-30)},
        "POST /api/v1/cases/{case_id}/members": bodies.child(),
        "POST /api/v1/cases/{case_id}/contacts": bodies.contact(),
        "POST /api/v1/cases/{case_id}/notes": bodies.note(),
        "POST /api/v1/cases/{case_id}/assessments": bodies.assessment(),
        "POST /api/v1/cases/{case_id}/actions": bodies.action(),
        "POST /api/v1/cases/{case_id}/actions/{action_id}/settlement": {"status": "done"},
        "POST /api/v1/cases/{case_id}/consents": bodies.consent(family.main_contact_id),
        "POST /api/v1/cases/{case_id}/consents/{consent_id}/withdrawal": bodies.withdrawal(),
        "PUT /api/v1/cases/{case_id}/members/{member_id}/equality": bodies.equality(),
        "POST /api/v1/cases/{case_id}/closure": {"reason": "outcomes_met"},
    }


def test_every_successful_write_answers_as_the_document_says(app, bearer):
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    headers = bearer("pops_liverpool")
    family = open_family(app.test_client(), headers)
    known = {
        "case_id": family.case_id,
        "member_id": family.main_contact_id,
        "action_id": family.action_id,
        "consent_id": family.consent_id,
    }
    writes = _good_writes(family)
    assert set(writes) | set(TRANSFER_WRITES) == {
        name for name in OPERATIONS if not name.startswith("GET")
    }
    for name, body in writes.items():  # closure last: the case is then read-only
        method, path = name.split(" ")
        operation = schema[path][method]
        ids = {key: str(value) for key, value in known.items() if f"{{{key}}}" in path}
        case = operation.Case(path_parameters=ids, body=body, media_type="application/json")
        response = case.call(headers=headers)
        assert response.status_code in (200, 201), f"{name}: {response.text}"
        case.validate_response(response, excluded_checks=[ignored_auth])


TRANSFER_WRITES = (
    "POST /api/v1/cases/{case_id}/transfers",
    "POST /api/v1/transfers/{transfer_id}/offer",
    "POST /api/v1/transfers/{transfer_id}/accept",
    "POST /api/v1/transfers/{transfer_id}/decline",
    "POST /api/v1/transfers/{transfer_id}/cancel",
    "POST /api/v1/transfers/{transfer_id}/grant",
    "POST /api/v1/transfers/{transfer_id}/refuse",
    "POST /api/v1/transfer-requests",
)


def test_every_successful_transfer_step_answers_as_the_document_says(app, bearer, world):
    """Each transfer step taken by the side whose step it is, and what each side then reads
    (the receiver's package with every section in it), checked against the document."""
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    client = app.test_client()
    sender, receiver = bearer("pops_liverpool"), bearer("nepacs_manager")
    nepacs = world.organisations["nepacs"]
    taken: list[str] = []

    def call(name: str, as_: dict[str, str], body: object = None, **ids: str) -> dict[str, Any]:
        method, path = name.split(" ")
        operation = schema[path][method]
        extra = {}
        if name.endswith(("/offer", "/accept")):
            extra = {"Idempotency-Key": f"{name.rsplit('/', 1)[-1]}-{ids['transfer_id']}"}
        case = (
            operation.Case(path_parameters=ids, headers=extra)
            if body is None
            else operation.Case(path_parameters=ids, body=body, media_type="application/json")
        )
        response = case.call(headers=as_)
        assert response.status_code in (200, 201, 202), f"{name}: {response.text}"
        case.validate_response(response, excluded_checks=[ignored_auth])
        if method == "POST":
            taken.append(name)
        return response.json()

    def proposed(everything: bool = False) -> str:
        family = open_family(client, sender)
        here = f"/api/v1/cases/{family.case_id}"
        for url, body in (
            ("contacts", bodies.contact()),
            ("notes", bodies.note()),
            ("assessments", bodies.assessment()),
        ):
            assert client.post(f"{here}/{url}", json=body, headers=sender).status_code == 201
        categories = tuple(c.value for c in DataCategory) if everything else ("identity",)
        consent = bodies.transfer_consent(nepacs, categories)
        assert client.post(f"{here}/consents", json=consent, headers=sender).status_code == 201
        # The main contact's own consent, so an adult's contact details are in the package too.
        mine = bodies.transfer_consent(
            nepacs,
            categories,
            subject="family_member",
            family_member_id=family.main_contact_id,
        )
        assert client.post(f"{here}/consents", json=mine, headers=sender).status_code == 201
        made = call(
            "POST /api/v1/cases/{case_id}/transfers",
            sender,
            bodies.proposal(),
            case_id=family.case_id,
        )
        return str(made["id"])

    one = proposed(everything=True)
    call("POST /api/v1/transfers/{transfer_id}/offer", sender, transfer_id=one)
    read = call("GET /api/v1/transfers/{transfer_id}", receiver, transfer_id=one)
    assert set(read["package"]) == {
        "case", "person", "members", "needs", "contacts", "assessments", "actions", "notes",
        "consents",
    }  # fmt: skip
    assert any("phone" in member for member in read["package"]["members"])
    call("GET /api/v1/transfers/{transfer_id}", sender, transfer_id=one)
    call("POST /api/v1/transfers/{transfer_id}/accept", receiver, transfer_id=one)
    call("GET /api/v1/transfers/{transfer_id}", receiver, transfer_id=one)
    call("GET /api/v1/transfers", receiver)

    two = proposed()
    call("POST /api/v1/transfers/{transfer_id}/offer", sender, transfer_id=two)
    call(
        "POST /api/v1/transfers/{transfer_id}/decline",
        receiver,
        {"reason": "no_capacity"},
        transfer_id=two,
    )
    three = proposed()
    call(
        "POST /api/v1/transfers/{transfer_id}/cancel",
        sender,
        {"reason": "sent_in_error"},
        transfer_id=three,
    )
    asked = call("POST /api/v1/transfer-requests", receiver, bodies.transfer_request())
    call("POST /api/v1/transfers/{transfer_id}/grant", sender, transfer_id=asked["transfer_id"])
    asked = call("POST /api/v1/transfer-requests", receiver, bodies.transfer_request())
    call(
        "POST /api/v1/transfers/{transfer_id}/refuse",
        sender,
        {"reason": "no_matching_case"},
        transfer_id=asked["transfer_id"],
    )
    call("GET /api/v1/transfers", sender)
    assert set(taken) == set(TRANSFER_WRITES)
