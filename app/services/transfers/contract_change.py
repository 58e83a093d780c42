"""A contract change: a prison's family service moves from one charity to another
(``continuum services transfer-prison --prison CODE --to CHARITY --on DATE``).

Two steps, each a named system operation. First the reference data: the service covering DATE
ends on DATE (``ends_on`` is exclusive) and the new charity's starts that day, written by the
schema owner (the application role may only read services) with one platform audit event in the
same transaction. Then every open case of the old charity at that prison: the platform proposes
its transfer to the new charity and, where the family's consent to it exists, offers it at once,
each case in its own transaction so that one failure does not stop the others. A case without
that consent stays with the old charity, its transfer awaiting consent, and is listed for
follow-up, by case reference only. Both charities stay at the same prison: each side sees the
transfer at its own prison, the new charity only once it is offered.

Running the command again after it stopped half way is safe: a service change already made is
recognised, and a case whose transfer awaits consent is offered if the consent has arrived since.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.domain.audit_chain import PLATFORM_CHAIN, AuditDraft
from app.domain.errors import DomainError, InvalidInput
from app.domain.transfers.machine import TransferOrigin, TransferReason, TransferState
from app.models import Case, CaseTransfer, Organisation, Service
from app.models.transfers import LIVE_STATES
from app.services.cases.scope import READ_ONLY_STATUSES
from app.services.platform import audit
from app.services.platform.audit import Origin
from app.services.platform.reference import start_service
from app.services.platform.vault import Vault
from app.services.transfers import PLATFORM, offer_transfer, propose_transfer, terms
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role

# A contract-change proposal not yet offered (awaiting consent), which a second run may offer.
_WAITING = (TransferState.PROPOSED.value, TransferState.AWAITING_CONSENT.value)


@dataclass(frozen=True)
class ServiceChange:
    prison_code: str
    from_charity_id: uuid.UUID
    to_charity_id: uuid.UUID
    on: date
    changed: bool  # False when an earlier run had already made this change


@dataclass
class ContractChange:
    """What a contract change did, by transfer id and case reference (never a name)."""

    service: ServiceChange
    offered: list[uuid.UUID] = field(default_factory=list)
    # Case references left with the old charity, awaiting the family's consent.
    awaiting_consent: list[str] = field(default_factory=list)
    # Case references that already had another transfer under way.
    under_way: list[str] = field(default_factory=list)
    # (case reference, why) for cases a step failed for; the others went on.
    failed: list[tuple[str, str]] = field(default_factory=list)


def change_service(
    session: Session, origin: Origin, prison_code: str, to_charity_id: uuid.UUID, on: date
) -> ServiceChange:
    """End the service at ``prison_code`` covering ``on`` and start ``to_charity_id``'s that day
    (until the old service's own end, if it had one). Commits, with a platform audit event.

    ``session`` writes reference data: on PostgreSQL it is the schema owner's."""
    to_charity = session.get(Organisation, to_charity_id)
    if to_charity is None or not to_charity.is_charity:
        raise InvalidInput({"to": ["choose a member charity"]})
    current = session.scalar(
        select(Service).where(
            Service.prison_code == prison_code,
            Service.starts_on <= on,
            (Service.ends_on.is_(None)) | (Service.ends_on > on),
        )
    )
    if current is None:
        raise InvalidInput({"prison": [f"no charity serves {prison_code} on {on.isoformat()}"]})
    if current.charity_id == to_charity_id:
        before = session.scalar(
            select(Service).where(Service.prison_code == prison_code, Service.ends_on == on)
        )
        if current.starts_on == on and before is not None:
            return ServiceChange(prison_code, before.charity_id, to_charity_id, on, changed=False)
        raise InvalidInput({"to": [f"{to_charity.name} already serves {prison_code} then"]})
    if current.starts_on == on:
        raise InvalidInput({"on": ["the current service starts that day: choose a later day"]})
    old_charity, old_end = current.charity_id, current.ends_on
    current.ends_on = on
    session.flush()
    new = start_service(session, to_charity, prison_code, on, old_end)
    audit.record(
        session,
        AuditDraft(
            chain=PLATFORM_CHAIN,
            occurred_at=origin.clock(),
            actor=PLATFORM,
            organisation=PLATFORM,
            action="service.transfer_prison",
            record_type="service",
            record_ids=(str(current.id), str(new.id)),
            source=origin.source,
            outcome="ok",
        ),
    )
    session.commit()
    return ServiceChange(prison_code, old_charity, to_charity_id, on, changed=True)


def offer_open_cases(
    session: Session,
    origin: Origin,
    vault: Vault,
    change: ServiceChange,
    *,
    offer_days: int = 14,
) -> ContractChange:
    """Propose, and offer where consent allows, every open case of the old charity at the
    prison; one transaction per case. ``vault`` is over ``session``."""
    result = ContractChange(change)
    sender = TenantContext(
        change.from_charity_id, frozenset({change.prison_code}), Role.SITE_MANAGER
    )
    bind_tenant(session, sender)
    try:
        cases = session.execute(
            select(Case.id, Case.reference)
            .where(
                Case.prison_code == change.prison_code,
                Case.status.not_in(list(READ_ONLY_STATUSES)),
            )
            .order_by(Case.reference)
        ).all()
        session.rollback()
        for case_id, reference in cases:
            try:
                _move_case(
                    session, sender, origin, vault, change, case_id, reference, result, offer_days
                )
                session.commit()
            except (DomainError, SQLAlchemyError) as error:
                session.rollback()
                result.failed.append((reference, _why(error)))
    finally:
        bind_tenant(session, None)
    return result


def _move_case(
    session: Session,
    sender: TenantContext,
    origin: Origin,
    vault: Vault,
    change: ServiceChange,
    case_id: uuid.UUID,
    reference: str,
    result: ContractChange,
    offer_days: int,
) -> None:
    live = session.scalar(
        select(CaseTransfer).where(
            CaseTransfer.sender_case_id == case_id,
            CaseTransfer.state.in_([s.value for s in LIVE_STATES]),
        )
    )
    if live is not None and not (
        live.origin == TransferOrigin.CONTRACT_CHANGE.value
        and live.receiver_charity_id == change.to_charity_id
        and live.state in _WAITING
    ):
        result.under_way.append(reference)
        return
    transfer_id = (
        live.id
        if live is not None
        else propose_transfer(
            session,
            sender,
            origin,
            case_id,
            to_prison_code=change.prison_code,
            reason=TransferReason.CONTRACT_CHANGE,
            offer_days=offer_days,
            commit=False,
            platform=TransferOrigin.CONTRACT_CHANGE,
            serving_on=change.on,
        ).id
    )
    case = session.get_one(Case, case_id)
    if not terms.consent_gate(session, case, change.to_charity_id, origin.clock().date()).open:
        result.awaiting_consent.append(reference)
        return
    offer_transfer(session, sender, origin, vault, transfer_id, commit=False)
    result.offered.append(transfer_id)


def _why(error: Exception) -> str:
    """A short reason for the operator; a database error's text may quote values, so not it."""
    if isinstance(error, InvalidInput):
        return "; ".join(m for messages in error.errors.values() for m in messages)
    if isinstance(error, DomainError):
        return str(error) or type(error).__name__
    return "the database refused the change"


def transfer_prison(
    reference_session: Session,
    case_session: Session,
    origin: Origin,
    vault: Vault,
    *,
    prison_code: str,
    to_charity_id: uuid.UUID,
    on: date,
    offer_days: int = 14,
) -> ContractChange:
    """The whole contract change: the service first (``reference_session``, the schema owner's
    on PostgreSQL), then the old charity's open cases (``case_session``, the application's, which
    ``vault`` is over)."""
    change = change_service(reference_session, origin, prison_code, to_charity_id, on)
    return offer_open_cases(case_session, origin, vault, change, offer_days=offer_days)
