"""Who the figures count and who they leave out, as SQL over the case tables (definitions:
app.domain.figures.catalogue): the families objecting to statistical use, the families supported,
the new referrals, the transfers completed, and how many objecting families each table left out.

Each function returns a statement or a condition to put into one; none runs anything. They
select ORM entities, never bare tables, so the tenant walls scope every one of them, subqueries
included, to the charity being counted (the ORM guard's criteria; on PostgreSQL row-level
security as well). Nothing here filters by charity itself: joins between case tables go through
the composite key (charity, id) that every foreign key between them uses.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.domain.figures.catalogue import YEAR_TABLES, Period, TableId
from app.domain.transfers.machine import TransferState
from app.domain.vocabulary import ConsentDecision, ConsentPurpose
from app.models import Case, CaseTransfer, ConsentRecord, Contact

STATISTICS = ConsentPurpose.STATISTICS.value
# Families left out, by table id.
Excluded = dict[str, int]


def case_of(model: Any) -> ColumnElement[bool]:
    """The join from a row of another case table to its case."""
    return and_(Case.charity_id == model.charity_id, Case.id == model.case_id)


def objecting_families(on: date) -> Select[tuple[uuid.UUID]]:
    """The families whose latest word on statistical use, as of ``on``, is no.

    The same rule as app.domain.consent.objects_to_statistics, over every statistics record of
    every case of the family: take the records of the latest date on or before ``on``; the
    family objects when one of them is a refusal or a withdrawal, or is a yes withdrawn by a
    withdrawal dated on or before ``on``. (The domain rule breaks a tie of one date in favour of
    the no; a withdrawal is never dated before the yes it withdraws, so it is of that date.)
    """
    latest = (
        select(
            Case.family_id.label("family_id"),
            func.max(ConsentRecord.valid_from).label("said_on"),
        )
        .select_from(ConsentRecord)
        .join(Case, case_of(ConsentRecord))
        .where(ConsentRecord.purpose == STATISTICS, ConsentRecord.valid_from <= on)
        .group_by(Case.family_id)
        .subquery("latest_word")
    )
    withdrawal = aliased(ConsentRecord, name="withdrawal")
    # An ORM select of the alias (not a bare EXISTS), so that the walls scope it too.
    withdrawn_by_then = (
        select(withdrawal.id)
        .where(
            withdrawal.charity_id == ConsentRecord.charity_id,
            withdrawal.withdraws_id == ConsentRecord.id,
            withdrawal.purpose == STATISTICS,
            withdrawal.decision == ConsentDecision.WITHDRAWN.value,
            withdrawal.valid_from <= on,
        )
        .correlate(ConsentRecord)
        .exists()
    )
    return (
        select(Case.family_id)
        .select_from(ConsentRecord)
        .join(Case, case_of(ConsentRecord))
        .join(
            latest,
            and_(
                latest.c.family_id == Case.family_id,
                ConsentRecord.valid_from == latest.c.said_on,
            ),
        )
        .where(
            ConsentRecord.purpose == STATISTICS,
            or_(ConsentRecord.decision != ConsentDecision.GIVEN.value, withdrawn_by_then),
        )
    )


def counted(on: date, family_id: Any = Case.family_id) -> ColumnElement[bool]:
    """True for a family that has not objected to statistical use as of ``on``."""
    return family_id.not_in(objecting_families(on))


def objecting(on: date, family_id: Any = Case.family_id) -> ColumnElement[bool]:
    return family_id.in_(objecting_families(on))


def in_episode(day: Any, start: date | None, end: date) -> ColumnElement[bool]:
    """A dated record of a case falls in the period (from ``start``, when given, to ``end``) and
    within the case's own episode: on or after the day it opened, and on or before the day it
    closed or was transferred out. Contacts and assessments a transferred case brought with it
    are dated before the receiving case opened, so they count once: for the sender."""
    conditions = [
        day <= end,
        day >= Case.opened_on,
        or_(Case.closed_on.is_(None), day <= Case.closed_on),
    ]
    if start is not None:
        conditions.insert(0, day >= start)
    return and_(*conditions)


def is_supported(period: Period) -> ColumnElement[bool]:
    """The case has at least one contact in the period and within its episode.

    A correlated EXISTS, one index probe per case (contacts by charity, case and day), rather
    than an IN over every contact of the period: over a year at national scale the list was the
    larger part of the figures' cost (bench/release.py). An ORM select of Contact, so the walls
    scope it too."""
    return (
        select(Contact.id)
        .where(
            Contact.charity_id == Case.charity_id,
            Contact.case_id == Case.id,
            in_episode(Contact.occurred_on, period.start, period.end),
        )
        .correlate(Case)
        .exists()
    )


def supported_families(period: Period) -> Select[tuple[uuid.UUID]]:
    """The families of the supported cases."""
    return select(Case.family_id).where(is_supported(period))


def is_new_referral(period: Period) -> ColumnElement[bool]:
    """A case opened in the period that did not arrive by transfer."""
    return and_(
        Case.opened_on >= period.start,
        Case.opened_on <= period.end,
        Case.transfer_id.is_(None),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def accepted_in(period: Period) -> ColumnElement[bool]:
    """A transfer accepted on a UTC day of the period."""
    return (
        (CaseTransfer.state == TransferState.ACCEPTED.value)
        & (CaseTransfer.decided_at >= _midnight(period.start))
        & (CaseTransfer.decided_at < _midnight(period.end + timedelta(days=1)))
    )


def receiving_cases() -> ColumnElement[bool]:
    """The receiver's case of a transfer (its provenance names the transfer)."""
    return (Case.charity_id == CaseTransfer.receiver_charity_id) & (
        Case.transfer_id == CaseTransfer.id
    )


# --- families left out -----------------------------------------------------------------------


def excluded_in_quarter(session: Session, period: Period, charity_id: uuid.UUID) -> Excluded:
    """How many objecting families each quarter table left out: one statement for the tables of
    supported families and new referrals, one for the transfers received."""
    supported, new = is_supported(period), is_new_referral(period)
    families = func.count(distinct(Case.family_id))
    row = session.execute(
        select(
            func.count(distinct(case((supported | new, Case.family_id)))),
            func.count(distinct(case((supported, Case.family_id)))),
            func.count(distinct(case((new, Case.family_id)))),
        ).where(objecting(period.end))
    ).one()
    received = session.scalar(
        select(families)
        .select_from(CaseTransfer)
        .join(Case, receiving_cases())
        .where(
            CaseTransfer.receiver_charity_id == charity_id,
            accepted_in(period),
            objecting(period.end),
        )
    )
    either, of_supported, of_new = (int(value or 0) for value in row)
    return {
        TableId.PRISON_ACTIVITY.value: either,
        TableId.REGION_NEEDS.value: of_supported,
        TableId.REGION_OUTCOMES.value: of_supported,
        TableId.REGION_REFERRAL_SOURCES.value: of_new,
        TableId.REGION_TRANSFERS.value: int(received or 0),
    }


def excluded_in_year(session: Session, period: Period) -> Excluded:
    """Objecting families the equality tables left out: those supported in the year."""
    left_out = session.scalar(
        select(func.count(distinct(Case.family_id))).where(
            is_supported(period), objecting(period.end)
        )
    )
    return {table.id.value: int(left_out or 0) for table in YEAR_TABLES}
