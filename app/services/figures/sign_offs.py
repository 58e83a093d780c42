"""Charities' sign-off of their quarterly figures (DESIGN.md section 7, issue 5 item 3).

A charity admin signs off the charity's quarter once it has ended; from then on the charity's
records dated in that quarter are locked (app.db.quarter_lock refuses the change), so the
release the coordinator builds counts what the charity signed off. The coordinator may reopen a
charity's quarter for a correction, which a revised release then publishes. Every step is a new
row, audited in the charity's chain (and a reopening in the platform chain too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain.errors import AlreadySignedOff, NotSignedOff, QuarterNotOver
from app.domain.figures.periods import Quarter
from app.models import Organisation, Service
from app.models.releases import QuarterSignOff, SignOffAction
from app.services.platform import audit
from app.services.platform.audit import Origin, chain_for


@dataclass(frozen=True)
class SignOffStatus:
    """Where one charity serving in the quarter stands."""

    charity_id: uuid.UUID
    slug: str
    name: str
    signed_off: bool
    last_step: QuarterSignOff | None


def require_over(quarter: Quarter, today: date) -> None:
    if today <= quarter.end:
        raise QuarterNotOver(quarter.label)


def charities_serving(session: Session, quarter: Quarter) -> list[Organisation]:
    """The charities serving any prison on at least one day of the quarter: every one of them
    signs off before the quarter's release is built."""
    served = (
        select(Service.charity_id)
        .where(
            Service.starts_on <= quarter.end,
            or_(Service.ends_on.is_(None), Service.ends_on > quarter.start),
        )
        .distinct()
    )
    return list(
        session.scalars(
            select(Organisation).where(Organisation.id.in_(served)).order_by(Organisation.slug)
        )
    )


def last_step(session: Session, charity_id: uuid.UUID, quarter: Quarter) -> QuarterSignOff | None:
    return session.scalars(
        select(QuarterSignOff)
        .where(QuarterSignOff.charity_id == charity_id, QuarterSignOff.quarter == quarter.label)
        .order_by(QuarterSignOff.sequence.desc())
        .limit(1)
    ).first()


def is_signed_off(session: Session, charity_id: uuid.UUID, quarter: Quarter) -> bool:
    step = last_step(session, charity_id, quarter)
    return step is not None and step.action == SignOffAction.SIGNED_OFF


def sign_off_status(session: Session, quarter: Quarter) -> list[SignOffStatus]:
    return [
        SignOffStatus(
            charity.id,
            charity.slug,
            charity.name,
            step is not None and step.action == SignOffAction.SIGNED_OFF,
            step,
        )
        for charity in charities_serving(session, quarter)
        for step in (last_step(session, charity.id, quarter),)
    ]


def _step(
    session: Session,
    charity_id: uuid.UUID,
    quarter: Quarter,
    action: SignOffAction,
    user_id: uuid.UUID,
    origin: Origin,
) -> QuarterSignOff:
    previous = last_step(session, charity_id, quarter)
    step = QuarterSignOff(
        charity_id=charity_id,
        quarter=quarter.label,
        sequence=1 if previous is None else previous.sequence + 1,
        action=action.value,
        user_id=user_id,
        recorded_at=origin.clock(),
    )
    session.add(step)
    session.flush()
    return step


def sign_off_quarter(
    session: Session,
    *,
    charity_id: uuid.UUID,
    quarter: Quarter,
    user_id: uuid.UUID,
    origin: Origin,
) -> QuarterSignOff:
    """The charity admin's sign-off: the charity's figures for the quarter are locked."""
    require_over(quarter, origin.clock().date())
    if is_signed_off(session, charity_id, quarter):
        raise AlreadySignedOff(f"{quarter.label} is already signed off")
    step = _step(session, charity_id, quarter, SignOffAction.SIGNED_OFF, user_id, origin)
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=chain_for(charity_id, True),
            actor=user_id,
            organisation=charity_id,
            action="quarter.sign_off",
            record_type="quarter_sign_off",
            record_ids=(step.id,),
        ),
    )
    return step


def reopen_quarter(
    session: Session,
    *,
    charity_id: uuid.UUID,
    quarter: Quarter,
    user_id: uuid.UUID,
    coordinator_org: uuid.UUID,
    origin: Origin,
) -> QuarterSignOff:
    """The coordinator unlocks a charity's quarter for a correction (a revision follows)."""
    if not is_signed_off(session, charity_id, quarter):
        raise NotSignedOff(quarter.label)
    step = _step(session, charity_id, quarter, SignOffAction.REOPENED, user_id, origin)
    for chain in (chain_for(charity_id, True), chain_for(coordinator_org, False)):
        audit.record(
            session,
            audit.draft_event(
                origin,
                chain=chain,
                actor=user_id,
                organisation=coordinator_org,
                action="quarter.reopen",
                record_type="quarter_sign_off",
                record_ids=(step.id,),
            ),
        )
    return step
