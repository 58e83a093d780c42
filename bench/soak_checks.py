"""What the soak (bench/soak.py) finds in PostgreSQL afterwards, read as the superuser (row-level
security does not apply to it; it reads every charity's rows) with the charities' keys from the
instance folder's root key, so encrypted notes and contact summaries can be searched for markers.

Nothing here goes through the service: the point is to compare what the clients were told with
what the database holds.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import make_engine, make_session_factory
from app.models import AuditEntry, Base, CaseNote, Contact
from app.security.keyring import FieldDecryptionError, LocalRootKey
from app.services.platform.vault import vault_for
from bench.soak_traffic import KINDS, MARKER_RE, Recorder, User


@dataclass
class Findings:
    """The counts printed at the end, and every violation found (empty when all held)."""

    counts: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def violated(self, message: str) -> None:
        self.violations.append(message)


@dataclass(frozen=True)
class Stored:
    """One note or contact found carrying a marker."""

    marker: str
    kind: str
    row_id: uuid.UUID
    case_id: uuid.UUID
    charity_id: uuid.UUID


def read_back(url: str, root_key: Path, recorder: Recorder, users: tuple[User, ...]) -> Findings:
    """Every check on the database after the run; ``url`` is the superuser's."""
    findings = Findings()
    engine = make_engine(url)
    try:
        with make_session_factory(engine, walls=False)() as session:
            slugs = {
                row.id: row.slug
                for row in session.execute(text("SELECT id, slug FROM organisations"))
            }
            stored = _markers(session, root_key, findings)
            _writes(recorder, stored, slugs, findings)
            _audited(session, stored, findings)
            _transfers(session, recorder, findings)
            _walls(session, recorder, users, slugs, findings)
    finally:
        engine.dispose()
    return findings


def _markers(session: Session, root_key: Path, findings: Findings) -> list[Stored]:
    """Every marker in a note's body or a contact's summary, decrypted with the charity's key."""
    vault = vault_for(session, LocalRootKey.from_file(root_key))
    found = []
    sealed: tuple[tuple[Any, str, str], ...] = (
        (CaseNote, "note", "body"),
        (Contact, "contact", "summary"),
    )
    for model, kind, column in sealed:
        for row in session.scalars(select(model)):
            try:
                plain = vault.open(row, column) or ""
            except FieldDecryptionError:
                findings.violated(f"{kind} {row.id} does not decrypt")
                continue
            for match in MARKER_RE.finditer(plain):
                found.append(Stored(match.group(0), kind, row.id, row.case_id, row.charity_id))
    return found


def _writes(
    recorder: Recorder, stored: list[Stored], slugs: dict[uuid.UUID, str], findings: Findings
) -> None:
    """A 2xx write is there exactly once, on its case and charity, however many tries it took
    (each try carried the same ``Idempotency-Key``, so a retry of a write that was done wrote
    nothing); an error's is not there, unless an earlier try went unanswered or 5xx (then once
    or not at all); an unanswered one is there once or not at all; nothing is there that nobody
    sent. Writes answered only after a retry are tallied apart ("ok retry", "error retry"); an
    unknown one was always tried the most times."""
    where: dict[str, list[Stored]] = {}
    for row in stored:
        where.setdefault(row.marker, []).append(row)
    table: dict[tuple[str, str], Counter[str]] = {}
    sent = {write.marker for write in recorder.writes}
    for write in recorder.writes:
        rows = where.get(write.marker, [])
        retried = write.tries > 1 and write.outcome != "unknown"
        label = f"{write.outcome} retry" if retried else write.outcome
        tally = table.setdefault((write.kind, label), Counter())
        tally["sent"] += 1
        tally[f"present {min(len(rows), 2)}"] += 1
        # An unanswered or 5xx try may have written before a later try was refused.
        maybe = write.outcome == "unknown" or (write.outcome == "error" and write.tries > 1)
        expected = (0, 1) if maybe else (1,) if write.outcome == "ok" else (0,)
        if len(rows) not in expected:
            findings.violated(
                f"{write.kind} {write.marker} ({write.outcome}, {write.detail}, {write.user}) "
                f"is stored {len(rows)} times"
            )
        for row in rows:
            if str(row.case_id) != write.case_id or slugs.get(row.charity_id) != write.charity:
                findings.violated(f"{write.marker} is stored on another case or charity")
            if KINDS[write.marker.split("-")[2]] != row.kind:
                findings.violated(f"{write.marker} is stored as a {row.kind}")
    for marker in sorted(set(where) - sent):
        findings.violated(f"{marker} is stored but was never sent")
    findings.counts["writes"] = table


def _audited(session: Session, stored: list[Stored], findings: Findings) -> None:
    """Each stored write has its one audit event (same transaction), and no create event names
    a note or contact that is not there (an event that outlived its rolled-back write)."""
    named: Counter[str] = Counter()
    events = session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(("note.create", "contact.create")))
    )
    for event in events:
        named[json.loads(event.record_ids)[-1]] += 1
    missing = [row.marker for row in stored if named[str(row.row_id)] != 1]
    if missing:
        findings.violated(f"{len(missing)} stored writes without exactly one audit event")
    rows = {str(i) for i in session.scalars(select(CaseNote.id))}
    rows |= {str(i) for i in session.scalars(select(Contact.id))}
    orphans = sorted(set(named) - rows)
    if orphans:
        findings.violated(f"{len(orphans)} create events name no stored row: {orphans[:3]}")
    findings.counts["audited writes"] = len(stored) - len(missing)


TRANSFERS = text(
    """
    SELECT t.id, t.state, s.status AS sender_status,
           (SELECT count(*) FROM cases r WHERE r.transfer_id = t.id) AS received,
           (SELECT count(*) FROM cases r WHERE r.transfer_id = t.id
              AND r.charity_id = t.receiver_charity_id
              AND r.transferred_from_charity_id = t.sender_charity_id
              AND r.prison_code = t.receiver_prison_code) AS with_provenance,
           (SELECT count(*) FROM case_transfer_steps st
             WHERE st.transfer_id = t.id AND st.state = 'accepted') AS accept_steps
      FROM case_transfers t
      LEFT JOIN cases s ON s.id = t.sender_case_id AND s.charity_id = t.sender_charity_id
    """
)
ORPHANED_OUT = text(
    """
    SELECT c.id FROM cases c
     WHERE c.status = 'transferred_out'
       AND (SELECT count(*) FROM case_transfers t
             WHERE t.sender_case_id = c.id AND t.state = 'accepted') <> 1
    """
)


def _transfers(session: Session, recorder: Recorder, findings: Findings) -> None:
    """Every transfer in the database is whole or not begun: accepted means exactly one
    receiving case with its provenance, one accept step and the sender's case transferred out;
    anything else means no receiving case and the sender's case still its own."""
    states: dict[str, str] = {}
    half = 0
    for row in session.execute(TRANSFERS):
        states[str(row.id)] = row.state
        if row.state == "accepted":
            whole = (row.received, row.with_provenance, row.accept_steps) == (1, 1, 1) and (
                row.sender_status == "transferred_out"
            )
        else:
            whole = row.received == 0 and row.accept_steps == 0
            whole = whole and row.sender_status != "transferred_out"
        if not whole:
            half += 1
            findings.violated(f"transfer {row.id} ({row.state}) is half done: {dict(row._mapping)}")
    for (case_id,) in session.execute(ORPHANED_OUT):
        half += 1
        findings.violated(f"case {case_id} is transferred out without one accepted transfer")
    runs: Counter[str] = Counter()
    for run in recorder.transfers:
        runs[f"accept {run.accept or 'not sent'}"] += 1
        state = states.get(run.transfer_id or "", "none")
        runs[f"now {state}"] += 1
        if run.accept == "ok" and state != "accepted":
            findings.violated(f"transfer {run.transfer_id} was accepted (2xx) but is {state}")
        if run.accept_tries > 1:
            runs["accept retried"] += 1
        if run.reached != "accepted":
            runs[f"stopped: {run.reached}"] += 1
    findings.counts["transfers"] = {
        "in database": len(states),
        "accepted in database": sum(s == "accepted" for s in states.values()),
        "half done": half,
        "soak runs": len(recorder.transfers),
        **dict(sorted(runs.items())),
    }


def _owners(session: Session) -> dict[bytes, tuple[uuid.UUID, str | None, str]]:
    """Every id a charity owns: its charity, its prison (where the row has one) and table."""
    owners: dict[bytes, tuple[uuid.UUID, str | None, str]] = {}
    for table in Base.metadata.sorted_tables:
        columns = set(table.columns.keys())
        if "id" not in columns:
            continue
        owner = "charity_id" if "charity_id" in columns else None
        if table.name == "users":
            owner = "organisation_id"
        if owner is None:
            continue
        prison = "prison_code" if "prison_code" in columns else "NULL"
        query = f"SELECT id, {owner}, {prison} FROM {table.name}"
        for row_id, charity_id, prison_code in session.execute(text(query)):
            owners[str(row_id).encode()] = (charity_id, prison_code, table.name)
    return owners


def _walls(
    session: Session,
    recorder: Recorder,
    users: tuple[User, ...],
    slugs: dict[uuid.UUID, str],
    findings: Findings,
) -> None:
    """No id or marker of another charity in anything a user received; and (the prison wall)
    no id of a row at a prison the user does not work at."""
    owners = _owners(session)
    prisons = {user.key: set(user.prisons) for user in users}
    charity = {user.key: user.charity for user in users}
    foreign = other_prison = tokens = 0
    for key, seen in recorder.seen.items():
        tokens += len(seen)
        for token in seen:
            found = MARKER_RE.fullmatch(token.decode())
            if found:
                owner_slug, prison, table = found.group(1), None, "marker"
            elif token in owners:
                owner_id, prison, table = owners[token]
                owner_slug = slugs.get(owner_id, str(owner_id))
            else:
                continue
            if owner_slug != charity[key]:
                foreign += 1
                findings.violated(f"{key} received {owner_slug}'s {table} {token.decode()}")
            elif prison is not None and prison not in prisons[key] and table != "services":
                other_prison += 1
                findings.violated(f"{key} received {table} {token.decode()} at {prison}")
    findings.counts["walls"] = {
        "responses": recorder.bodies,
        "distinct ids and markers seen": tokens,
        "another charity's": foreign,
        "another prison's": other_prison,
    }
