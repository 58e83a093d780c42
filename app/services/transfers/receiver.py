"""The receiving charity's steps of a transfer (DESIGN.md section 6): ask another charity for a
family's case, accept an offer (the package becomes the receiver's own case) or decline it.
Site managers take these steps (``CASE_APPROVE``).

Exactly once: accepting locks the transfer row (PostgreSQL ``FOR UPDATE``), moves it with a
compare-and-set on its state, and the database refuses a second receiver case for one transfer
(unique ``(charity_id, transfer_id)`` on cases) and a second step with one sequence number. A
retried request with the same idempotency key returns the first outcome and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain.errors import InvalidInput, TransferRefused
from app.domain.transfers import machine
from app.domain.transfers.machine import Party, TransferReason, TransferState
from app.models import Case, CaseStatus, CaseTransfer, Family, PersonInCustody, TransferOffer
from app.services.cases.referrals import normalise_prison_number
from app.services.cases.scope import READ_ONLY_STATUSES, require
from app.services.platform.audit import Origin
from app.services.platform.reference import serving_charity
from app.services.platform.vault import Vault
from app.services.transfers import terms
from app.services.transfers.objection import objection_of
from app.services.transfers.package import PackageRefs, land_package, open_offer
from app.services.transfers.steps import (
    atomic,
    audit_transfer,
    context_for,
    decide,
    end_unaccepted,
    load_transfer,
    new_transfer,
    notify,
    party_step,
    replayed,
    store_step,
    take_step,
)
from tenants.context import TenantContext
from tenants.guard import REVIEWED_BULK
from tenants.permissions import Permission, Role
from tenants.system import acting_for


@dataclass(frozen=True)
class Accepted:
    """What an acceptance answers: the transfer, the receiver's new case, and whether this was
    a retry of an acceptance already made (then nothing changed)."""

    transfer: CaseTransfer
    case_id: uuid.UUID
    replayed: bool = False


@dataclass(frozen=True)
class _Ids:
    """A transfer's keys, kept as plain values across context switches (objects are not)."""

    transfer: uuid.UUID
    sender_case: uuid.UUID | None
    sender: uuid.UUID
    sender_prison: str
    receiver: uuid.UUID
    receiver_prison: str

    @classmethod
    def of(cls, row: CaseTransfer) -> _Ids:
        return cls(
            row.id,
            row.sender_case_id,
            row.sender_charity_id,
            row.sender_prison_code,
            row.receiver_charity_id,
            row.receiver_prison_code,
        )


@atomic
def request_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    *,
    prison_number: str,
    from_prison_code: str,
    to_prison_code: str,
    reason: TransferReason,
    offer_days: int = machine.DEFAULT_OFFER_LIFE.days,
) -> CaseTransfer:
    """A receiving manager asks the charity serving ``from_prison_code`` for a family's case.

    The match runs as the sender, by the sender's blind index of the prison number, confirmed by
    decryption; the receiver is told only that the request was sent, whether or not a case
    matched (the sender answers it), so the request is no oracle for another charity's cases.
    """
    require(context, Permission.CASE_APPROVE)
    if not context.sees_prison(to_prison_code):
        raise InvalidInput({"to_prison_code": ["choose one of your prisons"]})
    today = origin.clock().date()
    sender = serving_charity(session, from_prison_code, today)
    if sender is None or sender == context.charity_id:
        raise InvalidInput(
            {"from_prison_code": ["choose a prison another member charity serves today"]}
        )
    if serving_charity(session, to_prison_code, today) != context.charity_id:
        raise InvalidInput({"to_prison_code": ["your charity does not serve that prison today"]})
    number = normalise_prison_number(prison_number)
    sender_side = TenantContext(
        sender, frozenset({from_prison_code}), Role.SITE_MANAGER, context.user_id
    )
    with acting_for(session, sender_side):
        case_id = _match_case(session, vault, sender, number)
        started = machine.request(
            str(context.user_id),
            origin.clock(),
            reason=reason.value,
            offer_life=timedelta(days=offer_days),
        )
        row = new_transfer(
            session,
            case=None,
            sender_charity_id=sender,
            sender_prison_code=from_prison_code,
            receiver_charity_id=context.charity_id,
            receiver_prison_code=to_prison_code,
            started=started,
            user_id=context.user_id,
            receiver_sees=True,
        )
        row.sender_case_id = case_id
        session.flush()
        transfer_id = row.id
        notify(session, row, Party.SENDER, origin.clock())
    row = load_transfer(session, transfer_id)
    audit_transfer(session, origin, row, context, "transfer.request", both=True)
    session.commit()
    return row


def _match_case(
    session: Session, vault: Vault, charity_id: uuid.UUID, number: str
) -> uuid.UUID | None:
    """The newest open case of the person with ``number``, in the bound (sender's) context."""
    index = vault.prison_number_index(charity_id, number)
    rows = session.execute(
        select(Case, PersonInCustody)
        .join(Family, Family.id == Case.family_id)
        .join(PersonInCustody, PersonInCustody.id == Family.person_in_custody_id)
        .where(
            PersonInCustody.prison_number_index == index,
            Case.status.not_in(list(READ_ONLY_STATUSES)),
        )
        .order_by(Case.opened_on.desc(), Case.id)
    ).all()
    for case, person in rows:
        if vault.open(person, "prison_number") == number:
            return None if terms.live_transfer_of(session, case.id) is not None else case.id
    return None


@atomic
def accept_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    transfer_id: uuid.UUID,
    *,
    idempotency_key: str | None = None,
    fail_after_receiver_insert: bool = False,
) -> Accepted:
    """A receiving manager accepts: in one transaction the consent is checked again, the package
    becomes the receiver's case (sealed afresh under its key, with provenance), the sender's case
    becomes transferred out (read-only), both audit chains record it and both sides are told.

    ``fail_after_receiver_insert`` exists for the crash test only: it raises after the receiver's
    rows are flushed, proving that nothing of a half-done acceptance survives.
    """
    row = party_step(session, context, transfer_id, Party.RECEIVER, Permission.CASE_APPROVE)
    if replayed(session, row, idempotency_key, TransferState.ACCEPTED) is not None:
        # The accepted step and the receiver's case commit together: it is there.
        case_id = session.execute(select(Case.id).where(Case.transfer_id == row.id)).scalar_one()
        return Accepted(row, case_id, replayed=True)
    now = origin.clock()
    ids = _Ids.of(row)
    offered = terms.offered_under(session, ids.transfer)
    # The family's consent, read again as the sender: it may have been withdrawn since the offer,
    # by the person in custody or by any adult whose details the package carries.
    with acting_for(session, context_for(row, Party.SENDER, context.user_id)):
        case = session.scalar(select(Case).where(Case.id == ids.sender_case))
        gate_open = (
            case is not None
            and case.status not in READ_ONLY_STATUSES
            and terms.consent_gate(session, case, ids.receiver, now.date()).keeps(*offered)
        )
        objection = objection_of(session, case, now.date()) if case is not None else None
        if objection is not None:
            # Named in the package's terms here, as the sender: its member ids stay on its side.
            objection = PackageRefs(vault, ids.sender, ids.transfer).objection(objection)
    row = load_transfer(session, ids.transfer, lock=True)
    decided = decide(
        session,
        row,
        lambda t: machine.accept(t, str(context.user_id), now, consent_ok=gate_open),
    )
    # Compare-and-set: only one transaction moves an offered transfer on (on SQLite, where no
    # row lock was taken, this and the unique step sequence are what stop a second accept).
    moved = session.execute(
        update(CaseTransfer)
        .where(
            CaseTransfer.id == ids.transfer,
            CaseTransfer.state == TransferState.OFFERED.value,
        )
        .values(state=TransferState.ACCEPTED.value)
        .execution_options(**{REVIEWED_BULK: True}),
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise TransferRefused("the transfer is already decided")
    store_step(session, row, decided, context.user_id, idempotency_key)
    offer = session.scalar(select(TransferOffer).where(TransferOffer.transfer_id == ids.transfer))
    if offer is None:
        raise TransferRefused("the offer has no content")
    package = open_offer(vault, offer)
    if package is None:
        raise TransferRefused("the offer was withdrawn")
    new_case = land_package(
        session,
        context,
        vault,
        package,
        transfer_id=ids.transfer,
        prison_code=ids.receiver_prison,
        from_charity_id=ids.sender,
        from_prison_code=ids.sender_prison,
        today=now.date(),
        objection=objection,
    )
    new_case_id = new_case.id
    if fail_after_receiver_insert:
        raise RuntimeError("injected failure after the receiver's insert")
    # The package has landed: the offer row keeps its categories and consents, not the content.
    offer.package_enc = None
    row = load_transfer(session, ids.transfer)
    audit_transfer(
        session, origin, row, context, "transfer.accept", both=True, receiver_case_id=new_case_id
    )
    with acting_for(session, context_for(row, Party.SENDER, context.user_id)):
        sender_case = session.execute(select(Case).where(Case.id == ids.sender_case)).scalar_one()
        sender_case.status = CaseStatus.TRANSFERRED_OUT.value
        sender_case.closed_on = max(now.date(), sender_case.opened_on)
        session.flush()
        notify(session, load_transfer(session, ids.transfer), Party.SENDER, now)
    row = load_transfer(session, ids.transfer)
    session.commit()
    return Accepted(row, new_case_id)


@atomic
def decline_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    transfer_id: uuid.UUID,
    *,
    reason: TransferReason,
) -> CaseTransfer:
    """A receiving manager declines the offer; the sender keeps the case as it was."""
    row = party_step(session, context, transfer_id, Party.RECEIVER, Permission.CASE_APPROVE)
    now = origin.clock()
    take_step(
        session,
        row,
        lambda t: machine.decline(t, str(context.user_id), now, reason.value),
        context.user_id,
    )
    return end_unaccepted(session, origin, row, context, "transfer.decline")
