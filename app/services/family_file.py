"""The family page: everything about one case, decrypted for the reader and audited once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.consent import state_of, withdrawals
from app.domain.errors import InvalidInput
from app.domain.outcomes import Scored, distance_travelled
from app.domain.vocabulary import ActionStatus
from app.models import (
    ActionItem,
    Case,
    CaseNeed,
    CaseNote,
    CaseStatus,
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
from app.services.audit import Origin
from app.services.consents import consent_facts
from app.services.referrals import MemberDetails, member_errors, new_member
from app.services.scope import case_for_work, case_in_scope, record_event, require
from app.services.transfers.case_history import CaseTransfers, case_transfers
from app.services.vault import Vault
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
    other_cases: tuple[Case, ...] = field(default=())
    transfers: CaseTransfers = field(default=CaseTransfers((), (), None))


def _staff_names(
    session: Session, ids: set[uuid.UUID | None], charity_id: uuid.UUID
) -> dict[uuid.UUID, str]:
    """Who recorded what. Records that came by transfer keep their authors' ids (provenance),
    but another charity's staff are never named here: they read as that charity's staff."""
    wanted = {user_id for user_id in ids if user_id is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.organisation_id, Organisation.name)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.id.in_(wanted))
    )
    return {
        user_id: name if organisation_id == charity_id else f"{charity} staff"
        for user_id, name, organisation_id, charity in rows
    }


def person_view(vault: Vault, person: PersonInCustody) -> PersonView:
    return PersonView(
        id=person.id,
        name=vault.open(person, "name"),
        prison_number=vault.open(person, "prison_number"),
        date_of_birth=_date(vault.open(person, "date_of_birth")),
        expected_release_on=person.expected_release_on,
        prison_code=person.prison_code,
    )


def member_view(vault: Vault, member: FamilyMember) -> MemberView:
    return MemberView(
        id=member.id,
        kind=member.kind,
        relationship=member.relationship,
        name=vault.open(member, "name"),
        date_of_birth=_date(vault.open(member, "date_of_birth")),
        age_band=member.age_band,
        phone=vault.open(member, "phone"),
        email=vault.open(member, "email"),
        address=vault.open(member, "address"),
        is_main_contact=member.is_main_contact,
    )


def _load(
    session: Session, vault: Vault, case: Case, today: date, moves: CaseTransfers
) -> FamilyFile:
    # One statement for both; the walls scope each side of the join.
    family, person = session.execute(
        select(Family, PersonInCustody)
        .join(PersonInCustody, PersonInCustody.id == Family.person_in_custody_id)
        .where(Family.id == case.family_id)
    ).one()
    members = session.scalars(
        select(FamilyMember)
        .where(FamilyMember.family_id == family.id)
        .order_by(FamilyMember.is_main_contact.desc(), FamilyMember.kind, FamilyMember.created_at)
    ).all()
    needs = tuple(
        session.scalars(
            select(CaseNeed.need).where(CaseNeed.case_id == case.id).order_by(CaseNeed.need)
        )
    )
    contacts = session.scalars(
        select(Contact)
        .where(Contact.case_id == case.id)
        .order_by(Contact.occurred_on.desc(), Contact.created_at.desc())
    ).all()
    assessments = session.scalars(
        select(OutcomeAssessment)
        .where(OutcomeAssessment.case_id == case.id)
        .order_by(OutcomeAssessment.assessed_on, OutcomeAssessment.created_at)
    ).all()
    scores: dict[uuid.UUID, dict[str, int]] = {a.id: {} for a in assessments}
    if assessments:
        for row in session.scalars(
            select(OutcomeScore).where(OutcomeScore.assessment_id.in_(list(scores)))
        ):
            scores[row.assessment_id][row.area] = row.score
    actions = session.scalars(
        select(ActionItem)
        .where(ActionItem.case_id == case.id)
        .order_by(ActionItem.status, ActionItem.due_on, ActionItem.created_at)
    ).all()
    notes = session.scalars(
        select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.written_at.desc())
    ).all()
    consents = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.case_id == case.id)
        .order_by(ConsentRecord.recorded_at.desc())
    ).all()
    other_cases = session.scalars(
        select(Case)
        .where(Case.family_id == family.id, Case.id != case.id)
        .order_by(Case.opened_on.desc())
    ).all()
    names = _staff_names(
        session,
        {case.key_worker_id}
        | {c.recorded_by for c in contacts}
        | {a.recorded_by for a in assessments}
        | {n.written_by for n in notes}
        | {c.recorded_by for c in consents},
        case.charity_id,
    )
    facts = [consent_facts(record) for record in consents]
    withdrawn = withdrawals(facts)
    states = {fact.id: state_of(fact, today, withdrawn) for fact in facts}

    contact_views = tuple(
        ContactView(
            id=c.id,
            kind=c.kind,
            occurred_on=c.occurred_on,
            first_time_visitor=c.first_time_visitor,
            children_present=c.children_present,
            children_count=c.children_count,
            duration_minutes=c.duration_minutes,
            summary=vault.open(c, "summary"),
            recorded_by=names.get(c.recorded_by, "unknown"),
        )
        for c in contacts
    )
    assessment_views = tuple(
        AssessmentView(a.id, a.framework, a.assessed_on, scores[a.id], names.get(a.recorded_by, ""))
        for a in assessments
    )
    action_views = tuple(
        ActionView(
            id=a.id,
            description=vault.open(a, "description"),
            owner=a.owner,
            due_on=a.due_on,
            status=a.status,
            completed_on=a.completed_on,
            overdue=a.status == ActionStatus.OPEN and a.due_on is not None and a.due_on < today,
            created_at=a.created_at,
        )
        for a in actions
    )
    note_views = tuple(
        NoteView(n.id, vault.open(n, "body") or "", n.written_at, names.get(n.written_by, ""))
        for n in notes
    )
    consent_views = tuple(
        ConsentView(
            id=r.id,
            subject=r.subject,
            family_member_id=r.family_member_id,
            given_by_member_id=r.given_by_member_id,
            purpose=r.purpose,
            recipient_charity_id=r.recipient_charity_id,
            categories=tuple(c for c in r.categories.split(",") if c),
            decision=r.decision,
            method=r.method,
            verification=r.verification,
            valid_from=r.valid_from,
            expires_on=r.expires_on,
            withdraws_id=r.withdraws_id,
            state=states[r.id].value,
            recorded_by=names.get(r.recorded_by, ""),
            recorded_at=r.recorded_at,
        )
        for r in consents
    )
    member_views = tuple(member_view(vault, m) for m in members)
    return FamilyFile(
        case=case,
        needs=needs,
        person=person_view(vault, person),
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
        other_cases=tuple(other_cases),
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
    case = case_in_scope(session, case_id)
    moves = case_transfers(session, context, origin, case)
    file = _load(session, vault, case, origin.clock().date(), moves)
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
