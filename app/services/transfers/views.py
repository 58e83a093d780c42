"""What each side of a transfer may read (DESIGN.md section 6).

The sender sees its own case, the steps, and the family's consent to the transfer person by
person. The receiver sees, before accepting, only the package in its own ``transfer_offers``
table (cut to the consent when the sender offered), and afterwards its own new case. Neither side
ever reads the other's rows here: every query runs in the reader's own context, through the walls.
Reading a package or a consent status is a read of personal data and is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.consent import ConsentFacts
from app.domain.transfers.consent_gate import PERSON_IN_CUSTODY
from app.domain.transfers.machine import FINAL_STATES, Party, TransferReason, TransferState
from app.domain.vocabulary import DataCategory, MemberKind
from app.models import (
    Case,
    CaseTransfer,
    FamilyMember,
    Organisation,
    Prison,
    Service,
    TransferOffer,
    User,
)
from app.services.cases.scope import case_in_scope, record_event, require
from app.services.platform.audit import Origin
from app.services.platform.reference import serving_charity
from app.services.platform.vault import Vault
from app.services.transfers import terms
from app.services.transfers.package import Package, open_offer
from app.services.transfers.steps import load_transfer, side_of, steps_of
from tenants.context import TenantContext
from tenants.permissions import Permission

OPEN_STATES = frozenset(
    {
        TransferState.REQUESTED,
        TransferState.PROPOSED,
        TransferState.AWAITING_CONSENT,
        TransferState.OFFERED,
    }
)


@dataclass(frozen=True)
class TransferSummary:
    id: uuid.UUID
    side: Party
    state: TransferState
    origin: str
    other_charity: str
    sender_prison_code: str
    sender_prison_name: str
    receiver_prison_code: str
    receiver_prison_name: str
    sender_case_id: uuid.UUID | None  # the sender's own case: None on the receiver's side
    created_at: datetime
    offered_at: datetime | None
    expires_at: datetime | None
    decided_at: datetime | None
    overdue: bool

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def waiting_on(self) -> Party | None:
        """Whose move it is: the receiver answers an offer; the sender everything before it."""
        if self.state is TransferState.OFFERED:
            return Party.RECEIVER
        if self.is_open:
            return Party.SENDER
        return None


@dataclass(frozen=True)
class StepView:
    state: TransferState
    at: datetime
    party: Party
    by: str | None
    reason: TransferReason | None


@dataclass(frozen=True)
class PersonConsent:
    """One person's consent to this transfer, as the sender sees it."""

    key: str
    name: str
    kind: str  # "person_in_custody", "adult" or "child"
    goes: bool
    consent_id: uuid.UUID | None
    categories: tuple[DataCategory, ...]
    expires_on: date | None


@dataclass(frozen=True)
class TransferDetail:
    summary: TransferSummary
    steps: tuple[StepView, ...]
    # Receiver, while offered: exactly what the consent let cross. None otherwise.
    package: Package | None
    offered_categories: tuple[DataCategory, ...]
    # Sender: each person's consent to this transfer today. Empty on the receiver's side.
    consents: tuple[PersonConsent, ...]
    case_categories: tuple[DataCategory, ...]
    gate_open: bool
    # Receiver, once accepted: its own new case.
    receiver_case_id: uuid.UUID | None


# How a charity whose name cannot be read is called (it is reference data; this is a fallback).
ANOTHER_CHARITY = "another charity"


def _names(session: Session) -> tuple[dict[uuid.UUID, str], dict[str, str]]:
    charities = dict(session.execute(select(Organisation.id, Organisation.name)).tuples().all())
    prisons = dict(session.execute(select(Prison.code, Prison.name)).tuples().all())
    return charities, prisons


def user_names(session: Session, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The display names of the users who took some steps (none asked: no query)."""
    wanted = {i for i in user_ids if i}
    if not wanted:
        return {}
    return dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
        .tuples()
        .all()
    )


def _summary(
    row: CaseTransfer,
    context: TenantContext,
    charities: dict[uuid.UUID, str],
    prisons: dict[str, str],
    now: datetime,
) -> TransferSummary:
    side = side_of(context, row)
    other = row.receiver_charity_id if side is Party.SENDER else row.sender_charity_id
    state = TransferState(row.state)
    return TransferSummary(
        id=row.id,
        side=side,
        state=state,
        origin=row.origin,
        other_charity=charities.get(other, ANOTHER_CHARITY),
        sender_prison_code=row.sender_prison_code,
        sender_prison_name=prisons.get(row.sender_prison_code, row.sender_prison_code),
        receiver_prison_code=row.receiver_prison_code,
        receiver_prison_name=prisons.get(row.receiver_prison_code, row.receiver_prison_code),
        sender_case_id=row.sender_case_id if side is Party.SENDER else None,
        created_at=row.created_at,
        offered_at=row.offered_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
        overdue=state is TransferState.OFFERED
        and row.expires_at is not None
        and now >= row.expires_at,
    )


def list_transfers(
    session: Session,
    context: TenantContext,
    origin: Origin,
    *,
    side: Party | None = None,
    open_only: bool = False,
    case_id: uuid.UUID | None = None,
) -> list[TransferSummary]:
    """The transfers the context is a party to (at its prisons), newest first. Ids, prisons and
    states only: no personal data, so listing is not an audited read."""
    require(context, Permission.CASE_READ)
    statement = select(CaseTransfer).order_by(CaseTransfer.created_at.desc(), CaseTransfer.id)
    if side is Party.SENDER:
        statement = statement.where(CaseTransfer.sender_charity_id == context.charity_id)
    elif side is Party.RECEIVER:
        statement = statement.where(CaseTransfer.receiver_charity_id == context.charity_id)
    if open_only:
        statement = statement.where(CaseTransfer.state.in_([s.value for s in OPEN_STATES]))
    if case_id is not None:
        statement = statement.where(CaseTransfer.sender_case_id == case_id)
    rows = session.scalars(statement).all()
    if not rows:
        # Most family pages have no transfer: no names to look up.
        return []
    charities, prisons = _names(session)
    now = origin.clock()
    return [_summary(row, context, charities, prisons, now) for row in rows]


def _steps(session: Session, transfer_id: uuid.UUID) -> tuple[StepView, ...]:
    rows = steps_of(session, transfer_id)
    names = user_names(session, (r.by_user_id for r in rows))
    return tuple(
        StepView(
            TransferState(r.state),
            r.at,
            Party(r.party),
            names.get(r.by_user_id) if r.by_user_id else None,
            TransferReason(r.reason) if r.reason else None,
        )
        for r in rows
    )


def consent_status(
    session: Session, vault: Vault, case: Case, receiver: uuid.UUID, on: date
) -> tuple[tuple[PersonConsent, ...], tuple[DataCategory, ...], bool]:
    """Each person's consent to a transfer of ``case`` to ``receiver`` on ``on`` (sender side)."""
    gate = terms.consent_gate(session, case, receiver, on)
    members = session.scalars(
        select(FamilyMember)
        .where(FamilyMember.family_id == case.family_id)
        .order_by(FamilyMember.created_at, FamilyMember.id)
    ).all()

    def person(key: str, name: str, kind: str) -> PersonConsent:
        consent: ConsentFacts | None = gate.consents.get(key)
        return PersonConsent(
            key=key,
            name=name,
            kind=kind,
            goes=gate.goes(key),
            consent_id=consent.id if consent else None,
            categories=tuple(sorted(gate.categories_for(key))),
            expires_on=consent.expires_on if consent else None,
        )

    people = [person(PERSON_IN_CUSTODY, "Person in custody", PERSON_IN_CUSTODY)]
    people += [
        person(
            str(m.id),
            vault.open(m, "name") or "Family member",
            "child" if m.kind == MemberKind.CHILD.value else "adult",
        )
        for m in members
    ]
    return tuple(people), tuple(sorted(gate.case_categories)), gate.open


def read_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    transfer_id: uuid.UUID,
) -> TransferDetail:
    """One transfer as the reading side may see it; one audit event in the reader's chain."""
    require(context, Permission.CASE_READ)
    row = load_transfer(session, transfer_id)
    charities, prisons = _names(session)
    now = origin.clock()
    summary = _summary(row, context, charities, prisons, now)
    package: Package | None = None
    offered: tuple[DataCategory, ...] = ()
    consents: tuple[PersonConsent, ...] = ()
    case_categories: tuple[DataCategory, ...] = ()
    gate_open = False
    receiver_case_id: uuid.UUID | None = None
    if summary.side is Party.RECEIVER:
        offer = session.scalar(select(TransferOffer).where(TransferOffer.transfer_id == row.id))
        if offer is not None:
            offered = terms.offered_categories(offer)
            if summary.state is TransferState.OFFERED:
                package = open_offer(vault, offer)
        receiver_case_id = session.scalar(select(Case.id).where(Case.transfer_id == row.id))
        audited = [receiver_case_id, row.id]
    else:
        if row.sender_case_id is not None and summary.state not in FINAL_STATES:
            case = case_in_scope(session, row.sender_case_id)
            consents, case_categories, gate_open = consent_status(
                session, vault, case, row.receiver_charity_id, now.date()
            )
        audited = [row.sender_case_id, row.id]
    steps = _steps(session, row.id)
    record_event(session, context, origin, "transfer.read", "transfer", [i for i in audited if i])
    session.commit()
    return TransferDetail(
        summary=summary,
        steps=steps,
        package=package,
        offered_categories=offered,
        consents=consents,
        case_categories=case_categories,
        gate_open=gate_open,
        receiver_case_id=receiver_case_id,
    )


@dataclass(frozen=True)
class ProposalCheck:
    """What the sender sees before proposing: who would receive, and each person's consent."""

    receiver_charity_id: uuid.UUID | None
    receiver_name: str | None
    consents: tuple[PersonConsent, ...]
    case_categories: tuple[DataCategory, ...]
    gate_open: bool


def check_proposal(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    to_prison_code: str,
) -> ProposalCheck:
    """For the propose form: the charity serving ``to_prison_code`` today and whether the
    family's consents already let the case go there. Audited as a read of the case."""
    require(context, Permission.CASE_WRITE)
    case = terms.case_to_transfer(session, case_id)
    today = origin.clock().date()
    receiver = serving_charity(session, to_prison_code, today)
    if receiver is None or receiver == case.charity_id:
        result = ProposalCheck(None, None, (), (), False)
    else:
        consents, categories, gate_open = consent_status(session, vault, case, receiver, today)
        charities, _ = _names(session)
        result = ProposalCheck(receiver, charities.get(receiver), consents, categories, gate_open)
    record_event(session, context, origin, "transfer.check", "case", [case.id])
    session.commit()
    return result


@dataclass(frozen=True)
class Destination:
    """A prison a case may be proposed to: served today by another member charity."""

    prison_code: str
    prison_name: str
    charity_name: str


def transfer_destinations(
    session: Session, context: TenantContext, origin: Origin, on: date | None = None
) -> list[Destination]:
    """For the propose form: every prison another member charity serves on ``on`` (today by
    default), by charity then prison name. Reference data only (prisons and services)."""
    require(context, Permission.CASE_WRITE)
    day = on or origin.clock().date()
    rows = session.execute(
        select(Prison.code, Prison.name, Organisation.name)
        .join(Service, Service.prison_code == Prison.code)
        .join(Organisation, Organisation.id == Service.charity_id)
        .where(
            Service.charity_id != context.charity_id,
            Service.starts_on <= day,
            (Service.ends_on.is_(None)) | (Service.ends_on > day),
        )
        .order_by(Organisation.name, Prison.name)
    ).tuples()
    return [Destination(code, name, charity) for code, name, charity in rows]
