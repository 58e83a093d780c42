"""The platform's steps of a transfer (DESIGN.md section 6), taken by no user: halting the
transfers a consent withdrawal leaves without the family's consent (in the withdrawal's own
transaction, called by app.services.cases.consent_withdrawal.withdraw_consent), and lapsing offers
nobody answered in time (a named system job, run per charity). Both end the transfer as a cancel or
a decline does: the receiver's package voided, the sender's case given back.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.transfers import machine
from app.domain.transfers.machine import Party, TransferReason, TransferState
from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import Case, CaseTransfer
from app.services.platform.audit import Origin
from app.services.platform.reference import prisons_ever_served
from app.services.transfers import terms
from app.services.transfers.steps import context_for, end_unaccepted, load_transfer, take_step
from tenants.context import TenantContext
from tenants.permissions import Role
from tenants.system import acting_for


def halt_for_withdrawal(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    *,
    purpose: ConsentPurpose,
    recipient_charity_id: uuid.UUID | None,
) -> list[uuid.UUID]:
    """A consent (``purpose``, naming ``recipient_charity_id``) on ``case_id`` was withdrawn:
    every offered transfer of the case whose offer rests on a consent no longer in force stops,
    and so does a proposal to the charity a withdrawn transfer consent named (the family said
    no); in the withdrawal's own transaction (the caller commits). A proposal still waiting for
    consent is not stopped by the withdrawal of some other consent (to be contacted, say)."""
    now = origin.clock()
    halted: list[uuid.UUID] = []
    live = session.scalars(
        select(CaseTransfer.id).where(
            CaseTransfer.sender_case_id == case_id,
            CaseTransfer.state.in_([s.value for s in machine.HALTABLE]),
        )
    ).all()
    for transfer_id in live:
        row = load_transfer(session, transfer_id, lock=True)
        offered: tuple[frozenset[uuid.UUID], frozenset[DataCategory]] = (frozenset(), frozenset())
        if row.state == TransferState.OFFERED.value:
            with acting_for(session, context_for(row, Party.RECEIVER, None)):
                offered = terms.offered_under(session, transfer_id)
            row = load_transfer(session, transfer_id, lock=True)
        if row.state != TransferState.OFFERED.value and not (
            purpose is ConsentPurpose.TRANSFER and recipient_charity_id == row.receiver_charity_id
        ):
            continue
        case = session.execute(select(Case).where(Case.id == case_id)).scalar_one()
        # Any consent the package rests on (not only the person in custody's) halts it.
        if terms.consent_gate(session, case, row.receiver_charity_id, now.date()).keeps(*offered):
            continue
        take_step(
            session,
            row,
            lambda t: machine.halt(t, now, TransferReason.CONSENT_WITHDRAWN.value),
            None,
        )
        halted.append(row.id)
        end_unaccepted(session, origin, row, context, "transfer.halt", commit=False)
    return halted


def expire_overdue(session: Session, origin: Origin, charity_id: uuid.UUID) -> int:
    """Lapse every offer of ``charity_id`` (as sender) that nobody answered in time. A named
    system job, run per charity (``continuum transfers expire``); the caller commits."""
    now = origin.clock()
    job = TenantContext(
        charity_id, frozenset(prisons_ever_served(session, charity_id)), Role.SITE_MANAGER, None
    )
    count = 0
    with acting_for(session, job):
        due = session.scalars(
            select(CaseTransfer.id).where(
                CaseTransfer.sender_charity_id == charity_id,
                CaseTransfer.state == TransferState.OFFERED.value,
                CaseTransfer.expires_at <= now,
            )
        ).all()
    for transfer_id in due:
        with acting_for(session, job):
            row = load_transfer(session, transfer_id, lock=True)
            take_step(session, row, lambda t: machine.expire(t, now), None)
            row_context = context_for(row, Party.SENDER, None)
        with acting_for(session, row_context):
            row = load_transfer(session, transfer_id)
            end_unaccepted(session, origin, row, None, "transfer.expire", commit=False)
        count += 1
    return count
