"""One case's transfers as its family page shows them (DESIGN.md section 6): where the case went
(the sender's transfers of it, step by step) and where it came from (the provenance written on
the receiver's new case when it was accepted). Read through the walls in the reader's own
context, alongside the family file; ids, prisons, states and reason codes only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.transfers.machine import Party, TransferState
from app.models import Case, CaseTransferStep, Organisation, Prison
from app.services.platform.audit import Origin
from app.services.transfers.views import (
    ANOTHER_CHARITY,
    TransferSummary,
    list_transfers,
    user_names,
)
from tenants.context import TenantContext


@dataclass(frozen=True)
class CameFrom:
    """The provenance of a case that arrived by transfer."""

    transfer_id: uuid.UUID | None
    charity: str
    prison: str
    on: date


@dataclass(frozen=True)
class CaseStep:
    """One step of one of the case's outgoing transfers, for the timeline."""

    transfer_id: uuid.UUID
    state: TransferState
    at: datetime
    by: str | None
    reason: str | None
    destination: str  # "NEPACS (HMP Durham)"


@dataclass(frozen=True)
class CaseTransfers:
    transfers: tuple[TransferSummary, ...]
    steps: tuple[CaseStep, ...]
    came_from: CameFrom | None


def _came_from(session: Session, case: Case) -> CameFrom | None:
    if case.transferred_from_charity_id is None:
        return None
    charity = session.scalar(
        select(Organisation.name).where(Organisation.id == case.transferred_from_charity_id)
    )
    code = case.transferred_from_prison_code or ""
    prison = session.scalar(select(Prison.name).where(Prison.code == code)) if code else None
    return CameFrom(
        transfer_id=case.transfer_id,
        charity=charity or ANOTHER_CHARITY,
        prison=prison or code,
        on=case.transferred_on or case.opened_on,
    )


def case_transfers(
    session: Session, context: TenantContext, origin: Origin, case: Case
) -> CaseTransfers:
    """The transfers of ``case`` its own charity made (newest first) with their steps (newest
    first), and where the case came from if it arrived by transfer. The caller audits the read."""
    summaries = tuple(list_transfers(session, context, origin, side=Party.SENDER, case_id=case.id))
    steps: list[CaseStep] = []
    if summaries:
        by_id = {t.id: t for t in summaries}
        rows = session.scalars(
            select(CaseTransferStep)
            .where(CaseTransferStep.transfer_id.in_(list(by_id)))
            .order_by(CaseTransferStep.at.desc(), CaseTransferStep.sequence.desc())
        ).all()
        names = user_names(session, (r.by_user_id for r in rows))
        for row in rows:
            transfer = by_id[row.transfer_id]
            steps.append(
                CaseStep(
                    transfer_id=row.transfer_id,
                    state=TransferState(row.state),
                    at=row.at,
                    # The other charity's staff are not named to this one: only its step.
                    by=names.get(row.by_user_id)
                    if row.by_user_id and row.party == Party.SENDER.value
                    else None,
                    reason=row.reason,
                    destination=f"{transfer.other_charity} ({transfer.receiver_prison_name})",
                )
            )
    return CaseTransfers(summaries, tuple(steps), _came_from(session, case))
