"""The family page: everything about one case, decrypted for the reader and audited once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from app.domain.consent import ConsentFacts, state_of, withdrawals
from app.domain.errors import InvalidInput, NotFound
from app.domain.outcomes import Scored, distance_travelled
from app.domain.people import MemberDetails
from app.domain.vocabulary import ActionStatus
from app.models import (
    ActionItem,
    Case,
    CaseNote,
    CaseStatus,
    ConsentRecord,
    Contact,
    Family,
    FamilyMember,
    PersonInCustody,
    Prison,
)
from app.services.cases.consents import consent_facts
from app.services.cases.family_records import Part, family_records
from app.services.cases.referrals import member_errors, new_member
from app.services.cases.scope import case_for_work, record_event, require
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from app.services.transfers.case_history import CaseTransfers, case_transfers
from tenants.context import TenantContext
from tenants.permissions import Permission


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class PersonView:
    id: uuid.UUID
    name: str | None
    prison_number: str | None
    date_of_birth: date | None
    expected_release_on: date | None
    prison_code: str


@dataclass(frozen=True)
class MemberView:
    id: uuid.UUID
    kind: str
    relationship: str
    name: str | None
    date_of_birth: date | None
    age_band: str | None
    phone: str | None
    email: str | None
    address: str | None
    is_main_contact: bool


@dataclass(frozen=True)
class ContactView:
    id: uuid.UUID
    kind: str
    occurred_on: date
    first_time_visitor: bool
    children_present: bool
    children_count: int | None
    duration_minutes: int | None
    summary: str | None
    recorded_by: str


@dataclass(frozen=True)
class AssessmentView:
    id: uuid.UUID
    framework: str
    assessed_on: date
    scores: dict[str, int]
    recorded_by: str


@dataclass(frozen=True)
class ActionView:
    id: uuid.UUID
    description: str | None
    owner: str
    due_on: date | None
    status: str
    completed_on: date | None
    overdue: bool
    created_at: datetime


@dataclass(frozen=True)
class NoteView:
    id: uuid.UUID
    body: str
    written_at: datetime
    written_by: str


@dataclass(frozen=True)
class ConsentView:
    id: uuid.UUID
    subject: str
    family_member_id: uuid.UUID | None
    given_by_member_id: uuid.UUID | None
    purpose: str
    recipient_charity_id: uuid.UUID | None
    categories: tuple[str, ...]
    decision: str
    method: str
    verification: str
    valid_from: date
    expires_on: date | None
    withdraws_id: uuid.UUID | None
    state: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    on: date
    kind: str
    title: str
    detail: str | None
    by: str | None
    record_id: uuid.UUID


@dataclass(frozen=True)
class OtherCase:
    """Another case of the same family, as the family page lists it."""

    id: uuid.UUID
    reference: str
    status: str
    opened_on: date


@dataclass(frozen=True)
class FamilyFile:
    case: Case
    needs: tuple[str, ...]
    person: PersonView
    members: tuple[MemberView, ...]
    contacts: tuple[ContactView, ...]
    assessments: tuple[AssessmentView, ...]
    distance: dict[str, int]
    actions: tuple[ActionView, ...]
    notes: tuple[NoteView, ...]
    consents: tuple[ConsentView, ...]
    timeline: tuple[TimelineEntry, ...]
    key_worker: str | None
    other_cases: tuple[OtherCase, ...] = field(default=())
    transfers: CaseTransfers = field(default=CaseTransfers((), (), None))
    # The case's prison, read with the case (the page's heading names it); None if unlisted.
    prison: Prison | None = None


# The case in scope with its prison, in one statement; a case outside the walls is missing.
CASE_WITH_PRISON = (
    select(Case, Prison)
    .outerjoin(Prison, Prison.code == Case.prison_code)
    .where(Case.id == bindparam("case_id"))
)


def _staff_names(rows: Sequence[Row[Any]], charity_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Who recorded what. Records that came by transfer keep their authors' ids (provenance),
    but another charity's staff are never named here: they read as that charity's staff."""
    return {row.u1: row.s1 if row.u2 == charity_id else f"{row.s2} staff" for row in rows}


def _person_view(vault: Vault, charity_id: uuid.UUID, row: Row[Any]) -> PersonView:
    def open_(field: str, blob: Any) -> str | None:
        return vault.open_field(charity_id, PersonInCustody.__tablename__, field, row.u1, blob)

    return PersonView(
        id=row.u1,
        name=open_("name", row.b1),
        prison_number=open_("prison_number", row.b2),
        date_of_birth=_date(open_("date_of_birth", row.b3)),
        expected_release_on=row.d1,
        prison_code=row.s1,
    )


def _member_view(vault: Vault, charity_id: uuid.UUID, row: Row[Any]) -> MemberView:
    def open_(field: str, blob: Any) -> str | None:
        return vault.open_field(charity_id, FamilyMember.__tablename__, field, row.u1, blob)

    return MemberView(
        id=row.u1,
        kind=row.s1,
        relationship=row.s2,
        name=open_("name", row.b1),
        date_of_birth=_date(open_("date_of_birth", row.b2)),
        age_band=row.s3,
        phone=open_("phone", row.b3),
        email=open_("email", row.b4),
        address=open_("address", row.b5),
        is_main_contact=row.f1,
    )


def _consent_facts(row: Row[Any]) -> ConsentFacts:
    # consent_facts reads a stored record's attributes; the row holds the same values.
    stored = ConsentRecord(
        id=row.u1,
        family_member_id=row.u3,
        purpose=row.s2,
        decision=row.s4,
        categories=row.s3,
        valid_from=row.d1,
        expires_on=row.d2,
        recipient_charity_id=row.u5,
        withdraws_id=row.u6,
    )
    return consent_facts(stored)


def _load(
    session: Session, vault: Vault, case: Case, today: date, moves: CaseTransfers
) -> FamilyFile:
    found = family_records(session, case.id, case.family_id, case.key_worker_id)
    charity_id = case.charity_id
    if not found[Part.PERSON]:
        raise NoResultFound("the case's family has no person in custody in scope")
    scores: dict[uuid.UUID, dict[str, int]] = {a.u1: {} for a in found[Part.ASSESSMENT]}
    for row in found[Part.SCORE]:
        scores[row.u1][row.s1] = row.i1
    names = _staff_names(found[Part.STAFF], charity_id)
    consents = found[Part.CONSENT]
    facts = [_consent_facts(row) for row in consents]
    withdrawn = withdrawals(facts)
    states = {fact.id: state_of(fact, today, withdrawn) for fact in facts}

    def open_(table: str, field: str, row: Row[Any]) -> str | None:
        return vault.open_field(charity_id, table, field, row.u1, row.b1)

    contact_views = tuple(
        ContactView(
            id=c.u1,
            kind=c.s1,
            occurred_on=c.d1,
            first_time_visitor=c.f1,
            children_present=c.f2,
            children_count=c.i1,
            duration_minutes=c.i2,
            summary=open_(Contact.__tablename__, "summary", c),
            recorded_by=names.get(c.u2, "unknown"),
        )
        for c in found[Part.CONTACT]
    )
    assessment_views = tuple(
        AssessmentView(a.u1, a.s1, a.d1, scores[a.u1], names.get(a.u2, ""))
        for a in found[Part.ASSESSMENT]
    )
    action_views = tuple(
        ActionView(
            id=a.u1,
            description=open_(ActionItem.__tablename__, "description", a),
            owner=a.s1,
            due_on=a.d1,
            status=a.s2,
            completed_on=a.d2,
            overdue=a.s2 == ActionStatus.OPEN and a.d1 is not None and a.d1 < today,
            created_at=a.t1,
        )
        for a in found[Part.ACTION]
    )
    note_views = tuple(
        NoteView(n.u1, open_(CaseNote.__tablename__, "body", n) or "", n.t1, names.get(n.u2, ""))
        for n in found[Part.NOTE]
    )
    consent_views = tuple(
        ConsentView(
            id=r.u1,
            subject=r.s1,
            family_member_id=r.u3,
            given_by_member_id=r.u4,
            purpose=r.s2,
            recipient_charity_id=r.u5,
            categories=tuple(c for c in r.s3.split(",") if c),
            decision=r.s4,
            method=r.s5,
            verification=r.s6,
            valid_from=r.d1,
            expires_on=r.d2,
            withdraws_id=r.u6,
            state=states[r.u1].value,
            recorded_by=names.get(r.u2, ""),
            recorded_at=r.t1,
        )
        for r in consents
    )
    member_views = tuple(_member_view(vault, charity_id, m) for m in found[Part.MEMBER])
    return FamilyFile(
        case=case,
        needs=tuple(n.s1 for n in found[Part.NEED]),
        person=_person_view(vault, charity_id, found[Part.PERSON][0]),
        members=member_views,
        contacts=contact_views,
        assessments=assessment_views,
        distance=_distance(assessment_views),
        actions=action_views,
        notes=note_views,
        consents=consent_views,
        timeline=_timeline(
            case,
            contact_views,
            assessment_views,
            action_views,
            note_views,
            consent_views,
            member_views,
            moves,
        ),
        key_worker=names.get(case.key_worker_id) if case.key_worker_id else None,
        other_cases=tuple(OtherCase(o.u1, o.s1, o.s2, o.d1) for o in found[Part.OTHER_CASE]),
        transfers=moves,
    )


def _distance(assessments: tuple[AssessmentView, ...]) -> dict[str, int]:
    by_framework: dict[str, list[Scored]] = {}
    for a in assessments:
        by_framework.setdefault(a.framework, []).append(Scored(a.assessed_on, a.scores))
    result: dict[str, int] = {}
    for scored in by_framework.values():
        result.update(distance_travelled(scored))
    return result


def _timeline(
    case: Case,
    contacts: tuple[ContactView, ...],
    assessments: tuple[AssessmentView, ...],
    actions: tuple[ActionView, ...],
    notes: tuple[NoteView, ...],
    consents: tuple[ConsentView, ...],
    members: tuple[MemberView, ...],
    moves: CaseTransfers,
) -> tuple[TimelineEntry, ...]:
    """Newest first; the labels come from app.domain.vocabulary in the template."""
    names = {m.id: m.name for m in members}
    entries = [TimelineEntry(case.opened_on, "case_opened", "Case opened", None, None, case.id)]
    entries += [
        TimelineEntry(c.occurred_on, f"contact:{c.kind}", c.kind, c.summary, c.recorded_by, c.id)
        for c in contacts
    ]
    entries += [
        TimelineEntry(a.assessed_on, "assessment", "Outcome assessment", None, a.recorded_by, a.id)
        for a in assessments
    ]
    entries += [
        TimelineEntry(a.created_at.date(), "action", "Action agreed", a.description, None, a.id)
        for a in actions
    ]
    entries += [
        TimelineEntry(n.written_at.date(), "note", "Case note", n.body, n.written_by, n.id)
        for n in notes
    ]
    for c in consents:
        who = names.get(c.family_member_id) if c.family_member_id else "Person in custody"
        entries.append(
            TimelineEntry(
                c.valid_from, f"consent:{c.decision}", c.purpose, who, c.recorded_by, c.id
            )
        )
    if moves.came_from is not None:
        came = moves.came_from
        where = f"{came.charity} ({came.prison})"
        entries.append(TimelineEntry(came.on, "transferred_in", where, None, None, case.id))
    # Newest step first: the sort below keeps the order of entries on the same day.
    entries += [
        TimelineEntry(
            step.at.date(),
            f"transfer:{step.state}",
            step.destination,
            step.reason,
            step.by,
            step.transfer_id,
        )
        for step in moves.steps
    ]
    # A transferred-out case ends with its transfer's "accepted" step, not a closure.
    if case.closed_on is not None and case.status != CaseStatus.TRANSFERRED_OUT.value:
        entries.append(
            TimelineEntry(
                case.closed_on, "case_closed", "Case closed", case.closure_reason, None, case.id
            )
        )
    entries.sort(key=lambda e: (e.on, e.kind != "case_opened"), reverse=True)
    return tuple(entries)


def read_family(
    session: Session, context: TenantContext, origin: Origin, vault: Vault, case_id: uuid.UUID
) -> FamilyFile:
    """Everything about a case the context may see; one audit event names the case."""
    require(context, Permission.CASE_READ)
    found = session.execute(CASE_WITH_PRISON, {"case_id": case_id}).first()
    if found is None:
        raise NotFound("case")
    case, prison = found
    moves = case_transfers(session, context, origin, case)
    file = replace(_load(session, vault, case, origin.clock().date(), moves), prison=prison)
    record_event(session, context, origin, "case.read", "case", [case.id])
    session.commit()
    return file


def add_member(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    details: MemberDetails,
) -> FamilyMember:
    """Add an adult or child to the case's family."""
    case = case_for_work(session, context, case_id)
    errors = member_errors(details, origin.clock().date())
    if errors:
        raise InvalidInput(errors)
    family = session.scalars(select(Family).where(Family.id == case.family_id)).one()
    if details.is_main_contact:
        for other in session.scalars(
            select(FamilyMember).where(
                FamilyMember.family_id == family.id, FamilyMember.is_main_contact.is_(True)
            )
        ):
            other.is_main_contact = False
    member = new_member(vault, context, family, details)
    session.add(member)
    session.flush()
    record_event(session, context, origin, "member.create", "family_member", [case.id, member.id])
    session.commit()
    return member
