"""Consent validity (DESIGN.md section 5), as pure rules over consent records.

Records are never edited: a withdrawal is a new record that names the one it withdraws, and works
forward from its own date. Declining consent never blocks the family's own support; these rules
only say what a consent allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.vocabulary import ConsentDecision, ConsentPurpose, DataCategory

# "until when (default one year)": DESIGN.md section 5.
DEFAULT_VALIDITY = timedelta(days=365)
# A consent is recorded for a bounded time; five years covers the longest sentence plans we expect.
LONGEST_VALIDITY = timedelta(days=5 * 365)


class ConsentState(StrEnum):
    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"


@dataclass(frozen=True)
class ConsentFacts:
    """What the rules need to know about one stored consent record."""

    id: uuid.UUID
    subject_key: str  # "person_in_custody" or the family member's id
    purpose: ConsentPurpose
    decision: ConsentDecision
    categories: frozenset[DataCategory]
    valid_from: date
    expires_on: date | None
    recipient_charity_id: uuid.UUID | None = None
    withdraws_id: uuid.UUID | None = None


def default_expiry(valid_from: date) -> date:
    return valid_from + DEFAULT_VALIDITY


def withdrawals(records: Iterable[ConsentFacts]) -> dict[uuid.UUID, date]:
    """The date each withdrawn record was withdrawn on (the earliest withdrawal counts)."""
    found: dict[uuid.UUID, date] = {}
    for record in records:
        if record.decision is ConsentDecision.WITHDRAWN and record.withdraws_id is not None:
            earlier = found.get(record.withdraws_id)
            if earlier is None or record.valid_from < earlier:
                found[record.withdraws_id] = record.valid_from
    return found


def state_of(record: ConsentFacts, on: date, withdrawn: dict[uuid.UUID, date]) -> ConsentState:
    """The state of any record on a day, knowing every withdrawal. A withdrawal record grants
    nothing of its own: it is always withdrawn."""
    if record.decision is ConsentDecision.WITHDRAWN:
        return ConsentState.WITHDRAWN
    if record.decision is ConsentDecision.REFUSED:
        return ConsentState.REFUSED
    withdrawn_on = withdrawn.get(record.id)
    if withdrawn_on is not None and withdrawn_on <= on:
        return ConsentState.WITHDRAWN
    if on < record.valid_from:
        return ConsentState.NOT_YET_VALID
    if record.expires_on is not None and on > record.expires_on:
        return ConsentState.EXPIRED
    return ConsentState.ACTIVE


def valid_consent(
    records: Iterable[ConsentFacts],
    *,
    subject_key: str,
    purpose: ConsentPurpose,
    on: date,
    categories: Iterable[DataCategory] = (),
    recipient_charity_id: uuid.UUID | None = None,
) -> ConsentFacts | None:
    """The most recent active consent of ``subject_key`` for ``purpose`` on ``on`` that covers
    ``categories`` (and names ``recipient_charity_id`` when given); None when there is none.

    A refusal recorded after a consent was given does not end the consent by itself; only a
    withdrawal naming it does, so the family's later "no" to one purpose cannot silently end
    another.
    """
    records = list(records)
    withdrawn = withdrawals(records)
    wanted = frozenset(categories)
    candidates = [
        record
        for record in records
        if record.decision is ConsentDecision.GIVEN
        and record.subject_key == subject_key
        and record.purpose is purpose
        and wanted <= record.categories
        and (recipient_charity_id is None or record.recipient_charity_id == recipient_charity_id)
        and state_of(record, on, withdrawn) is ConsentState.ACTIVE
    ]
    return max(candidates, key=lambda record: record.valid_from, default=None)


def objects_to_statistics(records: Iterable[ConsentFacts], on: date) -> bool:
    """True when the family's latest word on statistical use, on ``on``, is no.

    Use in anonymised statistics is the default (the figures are suppressed totals); a recorded
    refusal, or a withdrawal of an earlier yes, is an objection (DESIGN.md section 7).
    """
    records = [r for r in records if r.purpose is ConsentPurpose.STATISTICS and r.valid_from <= on]
    withdrawn = withdrawals(records)
    latest = max(
        records, key=lambda r: (r.valid_from, r.decision != ConsentDecision.GIVEN), default=None
    )
    if latest is None:
        return False
    if latest.decision is ConsentDecision.GIVEN:
        return latest.id in withdrawn and withdrawn[latest.id] <= on
    return True
