"""The transfer API as two charities use it: a POPS worker at Liverpool offers a family's case to
NEPACS at Durham with the family's consent, a NEPACS manager reads only what was consented and
accepts it exactly once; and the refusals around it (a receiver who may not see it yet, a third
charity that must see nothing, a caseworker who may not accept, bad input that writes nothing).
Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import Case, CaseTransfer, CaseTransferStep
from tests.conftest import missing_id
from tests.support import api_bodies as bodies
from tests.support.api_bodies import (
    CASES,
    TRANSFER_REQUESTS,
    TRANSFERS,
    OpenedFamily,
    open_family,
    start_transfer,
)
from tests.support.api_desk import ApiDesk
from tests.support.world import World

CONTACT_SUMMARY = "Ozymandias-visit: the family talked about the move north."
NOTE_BODY = "Quillfeather note: the partner is worried about travel to Durham."


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.get_json()


def _refused(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.get_json()["error"]
    assert error["status"] == status
    return error


@pytest.fixture
def nepacs(world: World) -> uuid.UUID:
    return world.organisations["nepacs"]


def _family(worker: ApiDesk) -> OpenedFamily:
    return open_family(worker.client, worker.headers)


def _offered(worker: ApiDesk, nepacs: uuid.UUID, **kwargs: Any) -> tuple[OpenedFamily, str]:
    family = _family(worker)
    return family, start_transfer(worker.client, worker.headers, family.case_id, nepacs, **kwargs)


def _count(sessions: sessionmaker[Session], statement: Any) -> int:
    with sessions() as session:
        return int(session.scalar(statement) or 0)


def _steps(all_rows: sessionmaker[Session]) -> int:
    return _count(all_rows, select(func.count()).select_from(CaseTransferStep))


# --- the whole journey ---------------------------------------------------------------------


def test_pops_worker_offers_and_nepacs_manager_accepts_exactly_once(api_desk, nepacs, all_rows):
    worker, manager = api_desk("pops_liverpool"), api_desk("nepacs_manager")
    family = _family(worker)
    case = f"{CASES}/{family.case_id}"
    _ok(worker.post(f"{case}/consents", bodies.transfer_consent(nepacs)), 201)

    proposed = _ok(worker.post(f"{case}/transfers", bodies.proposal()), 201)
    assert proposed["state"] == "proposed"
    assert proposed["receiver_prison_code"] == "DMI"
    transfer = f"{TRANSFERS}/{proposed['id']}"

    # The receiver learns nothing before the offer: not in its list, the same 404 as no transfer.
    assert _ok(manager.get(TRANSFERS))["items"] == []
    before = manager.get(transfer)
    missing = manager.get(f"{TRANSFERS}/{missing_id()}")
    assert before.status_code == missing.status_code == 404
    assert before.data == missing.data

    seen_by_sender = _ok(worker.get(transfer))
    assert seen_by_sender["side"] == "sender" and seen_by_sender["gate_open"] is True
    person = next(p for p in seen_by_sender["consents"] if p["kind"] == "person_in_custody")
    assert person["goes"] is True and person["categories"] == ["identity"]
    assert "package" not in seen_by_sender

    offered = _ok(worker.post(f"{transfer}/offer", headers={"Idempotency-Key": "offer-0001"}))
    assert offered["state"] == "offered" and offered["expires_at"]

    listed = _ok(manager.get(TRANSFERS, query_string={"side": "receiver", "open_only": "true"}))
    assert [t["id"] for t in listed["items"]] == [proposed["id"]]
    assert listed["items"][0]["sender_case_id"] is None
    seen_by_receiver = _ok(manager.get(transfer))
    assert seen_by_receiver["side"] == "receiver" and seen_by_receiver["waiting_on"] == "receiver"
    assert seen_by_receiver["package"]["person"]["prison_number"] == bodies.PRISON_NUMBER
    assert "consents" not in seen_by_receiver and "gate_open" not in seen_by_receiver
    # Steps before the offer were never shared: the receiver's timeline starts at the offer.
    assert [s["state"] for s in seen_by_receiver["steps"]] == ["offered"]
    assert [s["state"] for s in _ok(worker.get(transfer))["steps"]] == ["proposed", "offered"]

    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = manager.post(f"{transfer}/accept", headers=key)
    accepted = _ok(first)
    assert accepted["state"] == "accepted" and accepted["receiver_case_id"]
    again = manager.post(f"{transfer}/accept", headers=key)
    assert again.status_code == 200 and again.data == first.data
    same_transfer = (
        select(func.count()).select_from(Case).where(Case.transfer_id == uuid.UUID(proposed["id"]))
    )
    assert _count(all_rows, same_transfer) == 1
    steps_after_accept = _steps(all_rows)

    _refused(manager.post(f"{transfer}/accept", headers={"Idempotency-Key": "another-key"}), 409)
    assert _steps(all_rows) == steps_after_accept

    after = _ok(manager.get(transfer))
    assert after["receiver_case_id"] == accepted["receiver_case_id"]
    assert "package" not in after
    new_case = _ok(manager.get(f"{CASES}/{accepted['receiver_case_id']}"))
    assert new_case["prison_code"] == "DMI" and new_case["status"] == "active"
    assert _ok(worker.get(case))["status"] == "transferred_out"
    assert _ok(worker.get(transfer))["state"] == "accepted"


@pytest.mark.parametrize(
    ("categories", "crosses"),
    [
        (("identity",), False),
        # The negative control: the same check sees the text when the family agreed to it.
        (("identity", "contacts", "notes", "needs"), True),
    ],
)
def test_nepacs_manager_sees_only_the_sections_the_family_consented_to(
    api_desk, nepacs, categories, crosses
):
    worker, manager = api_desk("pops_liverpool"), api_desk("nepacs_manager")
    family = _family(worker)
    case = f"{CASES}/{family.case_id}"
    _ok(worker.post(f"{case}/contacts", bodies.contact(summary=CONTACT_SUMMARY)), 201)
    _ok(worker.post(f"{case}/notes", bodies.note(body=NOTE_BODY)), 201)
    transfer_id = start_transfer(
        worker.client, worker.headers, family.case_id, nepacs, categories=categories
    )

    response = manager.get(f"{TRANSFERS}/{transfer_id}")
    package = _ok(response)["package"]
    assert package["person"]["name"] == bodies.PERSON_NAME
    sections = {"contacts", "notes", "needs"}
    assert sections & set(package) == (sections if crosses else set())
    assert (CONTACT_SUMMARY in response.text) is crosses
    assert (NOTE_BODY in response.text) is crosses
    assert "assessments" not in package and "actions" not in package
    # The main contact gave no consent to this transfer: their details stay behind.
    assert bodies.MAIN_CONTACT not in response.text
    # Identity goes person by person; the offer's categories are those of the case as a whole.
    assert sorted(_ok(response)["offered_categories"]) == sorted(set(categories) - {"identity"})


# --- who may see and do what ---------------------------------------------------------------


POSTS_ON_A_TRANSFER: dict[str, dict[str, Any] | None] = {
    "offer": None,
    "accept": None,
    "decline": {"reason": "no_capacity"},
    "cancel": {"reason": "sent_in_error"},
    "grant": None,
    "refuse": {"reason": "no_matching_case"},
}


def test_pact_manager_finds_no_transfer_between_two_other_charities(api_desk, nepacs, all_rows):
    worker, pact = api_desk("pops_liverpool"), api_desk("pact_manager")
    family, transfer_id = _offered(worker, nepacs)
    missing = pact.get(f"{TRANSFERS}/{missing_id()}")
    assert missing.status_code == 404

    assert _ok(pact.get(TRANSFERS))["items"] == []
    read = pact.get(f"{TRANSFERS}/{transfer_id}")
    assert read.status_code == 404 and read.data == missing.data
    steps = _steps(all_rows)
    for step, body in POSTS_ON_A_TRANSFER.items():
        answer = pact.post(f"{TRANSFERS}/{transfer_id}/{step}", body)
        assert answer.status_code == 404, step
        assert answer.data == missing.data, step
    answer = pact.post(f"{CASES}/{family.case_id}/transfers", bodies.proposal(to_prison_code="BMI"))
    assert answer.status_code == 404
    assert _steps(all_rows) == steps
    assert _ok(worker.get(f"{TRANSFERS}/{transfer_id}"))["state"] == "offered"


def test_nepacs_caseworker_cannot_accept_or_decline_an_offer(api_desk, nepacs, all_rows):
    worker, caseworker = api_desk("pops_liverpool"), api_desk("nepacs_durham")
    _, transfer_id = _offered(worker, nepacs)
    steps = _steps(all_rows)
    _refused(caseworker.post(f"{TRANSFERS}/{transfer_id}/accept"), 403)
    _refused(caseworker.post(f"{TRANSFERS}/{transfer_id}/decline", {"reason": "no_capacity"}), 403)
    assert _steps(all_rows) == steps
    # A caseworker may still read the offer made to their prison.
    assert _ok(caseworker.get(f"{TRANSFERS}/{transfer_id}"))["state"] == "offered"


def test_sender_may_not_accept_its_own_offer_nor_the_receiver_cancel_it(api_desk, nepacs, all_rows):
    worker, manager = api_desk("pops_liverpool"), api_desk("pops_manager")
    receiver = api_desk("nepacs_manager")
    _, transfer_id = _offered(worker, nepacs)
    steps = _steps(all_rows)
    # Both sides see this transfer, so the other side's step is forbidden, not missing.
    _refused(manager.post(f"{TRANSFERS}/{transfer_id}/accept"), 403)
    _refused(manager.post(f"{TRANSFERS}/{transfer_id}/decline", {"reason": "no_capacity"}), 403)
    _refused(receiver.post(f"{TRANSFERS}/{transfer_id}/cancel", {"reason": "sent_in_error"}), 403)
    _refused(receiver.post(f"{TRANSFERS}/{transfer_id}/offer"), 403)
    assert _steps(all_rows) == steps


# --- ending without acceptance -------------------------------------------------------------


def test_receiver_declines_and_the_sender_keeps_the_case(api_desk, nepacs):
    worker, manager = api_desk("pops_liverpool"), api_desk("nepacs_manager")
    family, transfer_id = _offered(worker, nepacs)
    assert _ok(worker.get(f"{CASES}/{family.case_id}"))["status"] == "transfer_pending"
    declined = _ok(manager.post(f"{TRANSFERS}/{transfer_id}/decline", {"reason": "no_capacity"}))
    assert declined["state"] == "declined" and declined["decided_at"]
    assert _ok(worker.get(f"{CASES}/{family.case_id}"))["status"] == "active"
    seen = _ok(manager.get(f"{TRANSFERS}/{transfer_id}"))
    assert "package" not in seen
    last = seen["steps"][-1]
    assert (last["state"], last["party"], last["reason"]) == ("declined", "receiver", "no_capacity")
    _refused(manager.post(f"{TRANSFERS}/{transfer_id}/accept"), 409)


def test_sender_cancels_a_proposal_and_the_receiver_never_learns_of_it(api_desk, nepacs):
    worker, manager = api_desk("pops_liverpool"), api_desk("nepacs_manager")
    family = _family(worker)
    proposed = _ok(worker.post(f"{CASES}/{family.case_id}/transfers", bodies.proposal()), 201)
    transfer = f"{TRANSFERS}/{proposed['id']}"
    cancelled = _ok(worker.post(f"{transfer}/cancel", {"reason": "sent_in_error"}))
    assert cancelled["state"] == "cancelled"
    assert _ok(worker.get(transfer))["steps"][-1]["reason"] == "sent_in_error"
    _refused(manager.get(transfer), 404)
    assert _ok(manager.get(TRANSFERS))["items"] == []


def test_offer_without_the_familys_transfer_consent_is_refused(api_desk, all_rows):
    worker = api_desk("pops_liverpool")
    family = _family(worker)
    proposed = _ok(worker.post(f"{CASES}/{family.case_id}/transfers", bodies.proposal()), 201)
    steps = _steps(all_rows)
    error = _refused(worker.post(f"{TRANSFERS}/{proposed['id']}/offer"), 409)
    assert "consent" in error["fields"]["_schema"][0]
    assert _steps(all_rows) == steps


# --- requests from the receiver ------------------------------------------------------------


def test_a_request_answers_the_same_whether_or_not_a_case_matches(api_desk):
    worker, manager = api_desk("pops_liverpool"), api_desk("nepacs_manager")
    _family(worker)
    matched = manager.post(TRANSFER_REQUESTS, bodies.transfer_request())
    unmatched = manager.post(TRANSFER_REQUESTS, bodies.transfer_request(prison_number="Z9999ZZ"))
    answers = [_ok(matched, 202), _ok(unmatched, 202)]
    assert [a["status"] for a in answers] == ["sent", "sent"]
    assert [set(a) for a in answers] == [{"status", "transfer_id"}] * 2
    assert sorted(matched.headers.keys()) == sorted(unmatched.headers.keys())
    assert (
        matched.data.replace(answers[0]["transfer_id"].encode(), answers[1]["transfer_id"].encode())
        == unmatched.data
    )
    read = [_ok(manager.get(f"{TRANSFERS}/{a['transfer_id']}")) for a in answers]
    assert [(r["state"], r["sender_case_id"]) for r in read] == [("requested", None)] * 2

    # The sender answers: it can grant the one that matched and only refuse the other.
    match_id, no_match_id = (a["transfer_id"] for a in answers)
    granted = _ok(worker.post(f"{TRANSFERS}/{match_id}/grant"))
    # No consent to the transfer is recorded yet: the granted request waits for the family's.
    assert granted["state"] == "awaiting_consent" and granted["origin"] == "receiver_request"
    steps = _ok(worker.get(f"{TRANSFERS}/{match_id}"))["steps"]
    assert [s["state"] for s in steps] == ["requested", "proposed", "awaiting_consent"]
    _refused(worker.post(f"{TRANSFERS}/{no_match_id}/grant"), 409)
    refused = _ok(worker.post(f"{TRANSFERS}/{no_match_id}/refuse", {"reason": "no_matching_case"}))
    assert refused["state"] == "refused"
    assert _ok(manager.get(f"{TRANSFERS}/{no_match_id}"))["steps"][-1]["reason"] == (
        "no_matching_case"
    )


def test_a_caseworker_may_not_ask_for_a_case(api_desk, all_rows):
    steps = _steps(all_rows)
    _refused(api_desk("nepacs_durham").post(TRANSFER_REQUESTS, bodies.transfer_request()), 403)
    assert _steps(all_rows) == steps


# --- bad input -----------------------------------------------------------------------------


# name -> (actor, step path or "propose"/"request", body, extra headers, the field named)
BAD_INPUT: dict[str, tuple[str, str, Any, dict[str, str], str]] = {
    "propose-unknown-field": ("pops_liverpool", "propose", bodies.proposal(colour="red"), {}, "colour"),
    "propose-bad-prison": ("pops_liverpool", "propose", bodies.proposal(to_prison_code="dmi"), {}, "to_prison_code"),
    "propose-unserved-prison": ("pops_liverpool", "propose", bodies.proposal(to_prison_code="ZZZ"), {}, "to_prison_code"),
    "propose-decline-reason": ("pops_liverpool", "propose", bodies.proposal(reason="no_capacity"), {}, "reason"),
    "decline-cancel-reason": ("nepacs_manager", "decline", {"reason": "sent_in_error"}, {}, "reason"),
    "decline-no-reason": ("nepacs_manager", "decline", {}, {}, "reason"),
    "decline-unknown-field": ("nepacs_manager", "decline", {"reason": "no_capacity", "note": "x"}, {}, "note"),
    "cancel-no-reason": ("pops_liverpool", "cancel", {}, {}, "reason"),
    "cancel-made-up-reason": ("pops_liverpool", "cancel", {"reason": "because"}, {}, "reason"),
    "refuse-decline-reason": ("pops_liverpool", "refuse", {"reason": "no_capacity"}, {}, "reason"),
    "accept-bad-key": ("nepacs_manager", "accept", None, {"Idempotency-Key": "no spaces!"}, "Idempotency-Key"),
    "accept-short-key": ("nepacs_manager", "accept", None, {"Idempotency-Key": "abc"}, "Idempotency-Key"),
    "offer-bad-key": ("pops_liverpool", "offer", None, {"Idempotency-Key": "x" * 81}, "Idempotency-Key"),
    "request-bad-prison": ("nepacs_manager", "request", bodies.transfer_request(from_prison_code="L1"), {}, "from_prison_code"),
    "request-bad-number": ("nepacs_manager", "request", bodies.transfer_request(prison_number="123"), {}, "prison_number"),
    "request-no-reason": ("nepacs_manager", "request", bodies.transfer_request(reason=None), {}, "reason"),
    "request-unknown-field": ("nepacs_manager", "request", bodies.transfer_request(case_id="x"), {}, "case_id"),
    "request-foreign-prison": ("nepacs_manager", "request", bodies.transfer_request(to_prison_code="LPI"), {}, "to_prison_code"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_is_refused_naming_the_field_and_writes_no_step(api_desk, nepacs, all_rows, name):
    actor, step, body, headers, field = BAD_INPUT[name]
    family, transfer_id = _offered(api_desk("pops_liverpool"), nepacs)
    url = {
        "propose": f"{CASES}/{family.case_id}/transfers",
        "request": TRANSFER_REQUESTS,
    }.get(step, f"{TRANSFERS}/{transfer_id}/{step}")
    transfers_before = _count(all_rows, select(func.count()).select_from(CaseTransfer))
    steps_before = _steps(all_rows)

    error = _refused(api_desk(actor).post(url, body, headers=headers), 422)

    assert field in error["fields"], error
    assert _steps(all_rows) == steps_before
    assert _count(all_rows, select(func.count()).select_from(CaseTransfer)) == transfers_before


def test_a_well_formed_idempotency_key_among_other_headers_is_taken(api_desk, nepacs):
    worker = api_desk("pops_liverpool")
    family = _family(worker)
    transfer_id = start_transfer(worker.client, worker.headers, family.case_id, nepacs, offer=False)
    extra = {"Idempotency-Key": "offer:2024-06-01_a.b", "X-Request-Id": "anything at all"}
    first = worker.post(f"{TRANSFERS}/{transfer_id}/offer", headers=extra)
    again = worker.post(f"{TRANSFERS}/{transfer_id}/offer", headers=extra)
    assert first.status_code == again.status_code == 200, again.text
    assert first.data == again.data


@pytest.mark.parametrize(
    "query",
    [{"colour": "red"}, {"side": "platform"}, {"side": "both"}, {"open_only": "perhaps"}],
)
def test_the_list_refuses_query_parameters_it_does_not_know(api_desk, query):
    error = _refused(api_desk("pops_liverpool").get(TRANSFERS, query_string=query), 422)
    assert set(query) <= set(error["fields"])


def test_the_list_keeps_one_side_and_open_transfers_when_asked(api_desk, nepacs):
    worker, manager = api_desk("pops_liverpool"), api_desk("nepacs_manager")
    _, open_id = _offered(worker, nepacs)
    _, declined_id = _offered(worker, nepacs)
    _ok(manager.post(f"{TRANSFERS}/{declined_id}/decline", {"reason": "no_capacity"}))

    def ids(actor: ApiDesk, **query: str) -> set[str]:
        return {t["id"] for t in _ok(actor.get(TRANSFERS, query_string=query))["items"]}

    assert ids(worker, side="sender") == {open_id, declined_id}
    assert ids(worker, side="receiver") == set()
    assert ids(worker, side="sender", open_only="true") == {open_id}
    assert ids(manager, side="receiver", open_only="false") == {open_id, declined_id}
    assert ids(manager, open_only="true") == {open_id}


# --- the document --------------------------------------------------------------------------


def test_the_openapi_document_lists_every_transfer_operation(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    expected = {
        ("get", "/api/v1/transfers"),
        ("get", "/api/v1/transfers/{transfer_id}"),
        ("post", "/api/v1/cases/{case_id}/transfers"),
        ("post", "/api/v1/transfer-requests"),
        *(("post", f"/api/v1/transfers/{{transfer_id}}/{step}") for step in POSTS_ON_A_TRANSFER),
    }
    assert {(m, p) for m, p in expected if m in paths.get(p, {})} == expected
    for step in ("offer", "accept"):
        parameters = paths[f"/api/v1/transfers/{{transfer_id}}/{step}"]["post"]["parameters"]
        header = next(p for p in parameters if p["in"] == "header")
        assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert "202" in paths["/api/v1/transfer-requests"]["post"]["responses"]
