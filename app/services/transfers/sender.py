"""The sending charity's steps of a transfer (DESIGN.md section 6): propose a case (a worker, or
the platform from a movement or a contract change), offer it once the family consents, cancel
before it is answered, and grant or refuse another charity's request for it. Caseworkers take
these steps (``CASE_WRITE``); the receiver learns nothing until the offer.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, InvalidInput, TransferRefused
from app.domain.transfers import machine
from app.domain.transfers.machine import Party, TransferOrigin, TransferReason, TransferState
from app.models import Case, CaseStatus, CaseTransfer, TransferOffer
from app.models.base import new_id
from app.services.cases.scope import require
from app.services.platform.audit import Origin
from app.services.platform.reference import serving_charity
from app.services.platform.vault import Vault
from app.services.transfers import terms
from app.services.transfers.package import cut_package, seal_offer
from app.services.transfers.steps import (
    PLATFORM,
    atomic,
    audit_transfer,
    context_for,
    decide,
    end_unaccepted,
    load_transfer,
    new_transfer,
    notify,
    notify_other,
    party_step,
    replayed,
    store_step,
    take_step,
)
from tenants.context import TenantContext
from tenants.permissions import Permission
from tenants.system import acting_for


@atomic
def propose_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    *,
    to_prison_code: str,
    reason: TransferReason | None = None,
    offer_days: int = 14,
    commit: bool = True,
    platform: TransferOrigin | None = None,
    serving_on: date | None = None,
) -> CaseTransfer:
    """The sending worker (or the platform, from a movement or a contract change) proposes moving
    a case to the charity that serves ``to_prison_code`` today (or on ``serving_on``: the day of
    a movement, or of a contract change announced ahead). The receiver sees nothing yet."""
    require(context, Permission.CASE_WRITE)
    case = terms.case_to_transfer(session, case_id)
    today = serving_on or origin.clock().date()
    receiver = serving_charity(session, to_prison_code, today)
    if receiver is None:
        raise InvalidInput({"to_prison_code": ["no member charity serves that prison today"]})
    if receiver == case.charity_id:
        raise InvalidInput(
            {"to_prison_code": ["your own charity serves that prison: no transfer is needed"]}
        )
    if terms.live_transfer_of(session, case.id) is not None:
        raise Conflict("this case already has a transfer under way")
    user_id = None if platform else context.user_id
    started = machine.propose(
        PLATFORM if platform else str(context.user_id),
        origin.clock(),
        origin=platform or TransferOrigin.SENDER,
        reason=reason.value if reason else None,
        offer_life=timedelta(days=offer_days),
    )
    row = new_transfer(
        session,
        case=case,
        sender_charity_id=case.charity_id,
        sender_prison_code=case.prison_code,
        receiver_charity_id=receiver,
        receiver_prison_code=to_prison_code,
        started=started,
        user_id=user_id,
        receiver_sees=False,
    )
    terms.wait_for_consent(session, row, case, started.steps[0], user_id)
    audit_transfer(session, origin, row, context, "transfer.propose", both=False)
    if platform:
        notify(session, row, Party.SENDER, origin.clock())
    if commit:
        session.commit()
    return row


@atomic
def offer_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    transfer_id: uuid.UUID,
    *,
    idempotency_key: str | None = None,
    commit: bool = True,
) -> CaseTransfer:
    """The sender offers the case: only with the family's valid consent (the gate), writing the
    package of what the consent allows into the receiver's own table, under the receiver's key."""
    row = party_step(session, context, transfer_id, Party.SENDER, Permission.CASE_WRITE)
    if replayed(session, row, idempotency_key, TransferState.OFFERED) is not None:
        return row
    if row.sender_case_id is None:
        raise TransferRefused("this request matched no case")
    case = terms.case_to_transfer(session, row.sender_case_id)
    now = origin.clock()
    gate = terms.consent_gate(session, case, row.receiver_charity_id, now.date())
    # Shared with the receiver from this step on (the offer step included), never before.
    row.receiver_sees = gate.open
    take_step(
        session,
        row,
        # A contract change offers as the platform: no user takes the step.
        lambda t: machine.offer(t, str(context.user_id or PLATFORM), now, consent_ok=gate.open),
        context.user_id,
        idempotency_key,
    )
    package = cut_package(session, vault, case, gate, transfer_id=row.id)
    case.status = CaseStatus.TRANSFER_PENDING.value
    session.flush()
    audit_transfer(session, origin, row, context, "transfer.offer", both=True)
    # Kept as plain values across the switch of context (objects are not).
    transfer_id = row.id
    receiver, receiver_prison = row.receiver_charity_id, row.receiver_prison_code
    with acting_for(session, context_for(row, Party.RECEIVER, context.user_id)):
        offer = TransferOffer(
            id=new_id(),
            charity_id=receiver,
            prison_code=receiver_prison,
            transfer_id=transfer_id,
            categories=",".join(package["categories"]),
            consent_ids=",".join(str(i) for i in gate.consent_ids),
        )
        seal_offer(vault, offer, package)
        session.add(offer)
        session.flush()
        notify(session, load_transfer(session, transfer_id), Party.RECEIVER, now)
    row = load_transfer(session, transfer_id)
    if commit:
        session.commit()
    return row


@atomic
def cancel_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    transfer_id: uuid.UUID,
    *,
    reason: TransferReason,
) -> CaseTransfer:
    """The sender withdraws its proposal or offer before it is answered; nothing crosses."""
    row = party_step(session, context, transfer_id, Party.SENDER, Permission.CASE_WRITE)
    now = origin.clock()
    take_step(
        session,
        row,
        lambda t: machine.cancel(t, str(context.user_id), now, reason.value),
        context.user_id,
    )
    return end_unaccepted(session, origin, row, context, "transfer.cancel")


@atomic
def grant_request(
    session: Session, context: TenantContext, origin: Origin, transfer_id: uuid.UUID
) -> CaseTransfer:
    """The sender agrees to a receiver's request: it becomes a proposal, awaiting the family's
    consent unless that is already recorded."""
    row = party_step(session, context, transfer_id, Party.SENDER, Permission.CASE_WRITE)
    case = (
        session.scalar(select(Case).where(Case.id == row.sender_case_id))
        if row.sender_case_id is not None
        else None
    )
    if case is None:
        raise TransferRefused("this request matched no case: refuse it")
    now = origin.clock()
    granted = decide(session, row, lambda t: machine.grant_request(t, str(context.user_id), now))
    store_step(session, row, granted, context.user_id)
    terms.wait_for_consent(session, row, case, granted.steps[-1], context.user_id)
    return _answered(session, origin, row, context, "transfer.grant", now)


@atomic
def refuse_request(
    session: Session,
    context: TenantContext,
    origin: Origin,
    transfer_id: uuid.UUID,
    *,
    reason: TransferReason,
) -> CaseTransfer:
    """The sender turns down a receiver's request, with a reason; nothing crosses."""
    row = party_step(session, context, transfer_id, Party.SENDER, Permission.CASE_WRITE)
    now = origin.clock()
    take_step(
        session,
        row,
        lambda t: machine.refuse_request(t, str(context.user_id), now, reason.value),
        context.user_id,
    )
    return _answered(session, origin, row, context, "transfer.refuse", now)


def _answered(
    session: Session,
    origin: Origin,
    row: CaseTransfer,
    context: TenantContext,
    action: str,
    at: datetime,
) -> CaseTransfer:
    """A request answered: audited in both chains, the requester told, committed."""
    transfer_id = row.id
    audit_transfer(session, origin, row, context, action, both=True)
    notify_other(session, row, context, at)
    row = load_transfer(session, transfer_id)
    session.commit()
    return row
