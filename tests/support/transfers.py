"""Transfers for tests: the family's consent to one, a transfer taken as far as the offer, and
what is in the database (row counts of every table, each chain's audit events) to compare before
and after a step that must change nothing.

The world's Liverpool case (POPS) goes to NEPACS at Durham; Pact is the third charity.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import AuditEntry, Base, CaseTransfer, ConsentRecord
from app.services import transfers
from tests.support.cases import Desk, give_consent
from tests.support.world import World

SENDER_CASE = ("pops", "LPI")
RECEIVING_PRISON = "DMI"


def transfer_consent(
    desk: Desk,
    world: World,
    case_id: uuid.UUID,
    *categories: DataCategory,
    to: str = "nepacs",
    **overrides: Any,
) -> ConsentRecord:
    """A consent to a transfer to the charity ``to`` (the person in custody's unless overridden),
    for ``categories`` (identity alone when none are named)."""
    return give_consent(
        desk,
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations[to],
        categories=frozenset(categories or {DataCategory.IDENTITY}),
        **overrides,
    )


def offered_transfer(
    worker: Desk, world: World, *categories: DataCategory, case_id: uuid.UUID | None = None
) -> CaseTransfer:
    """The person in custody's consent for ``categories``, then the world's Liverpool case
    proposed and offered to NEPACS at Durham by ``worker``."""
    case_id = case_id or world.cases[SENDER_CASE]
    transfer_consent(worker, world, case_id, *categories)
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    return worker.do(transfers.offer_transfer, proposed.id)


def row_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Rows in every table, counted by a session that sees them all (``all_rows``)."""
    with sessions() as session:
        return {
            table.name: session.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def chain_lengths(sessions: sessionmaker[Session], world: World) -> dict[str, int]:
    """How many audit events each charity's chain holds."""
    with sessions() as session:
        return {
            slug: session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.chain == str(world.organisations[slug]))
            )
            or 0
            for slug in ("pops", "nepacs", "pact")
        }


def rows_of(sessions: sessionmaker[Session], model: Any, *criteria: Any) -> list[Any]:
    """Rows of ``model`` matching ``criteria``, read by a session that sees them all."""
    with sessions() as session:
        return list(session.scalars(select(model).where(*criteria)))
