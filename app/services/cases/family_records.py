"""The family file's records in one statement (issue 13).

A family page shows the person in custody, the family's members, the case's needs, contacts,
assessments and their scores, actions, notes, consents, the family's other cases, and who wrote
what. Read one table at a time that was eleven ORM statements, and the ORM's cost per statement
(building it, scoping it, its cache key, its result) was most of the request. Here they are one
``UNION ALL`` of eleven SELECTs through the same session, so the walls scope every one of them
as before: the ORM guard adds its charity and prison criteria to each SELECT of the union and to
each subquery, and row-level security applies to each table on PostgreSQL.

Each SELECT puts its columns into typed slots (``u`` ids, ``s`` text, ``b`` ciphertexts, ``d``
dates, ``t`` a timestamp, ``i`` numbers, ``f`` flags) and leaves the rest NULL; ``part`` says
which table a row came from. Each part keeps the order its own query had, in SQL, so NULLs and
collation sort as they did. The statement is built once; only the ids change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Integer,
    LargeBinary,
    Row,
    Select,
    String,
    Uuid,
    bindparam,
    case,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.models import (
    ActionItem,
    Case,
    CaseNeed,
    CaseNote,
    ConsentRecord,
    Contact,
    Family,
    FamilyMember,
    Organisation,
    OutcomeAssessment,
    OutcomeScore,
    PersonInCustody,
    User,
)
from app.models.base import UTCDateTime


class Part(IntEnum):
    PERSON = 1
    MEMBER = 2
    NEED = 3
    CONTACT = 4
    ASSESSMENT = 5
    SCORE = 6
    ACTION = 7
    NOTE = 8
    CONSENT = 9
    OTHER_CASE = 10
    STAFF = 11


SLOTS: dict[str, Any] = {
    **{f"u{n}": Uuid() for n in range(1, 7)},
    **{f"s{n}": String() for n in range(1, 7)},
    **{f"b{n}": LargeBinary() for n in range(1, 6)},
    **{f"d{n}": Date() for n in range(1, 3)},
    "t1": UTCDateTime(),
    **{f"i{n}": Integer() for n in range(1, 3)},
    **{f"f{n}": Boolean() for n in range(1, 3)},
}


def _part(part: Part, **slots: Any) -> Select[Any]:
    columns: list[ColumnElement[Any]] = [literal_column(str(int(part)), Integer).label("part")]
    for name, type_ in SLOTS.items():
        value = slots.get(name)
        columns.append((cast(null(), type_) if value is None else value).label(name))
    return select(*columns)


# Each part's order, as its own query had it: (slot, descending). Then by id: rows written in
# one transaction tie on their times, and came back in whatever order the plan gave; now the
# same on every read and on both databases.
ORDER: dict[Part, tuple[tuple[str, bool], ...]] = {
    Part.MEMBER: (("f1", True), ("s1", False), ("t1", False), ("u1", False)),
    Part.NEED: (("s1", False),),
    Part.CONTACT: (("d1", True), ("t1", True), ("u1", False)),
    Part.ASSESSMENT: (("d1", False), ("t1", False), ("u1", False)),
    Part.SCORE: (("u1", False), ("s1", False)),
    Part.ACTION: (("s2", False), ("d1", False), ("t1", False), ("u1", False)),
    Part.NOTE: (("t1", True), ("u1", False)),
    Part.CONSENT: (("t1", True), ("u1", False)),
    Part.OTHER_CASE: (("d1", True), ("u1", False)),
}


def _statement() -> Select[Any]:
    case_id = bindparam("case_id", type_=Uuid())
    family_id = bindparam("family_id", type_=Uuid())
    key_worker_id = bindparam("key_worker_id", type_=Uuid())
    person, member, contact = PersonInCustody, FamilyMember, Contact
    action, note, consent = ActionItem, CaseNote, ConsentRecord
    parts = union_all(
        _part(
            Part.PERSON,
            u1=person.id,
            b1=person.name_enc,
            b2=person.prison_number_enc,
            b3=person.date_of_birth_enc,
            d1=person.expected_release_on,
            s1=person.prison_code,
        )
        .select_from(Family)
        .join(person, person.id == Family.person_in_custody_id)
        .where(Family.id == family_id),
        _part(
            Part.MEMBER,
            u1=member.id,
            s1=member.kind,
            s2=member.relationship,
            s3=member.age_band,
            f1=member.is_main_contact,
            b1=member.name_enc,
            b2=member.date_of_birth_enc,
            b3=member.phone_enc,
            b4=member.email_enc,
            b5=member.address_enc,
            t1=member.created_at,
        ).where(member.family_id == family_id),
        _part(Part.NEED, s1=CaseNeed.need).where(CaseNeed.case_id == case_id),
        _part(
            Part.CONTACT,
            u1=contact.id,
            u2=contact.recorded_by,
            s1=contact.kind,
            d1=contact.occurred_on,
            f1=contact.first_time_visitor,
            f2=contact.children_present,
            i1=contact.children_count,
            i2=contact.duration_minutes,
            b1=contact.summary_enc,
            t1=contact.created_at,
        ).where(contact.case_id == case_id),
        _part(
            Part.ASSESSMENT,
            u1=OutcomeAssessment.id,
            u2=OutcomeAssessment.recorded_by,
            s1=OutcomeAssessment.framework,
            d1=OutcomeAssessment.assessed_on,
            t1=OutcomeAssessment.created_at,
        ).where(OutcomeAssessment.case_id == case_id),
        # Both sides of the join are walled: a score is read only with its assessment.
        _part(
            Part.SCORE, u1=OutcomeScore.assessment_id, s1=OutcomeScore.area, i1=OutcomeScore.score
        )
        .join(OutcomeAssessment, OutcomeAssessment.id == OutcomeScore.assessment_id)
        .where(OutcomeAssessment.case_id == case_id),
        _part(
            Part.ACTION,
            u1=action.id,
            b1=action.description_enc,
            s1=action.owner,
            s2=action.status,
            d1=action.due_on,
            d2=action.completed_on,
            t1=action.created_at,
        ).where(action.case_id == case_id),
        _part(
            Part.NOTE, u1=note.id, u2=note.written_by, b1=note.body_enc, t1=note.written_at
        ).where(note.case_id == case_id),
        _part(
            Part.CONSENT,
            u1=consent.id,
            u2=consent.recorded_by,
            u3=consent.family_member_id,
            u4=consent.given_by_member_id,
            u5=consent.recipient_charity_id,
            u6=consent.withdraws_id,
            s1=consent.subject,
            s2=consent.purpose,
            s3=consent.categories,
            s4=consent.decision,
            s5=consent.method,
            s6=consent.verification,
            d1=consent.valid_from,
            d2=consent.expires_on,
            t1=consent.recorded_at,
        ).where(consent.case_id == case_id),
        _part(
            Part.OTHER_CASE, u1=Case.id, s1=Case.reference, s2=Case.status, d1=Case.opened_on
        ).where(Case.family_id == family_id, Case.id != case_id),
        # Who wrote what (and the key worker): their names and charities, for the page to name
        # its own staff and call another charity's "<charity> staff".
        _part(
            Part.STAFF,
            u1=User.id,
            u2=User.organisation_id,
            s1=User.display_name,
            s2=Organisation.name,
        )
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(
            or_(
                User.id == key_worker_id,
                User.id.in_(select(contact.recorded_by).where(contact.case_id == case_id)),
                User.id.in_(
                    select(OutcomeAssessment.recorded_by).where(
                        OutcomeAssessment.case_id == case_id
                    )
                ),
                User.id.in_(select(note.written_by).where(note.case_id == case_id)),
                User.id.in_(select(consent.recorded_by).where(consent.case_id == case_id)),
            )
        ),
    ).subquery("family_records")
    order: list[Any] = [parts.c.part]
    for part, keys in ORDER.items():
        for slot, descending in keys:
            key = case((parts.c.part == int(part), parts.c[slot]))
            order.append(key.desc() if descending else key)
    return select(parts).order_by(*order)


# Built once: only the two ids change from one read to the next.
STATEMENT = _statement()


def family_records(
    session: Session, case_id: uuid.UUID, family_id: uuid.UUID, key_worker_id: uuid.UUID | None
) -> Mapping[Part, Sequence[Row[Any]]]:
    """The records of ``case_id`` and of its family ``family_id`` the session's context may see,
    by part, each part in its own order, with the staff who wrote them and the key worker."""
    found: dict[Part, list[Row[Any]]] = {part: [] for part in Part}
    ids = {"case_id": case_id, "family_id": family_id, "key_worker_id": key_worker_id}
    for row in session.execute(STATEMENT, ids):
        found[Part(row.part)].append(row)
    return found
