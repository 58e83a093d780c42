"""The transfer state machine (app/domain/transfers/machine.py): no Flask, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import (
    OfferExpired,
    ReasonRequired,
    StepNotAllowed,
    TransferAlreadyDecided,
    TransferConsentMissing,
    TransferRefused,
)
from app.domain.transfers import machine as t
from app.domain.transfers.machine import FINAL_STATES, Party, TransferOrigin, TransferState

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
SENDER, RECEIVER = "sender-worker", "receiver-manager"


def _at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def _offered(consent_ok: bool = True) -> t.Transfer:
    proposed = t.propose(SENDER, _at(0), reason="moved to HMP Durham")
    return t.offer(proposed, SENDER, _at(1), consent_ok=consent_ok)


def test_sender_proposes_offers_and_receiver_accepts_with_every_step_recorded():
    accepted = t.accept(_offered(), RECEIVER, _at(2), consent_ok=True)
    assert accepted.state is TransferState.ACCEPTED
    assert [(s.state, s.by, s.party) for s in accepted.steps] == [
        (TransferState.PROPOSED, SENDER, Party.SENDER),
        (TransferState.OFFERED, SENDER, Party.SENDER),
        (TransferState.ACCEPTED, RECEIVER, Party.RECEIVER),
    ]
    assert accepted.steps[0].reason == "moved to HMP Durham"


def test_no_offer_without_consent():
    proposed = t.propose(SENDER, _at(0))
    with pytest.raises(TransferConsentMissing):
        t.offer(proposed, SENDER, _at(1), consent_ok=False)
    waiting = t.await_consent(proposed, SENDER, Party.SENDER, _at(1))
    assert t.offer(waiting, SENDER, _at(2), consent_ok=True).state is TransferState.OFFERED


def test_acceptance_is_refused_when_consent_no_longer_holds():
    with pytest.raises(TransferConsentMissing):
        t.accept(_offered(), RECEIVER, _at(2), consent_ok=False)


def test_an_offer_lapses_after_fourteen_days_by_default_and_cannot_then_be_accepted():
    offered = _offered()
    assert offered.expires_at == _at(1) + timedelta(days=14)
    just_before = offered.expires_at - timedelta(seconds=1)
    assert t.accept(offered, RECEIVER, just_before, consent_ok=True).state is TransferState.ACCEPTED
    with pytest.raises(OfferExpired):
        t.accept(offered, RECEIVER, offered.expires_at, consent_ok=True)
    with pytest.raises(StepNotAllowed):
        t.expire(offered, just_before)
    assert t.expire(offered, offered.expires_at).state is TransferState.EXPIRED


def test_the_offer_life_is_configurable():
    proposed = t.propose(SENDER, _at(0), offer_life=timedelta(days=3))
    offered = t.offer(proposed, SENDER, _at(0), consent_ok=True)
    assert offered.is_overdue(_at(72)) and not offered.is_overdue(_at(71))


@pytest.mark.parametrize("state_maker", ["proposed", "awaiting", "offered"])
def test_consent_withdrawal_halts_the_transfer_before_acceptance(state_maker):
    proposed = t.propose(SENDER, _at(0))
    transfer = {
        "proposed": proposed,
        "awaiting": t.await_consent(proposed, SENDER, Party.SENDER, _at(1)),
        "offered": t.offer(proposed, SENDER, _at(1), consent_ok=True),
    }[state_maker]
    halted = t.halt(transfer, _at(2), "the partner withdrew consent")
    assert halted.state is TransferState.HALTED
    with pytest.raises(TransferAlreadyDecided):
        t.accept(halted, RECEIVER, _at(3), consent_ok=True)


def test_an_accepted_transfer_cannot_be_halted_declined_or_cancelled():
    accepted = t.accept(_offered(), RECEIVER, _at(2), consent_ok=True)
    for step in (
        lambda: t.halt(accepted, _at(3), "withdrawn"),
        lambda: t.decline(accepted, RECEIVER, _at(3), "no capacity"),
        lambda: t.cancel(accepted, SENDER, _at(3), "changed mind"),
        lambda: t.accept(accepted, RECEIVER, _at(3), consent_ok=True),
    ):
        with pytest.raises(TransferAlreadyDecided):
            step()


def test_decline_cancel_refuse_and_halt_need_a_reason():
    with pytest.raises(ReasonRequired):
        t.decline(_offered(), RECEIVER, _at(2), "  ")
    with pytest.raises(ReasonRequired):
        t.cancel(_offered(), SENDER, _at(2), None)
    with pytest.raises(ReasonRequired):
        t.request(RECEIVER, _at(0))
    asked = t.request(RECEIVER, _at(0), reason="he is at HMP Durham now")
    with pytest.raises(ReasonRequired):
        t.refuse_request(asked, SENDER, _at(1), "")
    assert t.refuse_request(asked, SENDER, _at(1), "family said no").state is TransferState.REFUSED


def test_each_side_may_take_only_its_own_steps():
    with pytest.raises(StepNotAllowed):
        t.grant_request(t.propose(SENDER, _at(0)), SENDER, _at(1))  # nothing was requested
    asked = t.request(RECEIVER, _at(0), reason="moved")
    granted = t.grant_request(asked, SENDER, _at(1))
    assert granted.state is TransferState.PROPOSED
    assert granted.origin is TransferOrigin.RECEIVER_REQUEST
    with pytest.raises(StepNotAllowed):
        t.accept(granted, RECEIVER, _at(2), consent_ok=True)  # not offered yet


def test_the_platform_proposes_from_a_movement_and_the_sender_offers():
    proposed = t.propose("platform", _at(0), origin=TransferOrigin.MOVEMENT)
    assert proposed.steps[0].party is Party.PLATFORM
    assert t.offer(proposed, SENDER, _at(1), consent_ok=True).state is TransferState.OFFERED


def test_a_step_dated_by_a_clock_behind_the_last_one_still_follows_it():
    # The offer was dated by a clock an hour ahead (a desk, an import, the demo's --today); the
    # receiver's server says half past nine. Steps follow one another by their place in the
    # list; their times are what each clock said (docs/decisions.md, "One clock").
    accepted = t.accept(_offered(), RECEIVER, _at(0.5), consent_ok=True)
    assert [s.state for s in accepted.steps] == [
        TransferState.PROPOSED,
        TransferState.OFFERED,
        TransferState.ACCEPTED,
    ]
    assert accepted.steps[-1].at == _at(0.5)


def test_an_offer_dated_ahead_lapses_by_its_own_date_not_the_acceptors():
    offered = _offered()
    assert offered.expires_at == _at(1) + t.DEFAULT_OFFER_LIFE
    assert not offered.is_overdue(_at(0.5))
    with pytest.raises(OfferExpired):
        t.accept(offered, RECEIVER, offered.expires_at, consent_ok=True)


# --- properties over any sequence of steps -----------------------------------------------------

ACTIONS = {
    "grant": lambda tr, at: t.grant_request(tr, SENDER, at),
    "refuse": lambda tr, at: t.refuse_request(tr, SENDER, at, "no"),
    "await": lambda tr, at: t.await_consent(tr, SENDER, Party.SENDER, at),
    "offer_ok": lambda tr, at: t.offer(tr, SENDER, at, consent_ok=True),
    "offer_no_consent": lambda tr, at: t.offer(tr, SENDER, at, consent_ok=False),
    "accept_ok": lambda tr, at: t.accept(tr, RECEIVER, at, consent_ok=True),
    "accept_no_consent": lambda tr, at: t.accept(tr, RECEIVER, at, consent_ok=False),
    "decline": lambda tr, at: t.decline(tr, RECEIVER, at, "no room"),
    "cancel": lambda tr, at: t.cancel(tr, SENDER, at, "mistake"),
    "expire": lambda tr, at: t.expire(tr, at),
    "halt": lambda tr, at: t.halt(tr, at, "withdrawn"),
}


@settings(max_examples=300, deadline=None)
@given(
    requested=st.booleans(),
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(ACTIONS)), st.integers(min_value=0, max_value=24 * 20)),
        max_size=12,
    ),
)
def test_any_sequence_keeps_the_rules(requested, steps):
    transfer = (
        t.request(RECEIVER, _at(0), reason="moved") if requested else t.propose(SENDER, _at(0))
    )
    hours = 0
    for name, gap in steps:
        hours += gap
        before = transfer
        try:
            transfer = ACTIONS[name](transfer, _at(hours))
        except (TransferRefused, TransferConsentMissing):
            assert transfer is before
            continue
        # A final state is never left, and every step adds exactly one record.
        assert before.state not in FINAL_STATES
        assert len(transfer.steps) == len(before.steps) + 1
    states = [step.state for step in transfer.steps]
    if TransferState.ACCEPTED in states:
        # Acceptance only ever follows an offer made with consent, within its life.
        index = states.index(TransferState.ACCEPTED)
        assert states[index - 1] is TransferState.OFFERED
        assert transfer.steps[index].at < transfer.steps[index - 1].at + transfer.offer_life
    assert sum(state in FINAL_STATES for state in states) <= 1
