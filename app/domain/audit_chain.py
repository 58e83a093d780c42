"""The audit log as hash chains: one chain per charity and one for platform events.

Each event is sealed onto the one before it in its chain, so an edit, a deletion, a reordering or
an insertion breaks the chain at a place `verify_chain` can name. Signed checkpoints, kept outside
the database, catch the one attack the chain alone cannot: a history rewritten with every hash
recomputed.

Encoding, for a verifier written elsewhere to reproduce (see DESIGN.md section 8):

- Canonical bytes of an event: every field except ``hash`` as a JSON object, keys sorted, no
  whitespace, non-ASCII escaped as ``\\uXXXX`` (Python's
  ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``), UTF-8 encoded.
  Keys: action, actor, chain, occurred_at, organisation, outcome, prev_hash, record_ids,
  record_type, sequence, source. ``sequence`` is a JSON integer, ``record_ids`` a JSON list of
  strings, ``occurred_at`` the instant in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six
  digits of microseconds), every other field a JSON string.
- Genesis: the ``prev_hash`` of sequence 1 is
  ``sha256(b"continuum-audit-genesis:" + chain.encode("utf-8")).hexdigest()``.
- Event hash: ``sha256(bytes.fromhex(prev_hash) + canonical_bytes).hexdigest()``, i.e. the raw 32
  bytes of the previous hash, not its hex text.
- Checkpoint signature: Ed25519 over ``b"continuum-audit-checkpoint:"`` followed by the same JSON
  encoding of ``{"chain", "hash", "key_id", "sequence", "signed_at"}`` (``signed_at`` in the
  ``occurred_at`` format). The export dict holds those five fields plus ``signature`` in standard
  base64 with padding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.domain.errors import ChainMismatch, MalformedCheckpoint, NaiveTimestamp, UnknownOutcome

PLATFORM_CHAIN = "platform"
OUTCOMES = frozenset({"ok", "refused"})

GENESIS_PREFIX = b"continuum-audit-genesis:"
CHECKPOINT_PREFIX = b"continuum-audit-checkpoint:"

HASH_MISMATCH = "hash mismatch"
BROKEN_LINK = "broken link"
SEQUENCE_GAP = "sequence gap"
OUT_OF_ORDER = "out of order"
WRONG_CHAIN = "wrong chain"

_CHECKPOINT_KEYS = frozenset({"chain", "sequence", "hash", "signed_at", "signature", "key_id"})


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveTimestamp(moment.isoformat())
    return moment.astimezone(UTC)


def _timestamp_text(moment: datetime) -> str:
    # isoformat pads the year to four digits, where strftime("%Y") does not on every platform.
    return _utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _record_ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str | bytes):
        raise TypeError("record_ids must be a sequence of ids, not one string")
    return tuple(value)


def _json_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def genesis_hash(chain: str) -> str:
    """The prev_hash of the first event in ``chain``."""
    return hashlib.sha256(GENESIS_PREFIX + chain.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditDraft:
    """An event as a use case reports it, before it has a place in its chain."""

    chain: str
    occurred_at: datetime
    actor: str
    organisation: str
    action: str
    record_type: str
    record_ids: tuple[str, ...]
    source: str
    outcome: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", _utc(self.occurred_at))
        object.__setattr__(self, "record_ids", _record_ids(self.record_ids))
        if self.outcome not in OUTCOMES:
            raise UnknownOutcome(self.outcome)


@dataclass(frozen=True)
class AuditEvent:
    """A sealed event: ids only, never personal data.

    Unlike a draft, the outcome is not checked here: a tampered row must still load so that
    `verify_chain` can report it as a hash mismatch rather than fail to read it.
    """

    chain: str
    sequence: int
    occurred_at: datetime
    actor: str
    organisation: str
    action: str
    record_type: str
    record_ids: tuple[str, ...]
    source: str
    outcome: str
    prev_hash: str
    hash: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", _utc(self.occurred_at))
        object.__setattr__(self, "record_ids", _record_ids(self.record_ids))

    def as_draft(self) -> AuditDraft:
        """The event without its place in the chain: what re-sealing it elsewhere starts from."""
        return AuditDraft(
            chain=self.chain,
            occurred_at=self.occurred_at,
            actor=self.actor,
            organisation=self.organisation,
            action=self.action,
            record_type=self.record_type,
            record_ids=self.record_ids,
            source=self.source,
            outcome=self.outcome,
        )


def canonical_bytes(event: AuditEvent) -> bytes:
    """The documented encoding of every field of ``event`` except its hash."""
    return _json_bytes(
        {
            "action": event.action,
            "actor": event.actor,
            "chain": event.chain,
            "occurred_at": _timestamp_text(event.occurred_at),
            "organisation": event.organisation,
            "outcome": event.outcome,
            "prev_hash": event.prev_hash,
            "record_ids": list(event.record_ids),
            "record_type": event.record_type,
            "sequence": event.sequence,
            "source": event.source,
        }
    )


def compute_hash(event: AuditEvent) -> str:
    """The hash ``event`` should carry, given its other fields."""
    return hashlib.sha256(bytes.fromhex(event.prev_hash) + canonical_bytes(event)).hexdigest()


def seal(draft: AuditDraft, previous: AuditEvent | None) -> AuditEvent:
    """Place ``draft`` after ``previous`` (None for the first event) in its chain."""
    if previous is not None and previous.chain != draft.chain:
        raise ChainMismatch(f"{draft.chain!r} after an event of {previous.chain!r}")
    unsealed = AuditEvent(
        chain=draft.chain,
        sequence=1 if previous is None else previous.sequence + 1,
        occurred_at=draft.occurred_at,
        actor=draft.actor,
        organisation=draft.organisation,
        action=draft.action,
        record_type=draft.record_type,
        record_ids=draft.record_ids,
        source=draft.source,
        outcome=draft.outcome,
        prev_hash=genesis_hash(draft.chain) if previous is None else previous.hash,
        hash="",
    )
    return replace(unsealed, hash=compute_hash(unsealed))


@dataclass(frozen=True)
class VerifyResult:
    """What `verify_chain` found: ``first_bad_sequence`` is the position (1-based) at which the
    chain stops following from the events before it, and ``checked`` how many events did."""

    ok: bool
    checked: int
    first_bad_sequence: int | None = None
    reason: str | None = None


def verify_chain(events: Iterable[AuditEvent], chain: str) -> VerifyResult:
    """Check that ``events``, in the order given, are the intact chain ``chain`` from sequence 1.

    Streams: holds one event and the one after it. A deleted last event is invisible here; a
    checkpoint (`checkpoint_matches`) is what detects a truncated or recomputed history.
    """
    stream = iter(events)
    expected_sequence = 1
    expected_prev = genesis_hash(chain)
    for event in stream:
        reason = _first_fault(event, chain, expected_sequence, expected_prev, stream)
        if reason is not None:
            return VerifyResult(False, expected_sequence - 1, expected_sequence, reason)
        expected_sequence += 1
        expected_prev = event.hash
    return VerifyResult(True, expected_sequence - 1)


def _first_fault(
    event: AuditEvent,
    chain: str,
    expected_sequence: int,
    expected_prev: str,
    rest: Iterator[AuditEvent],
) -> str | None:
    if event.chain != chain:
        return WRONG_CHAIN
    if event.sequence < expected_sequence:
        return OUT_OF_ORDER
    if event.sequence > expected_sequence:
        # The missing event may simply come next (two neighbours swapped); look one ahead to say so.
        following = next(rest, None)
        if following is not None and following.sequence == expected_sequence:
            return OUT_OF_ORDER
        return SEQUENCE_GAP
    if event.prev_hash != expected_prev:
        return BROKEN_LINK
    if compute_hash(event) != event.hash:
        return HASH_MISMATCH
    return None


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that ``chain`` had ``hash`` at ``sequence``, to be kept elsewhere."""

    chain: str
    sequence: int
    hash: str
    signed_at: datetime
    signature: bytes = field(repr=False)
    key_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "signed_at", _utc(self.signed_at))

    def signed_bytes(self) -> bytes:
        """The bytes the signature covers (documented in this module's docstring)."""
        return CHECKPOINT_PREFIX + _json_bytes(
            {
                "chain": self.chain,
                "hash": self.hash,
                "key_id": self.key_id,
                "sequence": self.sequence,
                "signed_at": _timestamp_text(self.signed_at),
            }
        )

    def to_dict(self) -> dict[str, str | int]:
        """A JSON-able export of the checkpoint."""
        return {
            "chain": self.chain,
            "sequence": self.sequence,
            "hash": self.hash,
            "signed_at": _timestamp_text(self.signed_at),
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "key_id": self.key_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Checkpoint:
        """Read back an export made by `to_dict`; refuses missing, extra or mistyped fields."""
        if set(data) != _CHECKPOINT_KEYS:
            raise MalformedCheckpoint(f"fields must be exactly {sorted(_CHECKPOINT_KEYS)}")
        chain, digest, key_id = data["chain"], data["hash"], data["key_id"]
        sequence, signed_at, signature = data["sequence"], data["signed_at"], data["signature"]
        if not (
            isinstance(chain, str)
            and isinstance(digest, str)
            and isinstance(key_id, str)
            and isinstance(signed_at, str)
            and isinstance(signature, str)
        ):
            raise MalformedCheckpoint("chain, hash, signed_at, signature and key_id are strings")
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise MalformedCheckpoint("sequence must be a positive integer")
        if not signed_at.endswith("Z"):
            raise MalformedCheckpoint("signed_at must be UTC, ending in Z")
        try:
            when = datetime.fromisoformat(signed_at)
            raw_signature = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise MalformedCheckpoint(str(exc)) from exc
        return cls(
            chain=chain,
            sequence=sequence,
            hash=digest,
            signed_at=when,
            signature=raw_signature,
            key_id=key_id,
        )


def sign_checkpoint(
    last_event: AuditEvent, private_key: Ed25519PrivateKey, key_id: str, now: datetime
) -> Checkpoint:
    """Sign the head of a chain so a later rewrite of anything up to it can be detected."""
    unsigned = Checkpoint(
        chain=last_event.chain,
        sequence=last_event.sequence,
        hash=last_event.hash,
        signed_at=now,
        signature=b"",
        key_id=key_id,
    )
    return replace(unsigned, signature=private_key.sign(unsigned.signed_bytes()))


def verify_checkpoint(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True if ``public_key`` signed exactly this checkpoint."""
    try:
        public_key.verify(checkpoint.signature, checkpoint.signed_bytes())
    except InvalidSignature:
        return False
    return True


def checkpoint_matches(checkpoint: Checkpoint, events: Iterable[AuditEvent]) -> bool:
    """True if the checkpoint's chain still has the checkpoint's hash at its sequence.

    Pair with `verify_chain`: this shows the history up to the checkpoint is the one that was
    signed, and `verify_chain` shows everything after follows from it. Streams.
    """
    for event in events:
        if event.chain == checkpoint.chain and event.sequence == checkpoint.sequence:
            return event.hash == checkpoint.hash
    return False
