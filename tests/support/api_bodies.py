"""Good request bodies for the case and transfer API, one family opened through it, and a
transfer of its case.

The API's services read the system clock, so dates here are relative to today. Names are
synthetic; each body is a fresh dict a test may change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient

from app.domain.outcomes import framework
from tests.support.clock import DEFAULT_NOW

CASES = "/api/v1/cases"
TRANSFERS = "/api/v1/transfers"
TRANSFER_REQUESTS = "/api/v1/transfer-requests"
PERSON_NAME = "Jordan Apitestcase"
PRISON_NUMBER = "C3456DE"
MAIN_CONTACT = "Sam Apitestcase"
CHILD = "Riley Apitestcase"


def today() -> date:
    """The day the app under test works on: its clock's default instant (tests/support/clock.py)
    unless the test moves the clock."""
    return DEFAULT_NOW.date()


def days_ago(days: int) -> str:
    return (today() - timedelta(days=days)).isoformat()


def referral(prison_code: str = "LPI", **changes: Any) -> dict[str, Any]:
    """A referral of a new family: the person in custody and the main contact."""
    body: dict[str, Any] = {
        "prison_code": prison_code,
        "referral_source": "offender_manager",
        "opened_on": days_ago(7),
        "person": {
            "name": PERSON_NAME,
            "prison_number": PRISON_NUMBER,
            "date_of_birth": "1990-04-12",
        },
        "main_contact": {
            "relationship": "partner",
            "name": MAIN_CONTACT,
            "phone": "07700 900123",
        },
        "needs": ["visits", "finance"],
    }
    return {**body, **changes}


def child(**changes: Any) -> dict[str, Any]:
    return {"kind": "child", "relationship": "child", "name": CHILD, "age_band": "5-10", **changes}


def contact(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "visit",
        "occurred_on": days_ago(1),
        "first_time_visitor": True,
        "children_present": True,
        "children_count": 1,
        "duration_minutes": 45,
        "summary": "First visit; Riley was anxious in the queue and settled in the play area.",
        **changes,
    }


def note(**changes: Any) -> dict[str, Any]:
    return {"body": "Sam asked about help with travel costs for visits.", **changes}


def scores(start: int = 3) -> dict[str, int]:
    """A score for every area of the default framework, ``start`` upwards within 1 to 10."""
    return {code: min(10, start + i % 3) for i, code in enumerate(framework().area_codes())}


def assessment(**changes: Any) -> dict[str, Any]:
    return {"assessed_on": days_ago(0), "scores": scores(), **changes}


def action(**changes: Any) -> dict[str, Any]:
    return {
        "description": "Apply to the Assisted Prison Visits Scheme for travel costs.",
        "owner": "worker",
        "due_on": days_ago(-14),
        **changes,
    }


def consent(member_id: uuid.UUID | str, **changes: Any) -> dict[str, Any]:
    return {
        "subject": "family_member",
        "family_member_id": str(member_id),
        "purpose": "contact",
        "categories": ["identity", "contact_details", "children"],
        "decision": "given",
        "method": "verbal",
        "verification": "in_person_id_seen",
        **changes,
    }


def transfer_consent(
    recipient_charity_id: uuid.UUID | str,
    categories: tuple[str, ...] = ("identity",),
    **changes: Any,
) -> dict[str, Any]:
    """The person in custody's consent to a transfer to one charity, of ``categories``."""
    return {
        "subject": "person_in_custody",
        "purpose": "transfer",
        "recipient_charity_id": str(recipient_charity_id),
        "categories": list(categories),
        "decision": "given",
        "method": "written",
        "verification": "signed_form",
        **changes,
    }


def proposal(**changes: Any) -> dict[str, Any]:
    """A transfer to the charity serving HMP Durham (NEPACS in the test world)."""
    return {"to_prison_code": "DMI", "reason": "person_moved", **changes}


def transfer_request(**changes: Any) -> dict[str, Any]:
    """NEPACS at Durham asks the charity serving Liverpool for the API family's case."""
    return {
        "prison_number": PRISON_NUMBER,
        "from_prison_code": "LPI",
        "to_prison_code": "DMI",
        "reason": "family_asked",
        **changes,
    }


def withdrawal(**changes: Any) -> dict[str, Any]:
    return {"method": "written", "verification": "signed_form", **changes}


def equality(**changes: Any) -> dict[str, Any]:
    return {
        "ethnicity": "white_british",
        "sex": "female",
        "disability": "no",
        "first_language": "English",
        **changes,
    }


@dataclass(frozen=True)
class OpenedFamily:
    """The ids of one family opened through the API, with a little work on its case."""

    case_id: str
    main_contact_id: str
    child_id: str
    action_id: str
    consent_id: str

    def path(self, template: str) -> str:
        return template.format(
            case=self.case_id,
            member=self.main_contact_id,
            action=self.action_id,
            consent=self.consent_id,
        )


def _created(client: FlaskClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.get_json()


def open_family(
    client: FlaskClient, headers: dict[str, str], prison_code: str = "LPI"
) -> OpenedFamily:
    """A referral with a main contact and a child, an open action and a given consent."""
    case_id = _created(client, CASES, referral(prison_code), headers)["id"]
    here = f"{CASES}/{case_id}"
    child_id = _created(client, f"{here}/members", child(), headers)["id"]
    family = client.get(f"{here}/family", headers=headers).get_json()
    main_contact_id = next(m["id"] for m in family["members"] if m["is_main_contact"])
    action_id = _created(client, f"{here}/actions", action(), headers)["id"]
    consent_id = _created(client, f"{here}/consents", consent(main_contact_id), headers)["id"]
    return OpenedFamily(case_id, main_contact_id, child_id, action_id, consent_id)


def start_transfer(
    client: FlaskClient,
    headers: dict[str, str],
    case_id: str,
    receiver_id: uuid.UUID | str,
    *,
    categories: tuple[str, ...] = ("identity",),
    offer: bool = True,
) -> str:
    """Record the person in custody's consent to a transfer to ``receiver_id``, propose the case
    to Durham and (unless ``offer`` is false) offer it; the transfer's id."""
    _created(
        client, f"{CASES}/{case_id}/consents", transfer_consent(receiver_id, categories), headers
    )
    transfer_id = str(_created(client, f"{CASES}/{case_id}/transfers", proposal(), headers)["id"])
    if offer:
        response = client.post(f"{TRANSFERS}/{transfer_id}/offer", headers=headers)
        assert response.status_code == 200, response.text
    return transfer_id
