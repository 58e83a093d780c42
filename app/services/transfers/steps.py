"""A transfer and its steps: the machinery every transfer use case shares (DESIGN.md section 6).

Each use case loads the transfer through the walls (each side sees it only at its own prison;
the receiver only once it is shared), asks the pure state machine (app.domain.transfers.machine) for
the next step, stores it, audits it and notifies, in one transaction. Only ``offer_transfer``,
``accept_transfer`` and the platform's steps work for both charities, through
``tenants.system.acting_for``; every such step is recorded in both charities' audit chains, whose
locks are taken in a fixed order so that two transfers never deadlock.

Here, so that the use cases of each party (app.services.transfers.sender, .receiver and
.platform) say only what is theirs: loading a transfer (locked for a step), which side
a context is on and the narrowest context for each side, asking the machine and storing its
step all or nothing, the replay of a retried step, the events in both chains, the notifications,
and the end of a transfer that was not accepted.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, Forbidden, NotFound
from app.domain.transfers import machine
from app.domain.transfers.machine import Party, TransferOrigin, TransferState
from app.models import Case, CaseStatus, CaseTransfer, CaseTransferStep, Notification, TransferOffer
from app.models.base import new_id
from app.services.cases.scope import require
from app.services.platform import audit
from app.services.platform.audit import Origin
from tenants.context import TenantContext
from tenants.permissions import Permission, Role
from tenants.system import acting_for

PLATFORM = "platform"
P = ParamSpec("P")
R = TypeVar("R")

# Said to the other side, which sees the transfer too, when it tries a step that is not its own.
_NOT_YOURS = {
    Party.SENDER: "only the sending charity takes this step",
    Party.RECEIVER: "only the receiving charity answers an offer",
}


# --- loading a transfer, and its sides ---------------------------------------------------


def load_transfer(session: Session, transfer_id: uuid.UUID, *, lock: bool = False) -> CaseTransfer:
    """A transfer the context may see; a foreign or unshared one is as missing as none."""
    statement = select(CaseTransfer).where(CaseTransfer.id == transfer_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = session.scalar(statement)
    if row is None:
        raise NotFound("transfer")
    return row


def steps_of(session: Session, transfer_id: uuid.UUID) -> list[CaseTransferStep]:
    """The stored steps of a transfer, in the order they were taken."""
    return list(
        session.scalars(
            select(CaseTransferStep)
            .where(CaseTransferStep.transfer_id == transfer_id)
            .order_by(CaseTransferStep.sequence)
        )
    )


def side_of(context: TenantContext, row: CaseTransfer) -> Party:
    if row.sender_charity_id == context.charity_id and context.sees_prison(row.sender_prison_code):
        return Party.SENDER
    return Party.RECEIVER


def context_for(row: CaseTransfer, side: Party, user_id: uuid.UUID | None) -> TenantContext:
    """The narrowest context for one side of ``row``: its charity at its prison only."""
    if side is Party.SENDER:
        return TenantContext(
            row.sender_charity_id,
            frozenset({row.sender_prison_code}),
            Role.SITE_MANAGER,
            user_id,
        )
    return TenantContext(
        row.receiver_charity_id,
        frozenset({row.receiver_prison_code}),
        Role.SITE_MANAGER,
        user_id,
    )


def party_step(
    session: Session,
    context: TenantContext,
    transfer_id: uuid.UUID,
    side: Party,
    permission: Permission,
) -> CaseTransfer:
    """The transfer a step of ``side`` is about to move, locked: the context must hold
    ``permission`` and be that side of it (the other side sees it too, and is refused)."""
    require(context, permission)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not side:
        raise Forbidden(_NOT_YOURS[side])
    return row


# --- asking the state machine and storing its step ------------------------------------------


def _machine(row: CaseTransfer, steps: list[CaseTransferStep]) -> machine.Transfer:
    return machine.Transfer(
        TransferOrigin(row.origin),
        tuple(
            machine.Step(
                TransferState(s.state),
                s.at,
                str(s.by_user_id) if s.by_user_id else PLATFORM,
                Party(s.party),
                s.reason,
            )
            for s in steps
        ),
        timedelta(days=row.offer_life_days),
    )


def store_step(
    session: Session,
    row: CaseTransfer,
    moved: machine.Transfer,
    user_id: uuid.UUID | None,
    idempotency_key: str | None = None,
) -> CaseTransferStep:
    """Write the last step of ``moved`` and bring the shared transfer row up to it."""
    step = moved.steps[-1]
    record = CaseTransferStep(
        id=new_id(),
        transfer_id=row.id,
        sequence=row.step_count + 1,
        state=step.state.value,
        at=step.at,
        by_user_id=user_id,
        party=step.party.value,
        reason=step.reason,
        idempotency_key=idempotency_key,
        sender_charity_id=row.sender_charity_id,
        sender_prison_code=row.sender_prison_code,
        receiver_charity_id=row.receiver_charity_id,
        receiver_prison_code=row.receiver_prison_code,
        receiver_sees=row.receiver_sees,
    )
    row.state = step.state.value
    row.step_count += 1
    if step.state is TransferState.OFFERED:
        row.offered_at = step.at
        row.expires_at = moved.expires_at
    if moved.is_final:
        row.decided_at = step.at
    session.add(record)
    session.flush()
    return record


def decide(
    session: Session, row: CaseTransfer, move: Callable[[machine.Transfer], machine.Transfer]
) -> machine.Transfer:
    """Ask the state machine for the next step (a closure over the current domain transfer),
    writing nothing; it refuses with a TransferRefused or TransferConsentMissing."""
    return move(_machine(row, steps_of(session, row.id)))


def take_step(
    session: Session,
    row: CaseTransfer,
    move: Callable[[machine.Transfer], machine.Transfer],
    user_id: uuid.UUID | None,
    idempotency_key: str | None = None,
) -> CaseTransferStep:
    """Decide the next step and store it."""
    return store_step(session, row, decide(session, row, move), user_id, idempotency_key)


def atomic(service: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """A step refused half way (by the state machine, the consent gate or the database) leaves
    nothing behind: the session is rolled back before the error reaches the caller, so a page
    that reads the transfer again after a refusal can never commit part of the refused step.
    With ``commit=False`` the caller owns the transaction and its rollback."""

    @functools.wraps(service)
    def run(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(session, *args, **kwargs)
        except Exception:
            if kwargs.get("commit", True):
                session.rollback()
            raise

    return run


def replayed(
    session: Session, row: CaseTransfer, key: str | None, state: TransferState
) -> CaseTransferStep | None:
    """The step a retried request already took, found by its idempotency key."""
    if not key:
        return None
    step = session.scalar(
        select(CaseTransferStep).where(
            CaseTransferStep.transfer_id == row.id, CaseTransferStep.idempotency_key == key
        )
    )
    if step is not None and step.state != state.value:
        raise Conflict("this idempotency key was already used for another step")
    return step


def new_transfer(
    session: Session,
    *,
    case: Case | None,
    sender_charity_id: uuid.UUID,
    sender_prison_code: str,
    receiver_charity_id: uuid.UUID,
    receiver_prison_code: str,
    started: machine.Transfer,
    user_id: uuid.UUID | None,
    receiver_sees: bool,
) -> CaseTransfer:
    """The shared row of a transfer just started (proposed or requested), with its first step."""
    row = CaseTransfer(
        id=new_id(),
        sender_charity_id=sender_charity_id,
        sender_prison_code=sender_prison_code,
        receiver_charity_id=receiver_charity_id,
        receiver_prison_code=receiver_prison_code,
        receiver_sees=receiver_sees,
        sender_case_id=case.id if case is not None else None,
        origin=started.origin.value,
        state=started.state.value,
        offer_life_days=started.offer_life.days,
        step_count=0,
        # Dated by the use case's clock, like its steps (the demo and imports run in the past).
        created_at=started.steps[0].at,
        updated_at=started.steps[0].at,
    )
    session.add(row)
    session.flush()
    store_step(session, row, started, user_id)
    return row


# --- what a step leaves for each side: audit events and notifications ------------------------


def audit_transfer(
    session: Session,
    origin: Origin,
    row: CaseTransfer,
    actor: TenantContext | None,
    action: str,
    *,
    both: bool,
    receiver_case_id: uuid.UUID | None = None,
) -> None:
    """One event in the sender's chain (naming the sender's case first) and, once the receiver
    is a party, one in the receiver's; chain locks in sorted order (no deadlock between two)."""
    chains = {row.sender_charity_id: [row.sender_case_id, row.id]}
    if both:
        chains[row.receiver_charity_id] = [receiver_case_id, row.id]
    for chain in sorted(str(c) for c in chains):
        audit.lock_chain(session, chain)
    for charity_id, ids in chains.items():
        audit.record(
            session,
            audit.draft_event(
                origin,
                chain=audit.chain_for(charity_id, is_charity=True),
                actor=(actor.user_id if actor and actor.user_id else PLATFORM),
                organisation=actor.charity_id if actor else charity_id,
                action=action,
                record_type="transfer",
                record_ids=[i for i in ids if i is not None],
            ),
        )


def notify(session: Session, row: CaseTransfer, side: Party, at: datetime) -> None:
    """A message to one side about the step just taken (written in that side's context)."""
    charity, prison = (
        (row.sender_charity_id, row.sender_prison_code)
        if side is Party.SENDER
        else (row.receiver_charity_id, row.receiver_prison_code)
    )
    session.add(
        Notification(
            id=new_id(),
            charity_id=charity,
            prison_code=prison,
            transfer_id=row.id,
            state=row.state,
            created_at=at,
        )
    )
    session.flush()


def notify_other(session: Session, row: CaseTransfer, context: TenantContext, at: datetime) -> None:
    """Tell the side that did not take the step, in its own context."""
    other = Party.RECEIVER if side_of(context, row) is Party.SENDER else Party.SENDER
    transfer_id = row.id
    with acting_for(session, context_for(row, other, context.user_id)):
        notify(session, load_transfer(session, transfer_id), other, at)


# --- ending without acceptance ----------------------------------------------------------------


def end_unaccepted(
    session: Session,
    origin: Origin,
    row: CaseTransfer,
    context: TenantContext | None,
    action: str,
    *,
    commit: bool = True,
) -> CaseTransfer:
    """Void the receiver's package (if an offer was made), give the sender its case back,
    audit and notify; in the caller's transaction (a cancel, a decline, a halt or a lapse)."""
    now = origin.clock()
    transfer_id, sender_case_id, shared = row.id, row.sender_case_id, row.receiver_sees
    audit_transfer(session, origin, row, context, action, both=shared)
    user_id = context.user_id if context else None
    for side in (Party.SENDER, Party.RECEIVER):
        if side is Party.RECEIVER and not shared:
            continue  # never shared: the receiver learns nothing, not even that it ended
        with acting_for(session, context_for(row, side, user_id)):
            current = load_transfer(session, transfer_id)
            if side is Party.RECEIVER:
                offer = session.scalar(
                    select(TransferOffer).where(TransferOffer.transfer_id == transfer_id)
                )
                if offer is not None and offer.package_enc is not None:
                    offer.package_enc = None
                    offer.voided_at = now
            elif sender_case_id is not None:
                case = session.scalar(select(Case).where(Case.id == sender_case_id))
                if case is not None and case.status == CaseStatus.TRANSFER_PENDING.value:
                    case.status = CaseStatus.ACTIVE.value
            if context is None or side is not side_of(context, current):
                notify(session, current, side, now)
            session.flush()
    row = load_transfer(session, transfer_id) if context is not None else row
    if commit:
        session.commit()
    return row
