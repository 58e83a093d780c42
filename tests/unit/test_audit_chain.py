"""The audit hash chain: tampering of every kind is detected at the first bad event, and signed
checkpoints catch a history rewritten with every hash recomputed."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.audit_chain import (
    BROKEN_LINK,
    HASH_MISMATCH,
    OUT_OF_ORDER,
    PLATFORM_CHAIN,
    SEQUENCE_GAP,
    WRONG_CHAIN,
    AuditDraft,
    AuditEvent,
    Checkpoint,
    VerifyResult,
    canonical_bytes,
    checkpoint_matches,
    genesis_hash,
    seal,
    sign_checkpoint,
    verify_chain,
    verify_checkpoint,
)
from app.domain.errors import ChainMismatch, MalformedCheckpoint, NaiveTimestamp, UnknownOutcome

CHAIN = "3"
OTHER_CHAIN = "4"
N = 6
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
# No example database: the suite must leave nothing behind in the working tree.
QUIET = settings(database=None, max_examples=50, deadline=None)


def _draft(n: int = 0, chain: str = CHAIN, **changes: Any) -> AuditDraft:
    fields: dict[str, Any] = {
        "chain": chain,
        "occurred_at": T0 + timedelta(minutes=n),
        "actor": f"user-{n}",
        "organisation": chain,
        "action": "case.read",
        "record_type": "case",
        "record_ids": (f"case-{n}", f"case-{n + 1}"),
        "source": "203.0.113.5",
        "outcome": "ok",
    }
    fields.update(changes)
    return AuditDraft(**fields)


def _sealed(count: int = N, chain: str = CHAIN) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    for n in range(count):
        events.append(seal(_draft(n, chain), events[-1] if events else None))
    return events


def _reseal(drafts: list[AuditDraft]) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    for draft in drafts:
        events.append(seal(draft, events[-1] if events else None))
    return events


def _flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _failure(position: int, reason: str) -> VerifyResult:
    return VerifyResult(ok=False, checked=position - 1, first_bad_sequence=position, reason=reason)


# --- sealing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, N])
def test_sealed_chain_of_events_verifies(count):
    events = _sealed(count)

    assert verify_chain(events, CHAIN) == VerifyResult(ok=True, checked=count)
    assert [event.sequence for event in events] == list(range(1, count + 1))


def test_first_event_links_to_its_chains_genesis_and_each_next_to_the_one_before():
    events = _sealed()

    assert events[0].prev_hash == genesis_hash(CHAIN)
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))


def test_each_chain_has_its_own_genesis():
    assert len({genesis_hash(CHAIN), genesis_hash(OTHER_CHAIN), genesis_hash(PLATFORM_CHAIN)}) == 3


def test_draft_from_another_chain_is_refused_by_seal():
    previous = _sealed(2)[-1]

    with pytest.raises(ChainMismatch):
        seal(_draft(2, OTHER_CHAIN), previous)


# --- the encoding a verifier elsewhere must reproduce --------------------------------------------


def test_known_event_gives_known_hash_from_the_documented_encoding():
    # 09:30:00.000120 at UTC+1 is 08:30:00.000120Z.
    draft = AuditDraft(
        chain="3",
        occurred_at=datetime(2025, 3, 1, 9, 30, 0, 120, tzinfo=timezone(timedelta(hours=1))),
        actor="user-17",
        organisation="3",
        action="case.read",
        record_type="case",
        record_ids=("c-1", "c-2"),
        source="203.0.113.5",
        outcome="ok",
    )
    genesis = hashlib.sha256(b"continuum-audit-genesis:3").hexdigest()
    by_hand = (
        b'{"action":"case.read","actor":"user-17","chain":"3",'
        b'"occurred_at":"2025-03-01T08:30:00.000120Z","organisation":"3","outcome":"ok",'
        b'"prev_hash":"' + genesis.encode() + b'","record_ids":["c-1","c-2"],'
        b'"record_type":"case","sequence":1,"source":"203.0.113.5"}'
    )
    expected = hashlib.sha256(bytes.fromhex(genesis) + by_hand).hexdigest()

    event = seal(draft, None)

    assert genesis_hash("3") == genesis
    assert canonical_bytes(event) == by_hand
    assert event.hash == expected
    # Pinned, so a change to the encoding cannot pass by changing the hand encoding with it.
    assert expected == "bc54d8313d5e87477ba23c421d9c3c57ad9e47c0cbee3b33790cf58099454170"


def test_canonical_encoding_escapes_non_ascii_the_way_json_dumps_does():
    event = seal(_draft(actor="zoë"), None)

    assert b'"actor":"zo\\u00eb"' in canonical_bytes(event)


def test_same_instant_in_another_time_zone_gives_the_same_hash():
    in_london = _draft(occurred_at=datetime(2025, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    in_utc = _draft(occurred_at=datetime(2025, 7, 1, 9, 0, tzinfo=UTC))

    assert seal(in_london, None).hash == seal(in_utc, None).hash


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _draft(occurred_at=datetime(2025, 3, 1, 9, 30)), id="draft"),
        pytest.param(
            lambda: replace(_sealed(1)[0], occurred_at=datetime(2025, 3, 1, 9, 30)), id="event"
        ),
        pytest.param(
            lambda: sign_checkpoint(_sealed(1)[0], SIGNING_KEY, "k1", datetime(2025, 3, 2)),
            id="checkpoint",
        ),
    ],
)
def test_naive_datetime_is_refused(make: Callable[[], object]):
    with pytest.raises(NaiveTimestamp):
        make()


def test_draft_with_unknown_outcome_is_refused():
    with pytest.raises(UnknownOutcome):
        _draft(outcome="maybe")


def test_record_ids_given_as_one_string_are_refused_and_a_list_becomes_a_tuple():
    with pytest.raises(TypeError):
        _draft(record_ids="case-1")
    assert _draft(record_ids=["a", "b"]).record_ids == ("a", "b")


# --- tampering -----------------------------------------------------------------------------------

# Each edit changes one field of one sealed event, and names the reason verify should give.
EDITS: dict[str, tuple[Callable[[AuditEvent], dict[str, Any]], str]] = {
    "chain": (lambda e: {"chain": OTHER_CHAIN}, WRONG_CHAIN),
    "sequence_up": (lambda e: {"sequence": e.sequence + 1}, SEQUENCE_GAP),
    "sequence_down": (lambda e: {"sequence": e.sequence - 1}, OUT_OF_ORDER),
    "occurred_at": (
        lambda e: {"occurred_at": e.occurred_at + timedelta(microseconds=1)},
        HASH_MISMATCH,
    ),
    "actor": (lambda e: {"actor": e.actor + "x"}, HASH_MISMATCH),
    "organisation": (lambda e: {"organisation": e.organisation + "x"}, HASH_MISMATCH),
    "action": (lambda e: {"action": "case.write"}, HASH_MISMATCH),
    "record_type": (lambda e: {"record_type": "family"}, HASH_MISMATCH),
    "record_ids": (lambda e: {"record_ids": e.record_ids[:-1]}, HASH_MISMATCH),
    "source": (lambda e: {"source": "cli"}, HASH_MISMATCH),
    "outcome": (lambda e: {"outcome": "refused"}, HASH_MISMATCH),
    "prev_hash": (lambda e: {"prev_hash": _flip_hex(e.prev_hash)}, BROKEN_LINK),
    "hash": (lambda e: {"hash": _flip_hex(e.hash)}, HASH_MISMATCH),
}


@pytest.mark.parametrize("index", range(N))
@pytest.mark.parametrize("edit", EDITS)
def test_edited_event_is_detected_and_named(edit, index):
    events = _sealed()
    change, reason = EDITS[edit]
    edited = replace(events[index], **change(events[index]))
    assert edited != events[index]
    events[index] = edited

    assert verify_chain(events, CHAIN) == _failure(index + 1, reason)


def test_every_field_but_the_hash_is_covered_by_an_edit():
    covered = {name.removesuffix("_up").removesuffix("_down") for name in EDITS}

    assert covered == set(AuditEvent.__dataclass_fields__)


@pytest.mark.parametrize("index", range(N - 1))
def test_deleted_event_is_detected_at_its_sequence(index):
    events = _sealed()
    del events[index]

    assert verify_chain(events, CHAIN) == _failure(index + 1, SEQUENCE_GAP)


def test_deleted_last_event_is_caught_by_a_checkpoint_of_it():
    events = _sealed()
    checkpoint = sign_checkpoint(events[-1], SIGNING_KEY, "k1", T0 + timedelta(days=1))
    truncated = events[:-1]

    assert verify_chain(truncated, CHAIN).ok
    assert not checkpoint_matches(checkpoint, truncated)
    assert checkpoint_matches(checkpoint, events)


@pytest.mark.parametrize("index", range(N - 1))
def test_swapped_neighbours_are_detected_as_out_of_order(index):
    events = _sealed()
    events[index], events[index + 1] = events[index + 1], events[index]

    assert verify_chain(events, CHAIN) == _failure(index + 1, OUT_OF_ORDER)


def test_event_moved_to_the_end_is_detected_where_it_was_taken_from():
    events = _sealed()
    events.append(events.pop(1))

    assert verify_chain(events, CHAIN) == _failure(2, SEQUENCE_GAP)


@pytest.mark.parametrize("index", range(N))
def test_inserted_forged_event_is_detected_at_the_event_it_displaced(index):
    # The forgery is sealed properly onto its predecessor, so it is a valid fork on its own; the
    # original event after it is the first one that no longer follows.
    events = _sealed()
    forged = seal(_draft(99), events[index - 1] if index else None)
    events.insert(index, forged)

    assert verify_chain(events, CHAIN) == _failure(index + 2, OUT_OF_ORDER)


@pytest.mark.parametrize("index", range(N))
def test_inserted_event_with_the_rest_renumbered_is_detected(index):
    events = _sealed()
    forged = seal(_draft(99), events[index - 1] if index else None)
    renumbered = [replace(e, sequence=e.sequence + 1) for e in events[index:]]
    tampered = [*events[:index], forged, *renumbered]

    assert verify_chain(tampered, CHAIN) == _failure(index + 2, BROKEN_LINK)


@pytest.mark.parametrize("index", range(N))
def test_event_from_another_chain_is_flagged_by_verify(index):
    events = _sealed()
    events[index] = _sealed(N, OTHER_CHAIN)[index]

    assert verify_chain(events, CHAIN) == _failure(index + 1, WRONG_CHAIN)


def test_whole_chain_verified_as_another_chain_fails_at_the_first_event():
    assert verify_chain(_sealed(), OTHER_CHAIN) == _failure(1, WRONG_CHAIN)


def test_verify_stops_at_the_first_bad_event_without_reading_the_rest():
    events = _sealed()
    events[1] = replace(events[1], actor="someone-else")
    pulled: list[int] = []

    def stream() -> Iterator[AuditEvent]:
        for event in events:
            pulled.append(event.sequence)
            yield event

    assert verify_chain(stream(), CHAIN) == _failure(2, HASH_MISMATCH)
    assert pulled == [1, 2]


# --- properties over arbitrary events ------------------------------------------------------------

_ids = st.text(min_size=1, max_size=12)
_drafts = st.builds(
    AuditDraft,
    chain=st.just(CHAIN),
    occurred_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
        ),
    ),
    actor=_ids,
    organisation=_ids,
    action=_ids,
    record_type=_ids,
    record_ids=st.lists(_ids, max_size=4).map(tuple),
    source=_ids,
    outcome=st.sampled_from(["ok", "refused"]),
)


@QUIET
@given(drafts=st.lists(_drafts, min_size=1, max_size=8), data=st.data())
def test_any_chain_verifies_and_any_edited_actor_is_named(drafts, data):
    events = _reseal(drafts)
    assert verify_chain(events, CHAIN) == VerifyResult(ok=True, checked=len(events))

    index = data.draw(st.integers(0, len(events) - 1), label="index")
    actor = data.draw(_ids.filter(lambda text: text != events[index].actor), label="actor")
    events[index] = replace(events[index], actor=actor)

    assert verify_chain(events, CHAIN) == _failure(index + 1, HASH_MISMATCH)


# --- checkpoints ---------------------------------------------------------------------------------


def _checkpoint(events: list[AuditEvent] | None = None) -> Checkpoint:
    return sign_checkpoint((events or _sealed())[-1], SIGNING_KEY, "k1", T0 + timedelta(days=1))


def test_rewritten_chain_with_recomputed_hashes_verifies_but_fails_an_earlier_checkpoint():
    events = _sealed()
    at_head = _checkpoint(events)
    before_edit = sign_checkpoint(events[1], SIGNING_KEY, "k1", T0 + timedelta(days=1))
    drafts = [e.as_draft() for e in events]
    drafts[2] = replace(drafts[2], actor="someone-else")
    rewritten = _reseal(drafts)

    assert verify_chain(rewritten, CHAIN).ok
    assert not checkpoint_matches(at_head, rewritten)
    # Controls: the untouched history still matches, as does a checkpoint from before the edit.
    assert checkpoint_matches(at_head, events)
    assert checkpoint_matches(before_edit, rewritten)


def test_chain_that_grew_after_a_checkpoint_still_matches_it():
    events = _sealed()
    checkpoint = _checkpoint(events)
    events.append(seal(_draft(N), events[-1]))

    assert checkpoint_matches(checkpoint, events)


def test_checkpoint_of_another_chain_does_not_match():
    checkpoint = _checkpoint(_sealed(N, OTHER_CHAIN))

    assert not checkpoint_matches(checkpoint, _sealed())


def test_checkpoint_signature_verifies_with_the_signing_key():
    assert verify_checkpoint(_checkpoint(), SIGNING_KEY.public_key())


def test_checkpoint_signature_fails_with_another_key():
    assert not verify_checkpoint(_checkpoint(), OTHER_KEY.public_key())


CHECKPOINT_CHANGES: dict[str, Callable[[Checkpoint], dict[str, Any]]] = {
    "chain": lambda c: {"chain": OTHER_CHAIN},
    "sequence": lambda c: {"sequence": c.sequence + 1},
    "hash": lambda c: {"hash": _flip_hex(c.hash)},
    "signed_at": lambda c: {"signed_at": c.signed_at + timedelta(microseconds=1)},
    "key_id": lambda c: {"key_id": "k2"},
    "signature": lambda c: {"signature": bytes([c.signature[0] ^ 1]) + c.signature[1:]},
}


def test_every_checkpoint_field_is_covered_by_a_change():
    assert set(CHECKPOINT_CHANGES) == set(Checkpoint.__dataclass_fields__)


@pytest.mark.parametrize("field", CHECKPOINT_CHANGES)
def test_changed_checkpoint_fails_signature_check(field):
    checkpoint = _checkpoint()
    changed = replace(checkpoint, **CHECKPOINT_CHANGES[field](checkpoint))

    assert changed != checkpoint
    assert not verify_checkpoint(changed, SIGNING_KEY.public_key())


def test_checkpoint_survives_export_to_json_and_back():
    checkpoint = _checkpoint()

    exported = json.loads(json.dumps(checkpoint.to_dict()))
    restored = Checkpoint.from_dict(exported)

    assert restored == checkpoint
    assert verify_checkpoint(restored, SIGNING_KEY.public_key())
    assert exported["signed_at"] == "2025-03-02T09:30:00.000000Z"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d.pop("key_id"), id="missing-field"),
        pytest.param(lambda d: d.update(extra="x"), id="extra-field"),
        pytest.param(lambda d: d.update(signature="not base64!"), id="bad-base64"),
        pytest.param(lambda d: d.update(sequence="6"), id="sequence-as-text"),
        pytest.param(lambda d: d.update(sequence=True), id="sequence-as-bool"),
        pytest.param(lambda d: d.update(sequence=0), id="sequence-zero"),
        pytest.param(lambda d: d.update(hash=None), id="hash-not-text"),
        pytest.param(lambda d: d.update(signed_at="2025-03-02T09:30:00"), id="signed-at-naive"),
        pytest.param(lambda d: d.update(signed_at="yesterdayZ"), id="signed-at-garbage"),
    ],
)
def test_malformed_checkpoint_export_is_refused(damage):
    exported = _checkpoint().to_dict()
    damage(exported)

    with pytest.raises(MalformedCheckpoint):
        Checkpoint.from_dict(exported)
