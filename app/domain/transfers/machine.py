"""The transfer of a family's case between charities, as a pure state machine (DESIGN.md section 6).

A transfer is the list of its steps; its state is the last step's. Every step says who took it,
for which side, when and why. Steps follow one another by their place in the list, never by
their times: a time is what the clock of whoever took the step said (a server, a desk, an import
dated by another machine, the demo's ``--today``), shown to people and used for an offer's
lapse, and a clock a few hours off another never refuses a step (docs/decisions.md, "One
clock"). The functions here take a transfer and return a new one, or raise
one exception per reason a step is refused; storing steps and checking consent records are the
services' job, which pass in what they found (``consent_ok``).

    requested -grant-> proposed -await-> awaiting_consent -offer-> offered -accept-> accepted
    requested -refuse-> refused          proposed -offer-> offered
    proposed, awaiting_consent, offered -cancel (sender)-> cancelled, -halt (withdrawal)-> halted
    offered -decline-> declined, -expire (after the offer's life)-> expired
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.errors import (
    OfferExpired,
    ReasonRequired,
    StepNotAllowed,
    TransferAlreadyDecided,
    TransferConsentMissing,
)
from app.domain.vocabulary import Labelled

# DESIGN.md section 6: an offer nobody answers lapses after 14 days (a setting may change it).
DEFAULT_OFFER_LIFE = timedelta(days=14)


class TransferState(StrEnum):
    REQUESTED = "requested"
    PROPOSED = "proposed"
    AWAITING_CONSENT = "awaiting_consent"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    HALTED = "halted"


class Party(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"
    PLATFORM = "platform"


class TransferOrigin(StrEnum):
    """How the transfer started."""

    SENDER = "sender"
    RECEIVER_REQUEST = "receiver_request"
    MOVEMENT = "movement"
    CONTRACT_CHANGE = "contract_change"


class TransferReason(Labelled):
    """Why a step was taken, as a code both sides may read: the transfers table is shared, so
    no free text (which could carry personal details) crosses with it."""

    PERSON_MOVED = "person_moved"
    FAMILY_ASKED = "family_asked"
    CONTRACT_CHANGE = "contract_change"
    FAMILY_DECLINED = "family_declined"
    NO_CAPACITY = "no_capacity"
    NOT_OUR_PRISON = "not_our_prison"
    NO_MATCHING_CASE = "no_matching_case"
    PERSON_MOVED_AGAIN = "person_moved_again"
    SENT_IN_ERROR = "sent_in_error"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NO_ANSWER = "no_answer"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    TransferReason.PERSON_MOVED: "The person in custody moved prison",
    TransferReason.FAMILY_ASKED: "The family asked for it",
    TransferReason.CONTRACT_CHANGE: "The prison's family service moved to another charity",
    TransferReason.FAMILY_DECLINED: "The family did not agree",
    TransferReason.NO_CAPACITY: "No capacity to take the case",
    TransferReason.NOT_OUR_PRISON: "We do not serve that prison",
    TransferReason.NO_MATCHING_CASE: "No open case we can transfer",
    TransferReason.PERSON_MOVED_AGAIN: "The person in custody moved again",
    TransferReason.SENT_IN_ERROR: "Sent in error",
    TransferReason.CONSENT_WITHDRAWN: "Consent was withdrawn",
    TransferReason.NO_ANSWER: "No answer in time",
    TransferReason.OTHER: "Another reason",
}


FINAL_STATES = frozenset(
    {
        TransferState.ACCEPTED,
        TransferState.DECLINED,
        TransferState.REFUSED,
        TransferState.CANCELLED,
        TransferState.EXPIRED,
        TransferState.HALTED,
    }
)
# States in which a consent withdrawal stops the transfer (nothing has crossed yet).
HALTABLE = frozenset(
    {TransferState.PROPOSED, TransferState.AWAITING_CONSENT, TransferState.OFFERED}
)


@dataclass(frozen=True)
class Step:
    state: TransferState
    at: datetime
    by: str  # an actor id, or "platform" for the movement feed and expiry
    party: Party
    reason: str | None = None


@dataclass(frozen=True)
class Transfer:
    origin: TransferOrigin
    steps: tuple[Step, ...]
    offer_life: timedelta = DEFAULT_OFFER_LIFE

    @property
    def state(self) -> TransferState:
        return self.steps[-1].state

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def offered_at(self) -> datetime | None:
        offers = [step.at for step in self.steps if step.state is TransferState.OFFERED]
        return offers[-1] if offers else None

    @property
    def expires_at(self) -> datetime | None:
        offered = self.offered_at
        return offered + self.offer_life if offered is not None else None

    def is_overdue(self, now: datetime) -> bool:
        expires = self.expires_at
        return self.state is TransferState.OFFERED and expires is not None and now >= expires


def _step(
    transfer: Transfer,
    to: TransferState,
    *,
    allowed_from: frozenset[TransferState],
    parties: frozenset[Party],
    by: str,
    party: Party,
    at: datetime,
    reason: str | None = None,
    reason_required: bool = False,
) -> Transfer:
    if transfer.is_final:
        raise TransferAlreadyDecided(f"the transfer is already {transfer.state.value}")
    if transfer.state not in allowed_from:
        raise StepNotAllowed(f"cannot go from {transfer.state.value} to {to.value}")
    if party not in parties:
        raise StepNotAllowed(f"the {party.value} cannot make the transfer {to.value}")
    reason = (reason or "").strip() or None
    if reason_required and reason is None:
        raise ReasonRequired(f"say why the transfer is {to.value}")
    return replace(transfer, steps=(*transfer.steps, Step(to, at, by, party, reason)))


def _start(
    origin: TransferOrigin,
    state: TransferState,
    by: str,
    party: Party,
    at: datetime,
    reason: str | None,
    offer_life: timedelta,
) -> Transfer:
    return Transfer(
        origin, (Step(state, at, by, party, (reason or "").strip() or None),), offer_life
    )


def propose(
    by: str,
    at: datetime,
    *,
    origin: TransferOrigin = TransferOrigin.SENDER,
    reason: str | None = None,
    offer_life: timedelta = DEFAULT_OFFER_LIFE,
) -> Transfer:
    """The sending worker proposes (or the platform does, from a movement or contract change)."""
    if origin is TransferOrigin.RECEIVER_REQUEST:
        raise StepNotAllowed("a receiver's request starts with request()")
    party = Party.SENDER if origin is TransferOrigin.SENDER else Party.PLATFORM
    return _start(origin, TransferState.PROPOSED, by, party, at, reason, offer_life)


def request(
    by: str, at: datetime, *, reason: str | None = None, offer_life: timedelta = DEFAULT_OFFER_LIFE
) -> Transfer:
    """The receiving charity asks for a case; the sender grants or refuses."""
    if not (reason or "").strip():
        raise ReasonRequired("say why the case is asked for")
    return _start(
        TransferOrigin.RECEIVER_REQUEST,
        TransferState.REQUESTED,
        by,
        Party.RECEIVER,
        at,
        reason,
        offer_life,
    )


def grant_request(transfer: Transfer, by: str, at: datetime) -> Transfer:
    return _step(
        transfer,
        TransferState.PROPOSED,
        allowed_from=frozenset({TransferState.REQUESTED}),
        parties=frozenset({Party.SENDER}),
        by=by,
        party=Party.SENDER,
        at=at,
    )


def refuse_request(transfer: Transfer, by: str, at: datetime, reason: str | None) -> Transfer:
    return _step(
        transfer,
        TransferState.REFUSED,
        allowed_from=frozenset({TransferState.REQUESTED}),
        parties=frozenset({Party.SENDER}),
        by=by,
        party=Party.SENDER,
        at=at,
        reason=reason,
        reason_required=True,
    )


def await_consent(transfer: Transfer, by: str, party: Party, at: datetime) -> Transfer:
    """The proposal waits for the family's consent (asked for, not yet recorded)."""
    return _step(
        transfer,
        TransferState.AWAITING_CONSENT,
        allowed_from=frozenset({TransferState.PROPOSED}),
        parties=frozenset({Party.SENDER, Party.PLATFORM}),
        by=by,
        party=party,
        at=at,
    )


def offer(transfer: Transfer, by: str, at: datetime, *, consent_ok: bool) -> Transfer:
    """The sender offers the case; only with a valid consent from every adult whose data goes."""
    if not transfer.is_final and not consent_ok:
        raise TransferConsentMissing(
            "record each adult's consent to this transfer before offering it"
        )
    return _step(
        transfer,
        TransferState.OFFERED,
        allowed_from=frozenset({TransferState.PROPOSED, TransferState.AWAITING_CONSENT}),
        parties=frozenset({Party.SENDER}),
        by=by,
        party=Party.SENDER,
        at=at,
    )


def accept(transfer: Transfer, by: str, at: datetime, *, consent_ok: bool) -> Transfer:
    """A receiving manager accepts: before the offer lapses, with the consent still valid."""
    if transfer.state is TransferState.OFFERED:
        if transfer.is_overdue(at):
            raise OfferExpired("the offer has lapsed")
        if not consent_ok:
            raise TransferConsentMissing("the family's consent is no longer valid")
    return _step(
        transfer,
        TransferState.ACCEPTED,
        allowed_from=frozenset({TransferState.OFFERED}),
        parties=frozenset({Party.RECEIVER}),
        by=by,
        party=Party.RECEIVER,
        at=at,
    )


def decline(transfer: Transfer, by: str, at: datetime, reason: str | None) -> Transfer:
    return _step(
        transfer,
        TransferState.DECLINED,
        allowed_from=frozenset({TransferState.OFFERED}),
        parties=frozenset({Party.RECEIVER}),
        by=by,
        party=Party.RECEIVER,
        at=at,
        reason=reason,
        reason_required=True,
    )


def cancel(transfer: Transfer, by: str, at: datetime, reason: str | None) -> Transfer:
    """The sender withdraws the proposal or the offer before it is answered."""
    return _step(
        transfer,
        TransferState.CANCELLED,
        allowed_from=frozenset(
            {TransferState.PROPOSED, TransferState.AWAITING_CONSENT, TransferState.OFFERED}
        ),
        parties=frozenset({Party.SENDER}),
        by=by,
        party=Party.SENDER,
        at=at,
        reason=reason,
        reason_required=True,
    )


def expire(transfer: Transfer, at: datetime) -> Transfer:
    """The platform lapses an offer nobody answered in time."""
    if transfer.state is TransferState.OFFERED and not transfer.is_overdue(at):
        raise StepNotAllowed("the offer has not lapsed yet")
    return _step(
        transfer,
        TransferState.EXPIRED,
        allowed_from=frozenset({TransferState.OFFERED}),
        parties=frozenset({Party.PLATFORM}),
        by="platform",
        party=Party.PLATFORM,
        at=at,
        reason=TransferReason.NO_ANSWER.value,
    )


def halt(transfer: Transfer, at: datetime, reason: str) -> Transfer:
    """Consent was withdrawn before acceptance: the transfer stops and nothing crosses."""
    return _step(
        transfer,
        TransferState.HALTED,
        allowed_from=HALTABLE,
        parties=frozenset({Party.PLATFORM}),
        by="platform",
        party=Party.PLATFORM,
        at=at,
        reason=reason,
        reason_required=True,
    )
