"""The terms on which a case may be transferred (DESIGN.md section 6): which case may go (open,
with no other transfer under way), and under what consent, read through the family's consent
records in the sender's context (the gate of app.domain.transfers.consent_gate), or, once offered,
the consents and categories the offer was cut under. Shared by the use cases of every party, and by
the reads that show a sender where its family's consent stands.

Every caller asks the gate through this module (``terms.consent_gate``), never through a copy of
the name, so that it is looked up in one place (where the negative control forces it open).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, NotFound
from app.domain.transfers import machine
from app.domain.transfers.consent_gate import Gate, transfer_gate
from app.domain.vocabulary import DataCategory
from app.models import Case, CaseTransfer, ConsentRecord, TransferOffer
from app.models.transfers import LIVE_STATES
from app.services.cases.consents import consent_facts
from app.services.cases.scope import READ_ONLY_STATUSES
from app.services.transfers.package import people_of
from app.services.transfers.steps import take_step


def case_to_transfer(session: Session, case_id: uuid.UUID) -> Case:
    """The sender's case, if it may still go: not closed and not already transferred."""
    case = session.scalar(select(Case).where(Case.id == case_id))
    if case is None:
        raise NotFound("case")
    if case.status in READ_ONLY_STATUSES:
        raise Conflict("this case is closed or already transferred")
    return case


def live_transfer_of(session: Session, case_id: uuid.UUID) -> uuid.UUID | None:
    """The transfer of ``case_id`` still under way, if any (a case goes one way at a time)."""
    return session.scalar(
        select(CaseTransfer.id).where(
            CaseTransfer.sender_case_id == case_id,
            CaseTransfer.state.in_([s.value for s in LIVE_STATES]),
        )
    )


def consent_gate(session: Session, case: Case, receiver: uuid.UUID, on: date) -> Gate:
    """The family's consent, person by person, to ``case`` going to ``receiver`` on ``on``."""
    records = session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
    return transfer_gate(
        [consent_facts(r) for r in records], people_of(session, case), receiver=receiver, on=on
    )


def offered_categories(offer: TransferOffer) -> tuple[DataCategory, ...]:
    """The case categories an offer's package was cut to, in the order it lists them."""
    return tuple(DataCategory(c) for c in offer.categories.split(",") if c)


def offered_under(
    session: Session, transfer_id: uuid.UUID
) -> tuple[frozenset[uuid.UUID], frozenset[DataCategory]]:
    """The consents and case categories an offer's package was cut under, from the receiver's
    offer row (ids and codes only; read in the receiver's context); nothing before an offer."""
    offer = session.scalar(select(TransferOffer).where(TransferOffer.transfer_id == transfer_id))
    if offer is None:
        return frozenset(), frozenset()
    return (
        frozenset(uuid.UUID(i) for i in offer.consent_ids.split(",") if i),
        frozenset(offered_categories(offer)),
    )


def wait_for_consent(
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
    take_step(
        session,
        row,
        lambda t: machine.await_consent(t, proposed.by, proposed.party, proposed.at),
        user_id,
    )
