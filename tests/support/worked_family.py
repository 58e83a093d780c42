"""A worked family: the world's Liverpool case given two adults and a child, a contact, a note,
needs, an assessment and an action, so a transfer's package has a record in every category to
carry or leave behind. The ``family`` fixture (tests/conftest.py) works it at POPS Liverpool."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.domain.outcomes import framework
from app.domain.people import MemberDetails
from app.domain.vocabulary import ActionOwner, ContactKind, MemberKind, Need, Relationship
from app.services.cases import casework
from app.services.cases.cases import update_case
from app.services.cases.family_file import add_member
from tests.support.cases import TODAY, Desk

# Words that exist only in one record of the sender's case, to look for in what crossed.
CONTACT_SUMMARY = "Visit went well; tea in the visitor centre (contact-7731)"
NOTE_BODY = "Mother worried about the move (note-4412)"
ACTION_TEXT = "Book the first family day (action-9920)"
PARTNER = ("Pat Staysbehind", "07700 900111")
GRANDMOTHER = ("Gwen Goeswith", "07700 900222")
CHILD_NAME = "Kit Littleone"


@dataclass(frozen=True)
class WorkedFamily:
    case_id: uuid.UUID
    partner: uuid.UUID
    grandmother: uuid.UUID
    child: uuid.UUID


def work_family(worker: Desk, case_id: uuid.UUID) -> WorkedFamily:
    """``worker`` gives the case its members and a record in every category."""

    def member(kind: MemberKind, relationship: Relationship, name: str, **more: Any) -> uuid.UUID:
        details = MemberDetails(kind=kind, relationship=relationship, name=name, **more)
        return worker.do(add_member, case_id, details).id

    partner = member(
        MemberKind.ADULT, Relationship.PARTNER, PARTNER[0], phone=PARTNER[1], email="pat@x.test"
    )
    grandmother = member(
        MemberKind.ADULT,
        Relationship.GRANDPARENT,
        GRANDMOTHER[0],
        phone=GRANDMOTHER[1],
        address="1 Gate Street",
        is_main_contact=True,
    )
    child = member(MemberKind.CHILD, Relationship.CHILD, CHILD_NAME, age_band="5-10")
    worker.do(
        casework.add_contact,
        case_id,
        kind=ContactKind.VISIT,
        occurred_on=TODAY - timedelta(days=7),
        children_present=True,
        children_count=1,
        summary=CONTACT_SUMMARY,
    )
    worker.do(casework.add_note, case_id, body=NOTE_BODY)
    worker.do(update_case, case_id, safeguarding=True, add_needs=frozenset({Need.VISITS}))
    worker.do(
        casework.record_assessment,
        case_id,
        assessed_on=TODAY - timedelta(days=3),
        scores=dict.fromkeys(framework().area_codes(), 3),
    )
    worker.do(casework.add_action, case_id, description=ACTION_TEXT, owner=ActionOwner.WORKER)
    return WorkedFamily(case_id, partner, grandmother, child)
