"""Moving a family's case between charities with the family's consent (DESIGN.md section 6).

Each use case loads the transfer through the walls (each side sees it only at its own prison;
the receiver only once it is shared), asks the pure state machine (app.domain.transfers) for the
next step, stores it, audits it and notifies, in one transaction. Only ``offer_transfer``,
``accept_transfer`` and the platform's steps work for both charities, through
``tenants.system.acting_for``; every such step is recorded in both charities' audit chains, whose
locks are taken in a fixed order so that two transfers never deadlock.

Exactly once: accepting locks the transfer row (PostgreSQL ``FOR UPDATE``), moves it with a
compare-and-set on its state, and the database refuses a second receiver case for one transfer
(unique ``(charity_id, transfer_id)`` on cases) and a second step with one sequence number. A
retried request with the same idempotency key returns the first outcome and changes nothing.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ParamSpec, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain import transfers as machine
from app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.domain.transfer_consent import Gate, transfer_gate
from app.domain.transfers import (
    Party,
    TransferError,
    TransferOrigin,
    TransferReason,
    TransferState,
)
from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import (
    Case,
    CaseStatus,
    CaseTransfer,
    CaseTransferStep,
    ConsentRecord,
    Family,
    Notification,
    Organisation,
    PersonInCustody,
    Service,
    TransferOffer,
)
from app.models.base import new_id
from app.models.transfers import LIVE_STATES
from app.services import audit
from app.services.audit import Origin
from app.services.consents import consent_facts
from app.services.referrals import normalise_prison_number
from app.services.scope import READ_ONLY_STATUSES, require
from app.services.transfer_package import (
    cut_package,
    land_package,
    open_offer,
    people_of,
    seal_offer,
)
from app.services.vault import Vault
from tenants.context import TenantContext
from tenants.guard import REVIEWED_BULK
from tenants.permissions import Permission, Role
from tenants.system import acting_for

PLATFORM = "platform"
P = ParamSpec("P")
R = TypeVar("R")


class TransferRefused(Conflict):
    """Raised when the state machine refuses a step (already decided, not this side's, lapsed)."""


class TransferConsentMissing(Conflict):
    """Raised when an offer or acceptance lacks the family's valid consent to this transfer."""


@dataclass(frozen=True)
class Accepted:
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


# --- loading and storing -------------------------------------------------------------------


def load_transfer(session: Session, transfer_id: uuid.UUID, *, lock: bool = False) -> CaseTransfer:
    """A transfer the context may see; a foreign or unshared one is as missing as none."""
    statement = select(CaseTransfer).where(CaseTransfer.id == transfer_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = session.scalar(statement)
    if row is None:
        raise NotFound("transfer")
    return row


def _steps(session: Session, transfer_id: uuid.UUID) -> list[CaseTransferStep]:
    return list(
        session.scalars(
            select(CaseTransferStep)
            .where(CaseTransferStep.transfer_id == transfer_id)
            .order_by(CaseTransferStep.sequence)
        )
    )


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


def side_of(context: TenantContext, row: CaseTransfer) -> Party:
    if row.sender_charity_id == context.charity_id and context.sees_prison(row.sender_prison_code):
        return Party.SENDER
    return Party.RECEIVER


def _context_for(row: CaseTransfer, side: Party, user_id: uuid.UUID | None) -> TenantContext:
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


def _store_step(
    session: Session,
    row: CaseTransfer,
    moved: machine.Transfer,
    user_id: uuid.UUID | None,
    idempotency_key: str | None = None,
) -> CaseTransferStep:
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


def _decide(
    session: Session, row: CaseTransfer, move: Callable[[machine.Transfer], machine.Transfer]
) -> machine.Transfer:
    """Ask the state machine for the next step (a closure over the current domain transfer),
    writing nothing; its refusals become one HTTP-mapped error."""
    try:
        return move(_machine(row, _steps(session, row.id)))
    except machine.ConsentMissing as error:
        raise TransferConsentMissing(str(error)) from error
    except TransferError as error:
        raise TransferRefused(str(error)) from error


def _step(
    session: Session,
    row: CaseTransfer,
    move: Callable[[machine.Transfer], machine.Transfer],
    user_id: uuid.UUID | None,
    idempotency_key: str | None = None,
) -> CaseTransferStep:
    """Decide the next step and store it."""
    return _store_step(session, row, _decide(session, row, move), user_id, idempotency_key)


def _atomic(service: Callable[P, R]) -> Callable[P, R]:
    """A step refused half way (by the state machine, the consent gate or the database) leaves
    nothing behind: the session is rolled back before the error reaches the caller, so a page
    that reads the transfer again after a refusal can never commit part of the refused step.
    With ``commit=False`` the caller owns the transaction and its rollback."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except Exception:
            if kwargs.get("commit", True):
                session = args[0]
                assert isinstance(session, Session)
                session.rollback()
            raise

    return run


def _replayed(
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


def _audit(
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


def _notify(session: Session, row: CaseTransfer, side: Party, at: datetime) -> None:
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


def _notify_other(
    session: Session, row: CaseTransfer, context: TenantContext, at: datetime
) -> None:
    other = Party.RECEIVER if side_of(context, row) is Party.SENDER else Party.SENDER
    transfer_id = row.id
    with acting_for(session, _context_for(row, other, context.user_id)):
        _notify(session, load_transfer(session, transfer_id), other, at)


def serving_charity(session: Session, prison_code: str, on: date) -> uuid.UUID | None:
    """The charity serving ``prison_code`` on ``on`` (services are reference data)."""
    return session.scalar(
        select(Service.charity_id).where(
            Service.prison_code == prison_code,
            Service.starts_on <= on,
            (Service.ends_on.is_(None)) | (Service.ends_on > on),
        )
    )


def case_to_transfer(session: Session, case_id: uuid.UUID) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id))
    if case is None:
        raise NotFound("case")
    if case.status in READ_ONLY_STATUSES:
        raise Conflict("this case is closed or already transferred")
    return case


def consent_gate(session: Session, case: Case, receiver: uuid.UUID, on: date) -> Gate:
    records = session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
    return transfer_gate(
        [consent_facts(r) for r in records], people_of(session, case), receiver=receiver, on=on
    )


def _offered_under(
    session: Session, transfer_id: uuid.UUID
) -> tuple[frozenset[uuid.UUID], frozenset[DataCategory]]:
    """The consents and case categories an offer's package was cut under, from the receiver's
    offer row (ids and codes only; read in the receiver's context); nothing before an offer."""
    offer = session.scalar(select(TransferOffer).where(TransferOffer.transfer_id == transfer_id))
    if offer is None:
        return frozenset(), frozenset()
    return (
        frozenset(uuid.UUID(i) for i in offer.consent_ids.split(",") if i),
        frozenset(DataCategory(c) for c in offer.categories.split(",") if c),
    )


def _new_transfer(
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
    _store_step(session, row, started, user_id)
    return row


def _wait_for_consent(
    session: Session,
    row: CaseTransfer,
    case: Case,
    proposed: machine.Step,
    user_id: uuid.UUID | None,
) -> None:
    """A proposal just made (or a request just granted) that the family's consent does not yet
    cover waits for it, by the same party at the same moment; one it covers stays proposed,
    ready to offer. Recording the consent later moves nothing: the worker then offers."""
    if consent_gate(session, case, row.receiver_charity_id, proposed.at.date()).open:
        return
    _step(
        session,
        row,
        lambda t: machine.await_consent(t, proposed.by, proposed.party, proposed.at),
        user_id,
    )


def _refuse_live_duplicate(session: Session, case_id: uuid.UUID) -> None:
    live = session.scalar(
        select(CaseTransfer.id).where(
            CaseTransfer.sender_case_id == case_id,
            CaseTransfer.state.in_([s.value for s in LIVE_STATES]),
        )
    )
    if live is not None:
        raise Conflict("this case already has a transfer under way")


# --- the sender's steps ------------------------------------------------------------------


@_atomic
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
    case = case_to_transfer(session, case_id)
    today = serving_on or origin.clock().date()
    receiver = serving_charity(session, to_prison_code, today)
    if receiver is None:
        raise InvalidInput({"to_prison_code": ["no member charity serves that prison today"]})
    if receiver == case.charity_id:
        raise InvalidInput(
            {"to_prison_code": ["your own charity serves that prison: no transfer is needed"]}
        )
    _refuse_live_duplicate(session, case.id)
    user_id = None if platform else context.user_id
    started = machine.propose(
        PLATFORM if platform else str(context.user_id),
        origin.clock(),
        origin=platform or TransferOrigin.SENDER,
        reason=reason.value if reason else None,
        offer_life=timedelta(days=offer_days),
    )
    row = _new_transfer(
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
    _wait_for_consent(session, row, case, started.steps[0], user_id)
    _audit(session, origin, row, context, "transfer.propose", both=False)
    if platform:
        _notify(session, row, Party.SENDER, origin.clock())
    if commit:
        session.commit()
    return row


@_atomic
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
    require(context, Permission.CASE_WRITE)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not Party.SENDER:
        raise Forbidden("only the sending charity takes this step")
    if _replayed(session, row, idempotency_key, TransferState.OFFERED) is not None:
        return row
    if row.sender_case_id is None:
        raise TransferRefused("this request matched no case")
    case = case_to_transfer(session, row.sender_case_id)
    now = origin.clock()
    gate = consent_gate(session, case, row.receiver_charity_id, now.date())
    # Shared with the receiver from this step on (the offer step included), never before.
    row.receiver_sees = gate.open
    _step(
        session,
        row,
        # A contract change offers as the platform: no user takes the step.
        lambda t: machine.offer(t, str(context.user_id or PLATFORM), now, consent_ok=gate.open),
        context.user_id,
        idempotency_key,
    )
    package = cut_package(session, vault, case, gate)
    case.status = CaseStatus.TRANSFER_PENDING.value
    session.flush()
    _audit(session, origin, row, context, "transfer.offer", both=True)
    ids = (row.id, row.receiver_charity_id, row.receiver_prison_code)
    with acting_for(session, _context_for(row, Party.RECEIVER, context.user_id)):
        offer = TransferOffer(
            id=new_id(),
            charity_id=ids[1],
            prison_code=ids[2],
            transfer_id=ids[0],
            categories=",".join(package["categories"]),
            consent_ids=",".join(str(i) for i in gate.consent_ids),
        )
        seal_offer(vault, offer, package)
        session.add(offer)
        session.flush()
        _notify(session, load_transfer(session, ids[0]), Party.RECEIVER, now)
    row = load_transfer(session, ids[0])
    if commit:
        session.commit()
    return row


@_atomic
def cancel_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    transfer_id: uuid.UUID,
    *,
    reason: TransferReason,
) -> CaseTransfer:
    """The sender withdraws its proposal or offer before it is answered; nothing crosses."""
    require(context, Permission.CASE_WRITE)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not Party.SENDER:
        raise Forbidden("only the sending charity takes this step")
    now = origin.clock()
    _step(
        session,
        row,
        lambda t: machine.cancel(t, str(context.user_id), now, reason.value),
        context.user_id,
    )
    return _end_unaccepted(session, origin, row, context, "transfer.cancel")


@_atomic
def grant_request(
    session: Session, context: TenantContext, origin: Origin, transfer_id: uuid.UUID
) -> CaseTransfer:
    """The sender agrees to a receiver's request: it becomes a proposal, awaiting the family's
    consent unless that is already recorded."""
    require(context, Permission.CASE_WRITE)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not Party.SENDER:
        raise Forbidden("only the sending charity takes this step")
    if row.sender_case_id is None:
        raise TransferRefused("this request matched no case: refuse it")
    case = session.scalar(select(Case).where(Case.id == row.sender_case_id))
    if case is None:
        raise TransferRefused("this request matched no case: refuse it")
    now = origin.clock()
    granted = _decide(session, row, lambda t: machine.grant_request(t, str(context.user_id), now))
    _store_step(session, row, granted, context.user_id)
    _wait_for_consent(session, row, case, granted.steps[-1], context.user_id)
    _audit(session, origin, row, context, "transfer.grant", both=True)
    _notify_other(session, row, context, now)
    row = load_transfer(session, transfer_id)
    session.commit()
    return row


@_atomic
def refuse_request(
    session: Session,
    context: TenantContext,
    origin: Origin,
    transfer_id: uuid.UUID,
    *,
    reason: TransferReason,
) -> CaseTransfer:
    require(context, Permission.CASE_WRITE)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not Party.SENDER:
        raise Forbidden("only the sending charity takes this step")
    now = origin.clock()
    _step(
        session,
        row,
        lambda t: machine.refuse_request(t, str(context.user_id), now, reason.value),
        context.user_id,
    )
    _audit(session, origin, row, context, "transfer.refuse", both=True)
    _notify_other(session, row, context, now)
    row = load_transfer(session, transfer_id)
    session.commit()
    return row


# --- the receiver's steps ----------------------------------------------------------------


@_atomic
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
        row = _new_transfer(
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
        _notify(session, row, Party.SENDER, origin.clock())
    row = load_transfer(session, transfer_id)
    _audit(session, origin, row, context, "transfer.request", both=True)
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
            live = session.scalar(
                select(CaseTransfer.id).where(
                    CaseTransfer.sender_case_id == case.id,
                    CaseTransfer.state.in_([s.value for s in LIVE_STATES]),
                )
            )
            return None if live is not None else case.id
    return None


@_atomic
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
    require(context, Permission.CASE_APPROVE)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not Party.RECEIVER:
        raise Forbidden("only the receiving charity answers an offer")
    if _replayed(session, row, idempotency_key, TransferState.ACCEPTED) is not None:
        case_id = session.scalar(select(Case.id).where(Case.transfer_id == row.id))
        assert case_id is not None  # the accepted step and the case commit together
        return Accepted(row, case_id, replayed=True)
    now = origin.clock()
    ids = _Ids.of(row)
    offered_under = _offered_under(session, ids.transfer)
    # The family's consent, read again as the sender: it may have been withdrawn since the offer,
    # by the person in custody or by any adult whose details the package carries.
    with acting_for(session, _context_for(row, Party.SENDER, context.user_id)):
        case = session.scalar(select(Case).where(Case.id == ids.sender_case))
        gate_open = (
            case is not None
            and case.status not in READ_ONLY_STATUSES
            and consent_gate(session, case, ids.receiver, now.date()).keeps(*offered_under)
        )
    row = load_transfer(session, ids.transfer, lock=True)
    decided = _decide(
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
    _store_step(session, row, decided, context.user_id, idempotency_key)
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
    )
    new_case_id = new_case.id
    if fail_after_receiver_insert:
        raise RuntimeError("injected failure after the receiver's insert")
    # The package has landed: the offer row keeps its categories and consents, not the content.
    offer.package_enc = None
    row = load_transfer(session, ids.transfer)
    _audit(
        session, origin, row, context, "transfer.accept", both=True, receiver_case_id=new_case_id
    )
    with acting_for(session, _context_for(row, Party.SENDER, context.user_id)):
        sender_case = session.scalar(select(Case).where(Case.id == ids.sender_case))
        assert sender_case is not None
        sender_case.status = CaseStatus.TRANSFERRED_OUT.value
        sender_case.closed_on = max(now.date(), sender_case.opened_on)
        session.flush()
        _notify(session, load_transfer(session, ids.transfer), Party.SENDER, now)
    row = load_transfer(session, ids.transfer)
    session.commit()
    return Accepted(row, new_case_id)


@_atomic
def decline_transfer(
    session: Session,
    context: TenantContext,
    origin: Origin,
    transfer_id: uuid.UUID,
    *,
    reason: TransferReason,
) -> CaseTransfer:
    """A receiving manager declines the offer; the sender keeps the case as it was."""
    require(context, Permission.CASE_APPROVE)
    row = load_transfer(session, transfer_id, lock=True)
    if side_of(context, row) is not Party.RECEIVER:
        raise Forbidden("only the receiving charity answers an offer")
    now = origin.clock()
    _step(
        session,
        row,
        lambda t: machine.decline(t, str(context.user_id), now, reason.value),
        context.user_id,
    )
    return _end_unaccepted(session, origin, row, context, "transfer.decline")


# --- ending without acceptance, and the platform's steps -------------------------------------


def _end_unaccepted(
    session: Session,
    origin: Origin,
    row: CaseTransfer,
    context: TenantContext | None,
    action: str,
    *,
    commit: bool = True,
) -> CaseTransfer:
    """Void the receiver's package (if an offer was made), give the sender its case back,
    audit and notify; in the caller's transaction."""
    now = origin.clock()
    ids = (row.id, row.sender_case_id, row.receiver_sees)
    _audit(session, origin, row, context, action, both=row.receiver_sees)
    user_id = context.user_id if context else None
    for side in (Party.SENDER, Party.RECEIVER):
        if side is Party.RECEIVER and not ids[2]:
            continue  # never shared: the receiver learns nothing, not even that it ended
        with acting_for(session, _context_for(row, side, user_id)):
            current = load_transfer(session, ids[0])
            if side is Party.RECEIVER:
                offer = session.scalar(
                    select(TransferOffer).where(TransferOffer.transfer_id == ids[0])
                )
                if offer is not None and offer.package_enc is not None:
                    offer.package_enc = None
                    offer.voided_at = now
            elif ids[1] is not None:
                case = session.scalar(select(Case).where(Case.id == ids[1]))
                if case is not None and case.status == CaseStatus.TRANSFER_PENDING.value:
                    case.status = CaseStatus.ACTIVE.value
            if context is None or side is not side_of(context, current):
                _notify(session, current, side, now)
            session.flush()
    row = load_transfer(session, ids[0]) if context is not None else row
    if commit:
        session.commit()
    return row


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
        offered_under: tuple[frozenset[uuid.UUID], frozenset[DataCategory]] = (
            frozenset(),
            frozenset(),
        )
        if row.state == TransferState.OFFERED.value:
            with acting_for(session, _context_for(row, Party.RECEIVER, None)):
                offered_under = _offered_under(session, transfer_id)
            row = load_transfer(session, transfer_id, lock=True)
        if row.state != TransferState.OFFERED.value and not (
            purpose is ConsentPurpose.TRANSFER and recipient_charity_id == row.receiver_charity_id
        ):
            continue
        case = session.scalar(select(Case).where(Case.id == case_id))
        assert case is not None
        # Any consent the package rests on (not only the person in custody's) halts it.
        if consent_gate(session, case, row.receiver_charity_id, now.date()).keeps(*offered_under):
            continue
        _step(
            session,
            row,
            lambda t: machine.halt(t, now, TransferReason.CONSENT_WITHDRAWN.value),
            None,
        )
        halted.append(row.id)
        _end_unaccepted(session, origin, row, context, "transfer.halt", commit=False)
    return halted


def expire_overdue(session: Session, origin: Origin, charity_id: uuid.UUID) -> int:
    """Lapse every offer of ``charity_id`` (as sender) that nobody answered in time. A named
    system job, run per charity (``continuum transfers expire``); the caller commits."""
    now = origin.clock()
    prisons = frozenset(
        session.scalars(select(Service.prison_code).where(Service.charity_id == charity_id))
    )
    job = TenantContext(charity_id, prisons, Role.SITE_MANAGER, None)
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
        row_context = None
        with acting_for(session, job):
            row = load_transfer(session, transfer_id, lock=True)
            _step(session, row, lambda t: machine.expire(t, now), None)
            row_context = _context_for(row, Party.SENDER, None)
        with acting_for(session, row_context):
            row = load_transfer(session, transfer_id)
            _end_unaccepted(session, origin, row, None, "transfer.expire", commit=False)
        count += 1
    return count


def charity_name(session: Session, charity_id: uuid.UUID) -> str:
    organisation = session.get(Organisation, charity_id)
    return organisation.name if organisation else "another charity"
