"""The hand-written floor of bench/load.py (issue 13): the API family read with no framework.

The same request as ``GET /api/v1/cases/<id>/family`` (a personal token, the case, its family
and every record the family file shows, each encrypted field opened with AES-256-GCM under the
charity's data key, one audit event appended to the charity's SHA-256 hash chain, one commit),
written as plain WSGI on ``sqlite3`` or ``psycopg`` with ``cryptography``: no Flask, no
SQLAlchemy, no walls (no tenant context, no ORM guard, no row-level security: on PostgreSQL it
connects as the superuser), no marshmallow schema. Served by gunicorn with the app's own settings
(config/gunicorn.conf.py), so the ratio compares the app's cost with the least a hand-written
service would pay for the same answer.

    BENCH_FLOOR_DATABASE   sqlite:///path or postgresql://user@host:port/db (the superuser)
    BENCH_FLOOR_ROOT_KEY   the instance's root key file (32 raw bytes)

It writes real audit events: each is sealed onto the last one as app.domain.audit_chain
documents, so ``continuum audit verify`` still passes after a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.domain.clock import Clock, system_clock

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_FAMILY = re.compile(r"^/api/v1/cases/([0-9a-fA-F-]{36})/family$")
_GENESIS = b"continuum-audit-genesis:"


def _canonical(*parts: bytes) -> bytes:
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class _Database:
    """One connection per gunicorn thread, kept open, on SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self._url = url
        self._local = threading.local()

    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.sqlite:
                conn = sqlite3.connect(
                    self._url.removeprefix("sqlite:///"),
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=5000")
            else:
                import psycopg

                conn = psycopg.connect(self._url)
            self._local.conn = conn
        return conn

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        return list(self.connection().execute(sql, params).fetchall())

    def id(self, value: uuid.UUID) -> Any:
        """How the database stores an id: 32 hex digits on SQLite, a uuid on PostgreSQL."""
        return value.hex if self.sqlite else value


class _Opener:
    """The charity's data keys, read and unwrapped per request as the app does; fields opened
    with the associated data app.security.keyring binds (charity, table, column, row, version)."""

    def __init__(self, root: bytes, charity: uuid.UUID, wrapped: Iterable[tuple[Any, ...]]) -> None:
        aead = AESGCM(root)
        self._charity = charity
        self._keys = {}
        for version, blob in wrapped:
            blob = bytes(blob)
            context = _canonical(b"continuum:data-key", charity.bytes, version.to_bytes(4, "big"))
            self._keys[version] = AESGCM(aead.decrypt(blob[:12], blob[12:], context))

    def open(self, table: str, column: str, row_id: Any, blob: Any) -> str | None:
        if blob is None:
            return None
        blob = bytes(blob)
        version = int.from_bytes(blob[1:5], "big")
        aad = _canonical(
            blob[:1],
            self._charity.bytes,
            table.encode(),
            column.encode(),
            _uuid(row_id).bytes,
            blob[1:5],
        )
        return self._keys[version].decrypt(blob[5:17], blob[17:], aad).decode()


def _names(db: _Database, ids: set[Any], charity: uuid.UUID) -> dict[Any, str]:
    wanted = [db.id(_uuid(i)) for i in ids if i is not None]
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.rows(
        "SELECT u.id, u.display_name, u.organisation_id, o.name FROM users u "
        f"JOIN organisations o ON o.id = u.organisation_id WHERE u.id IN ({marks})",
        *wanted,
    )
    return {
        _uuid(i): name if _uuid(org) == charity else f"{other} staff"
        for i, name, org, other in rows
    }


def _append_audit(
    db: _Database, now: datetime, charity: uuid.UUID, actor: uuid.UUID, case: uuid.UUID, source: str
) -> None:
    """The event as app.domain.audit_chain seals it, under the chain's lock, then commit."""
    chain = str(charity)
    conn = db.connection()
    if db.sqlite:
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (chain,))
    last = db.rows(
        "SELECT sequence, hash FROM audit_events WHERE chain = ? ORDER BY sequence DESC LIMIT 1",
        chain,
    )
    if last:
        sequence, prev = last[0][0] + 1, last[0][1]
    else:
        sequence, prev = 1, hashlib.sha256(_GENESIS + chain.encode()).hexdigest()
    fields = {
        "action": "case.read",
        "actor": str(actor),
        "chain": chain,
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "organisation": chain,
        "outcome": "ok",
        "prev_hash": prev,
        "record_ids": [str(case)],
        "record_type": "case",
        "sequence": sequence,
        "source": source,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(bytes.fromhex(prev) + canonical.encode()).hexdigest()
    at: Any = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if db.sqlite else now
    db.rows(
        "INSERT INTO audit_events (id, chain, sequence, occurred_at, actor, organisation, action,"
        " record_type, record_ids, source, outcome, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + ("" if db.sqlite else " RETURNING id"),
        db.id(uuid.uuid4()),
        chain,
        sequence,
        at,
        str(actor),
        chain,
        "case.read",
        "case",
        json.dumps([str(case)], separators=(",", ":")),
        source,
        "ok",
        prev,
        digest,
    )
    conn.commit()


def read_family(
    db: _Database, root: bytes, clock: Clock, secret: str, case_id: uuid.UUID, source: str
) -> dict[str, Any] | None:
    """The family file as JSON-ready data, or None for no token or no such case."""
    now = clock()
    token = db.rows(
        "SELECT t.user_id, t.revoked_at, t.expires_at, u.active FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    if not token or token[0][1] is not None or not token[0][3]:
        return None
    expires = token[0][2]
    if isinstance(expires, str):
        expires = datetime.fromisoformat(expires).replace(tzinfo=UTC)
    if expires <= now:
        return None
    actor = _uuid(token[0][0])
    found = db.rows(
        "SELECT id, charity_id, prison_code, reference, status, opened_on, closed_on, family_id,"
        " referral_source, key_worker_id, safeguarding, review_due_on, closure_reason,"
        " created_at FROM cases WHERE id = ?",
        db.id(case_id),
    )
    if not found:
        return None
    case = found[0]
    charity, family = _uuid(case[1]), case[7]
    transfers = db.rows(
        "SELECT id, state, receiver_prison_code, created_at FROM case_transfers"
        " WHERE sender_case_id = ? ORDER BY created_at DESC",
        db.id(case_id),
    )
    person_id = db.rows("SELECT person_in_custody_id FROM families WHERE id = ?", family)[0][0]
    person = db.rows(
        "SELECT id, name_enc, prison_number_enc, date_of_birth_enc, expected_release_on,"
        " prison_code FROM people_in_custody WHERE id = ?",
        person_id,
    )[0]
    members = db.rows(
        "SELECT id, kind, relationship, is_main_contact, age_band, name_enc, date_of_birth_enc,"
        " phone_enc, email_enc, address_enc FROM family_members WHERE family_id = ?"
        " ORDER BY is_main_contact DESC, kind, created_at",
        family,
    )
    needs = db.rows("SELECT need FROM case_needs WHERE case_id = ? ORDER BY need", case[0])
    contacts = db.rows(
        "SELECT id, kind, occurred_on, first_time_visitor, children_present, children_count,"
        " duration_minutes, summary_enc, recorded_by FROM contacts WHERE case_id = ?"
        " ORDER BY occurred_on DESC, created_at DESC",
        case[0],
    )
    assessments = db.rows(
        "SELECT id, framework, assessed_on, recorded_by FROM outcome_assessments"
        " WHERE case_id = ? ORDER BY assessed_on, created_at",
        case[0],
    )
    scores: dict[Any, dict[str, int]] = {a[0]: {} for a in assessments}
    if assessments:
        marks = ",".join("?" * len(scores))
        for assessment, area, score in db.rows(
            "SELECT assessment_id, area, score FROM outcome_scores"
            f" WHERE assessment_id IN ({marks})",
            *scores,
        ):
            scores[assessment][area] = score
    actions = db.rows(
        "SELECT id, description_enc, owner, due_on, status, completed_on, created_at"
        " FROM action_items WHERE case_id = ? ORDER BY status, due_on, created_at",
        case[0],
    )
    notes = db.rows(
        "SELECT id, body_enc, written_at, written_by FROM case_notes WHERE case_id = ?"
        " ORDER BY written_at DESC",
        case[0],
    )
    consents = db.rows(
        "SELECT id, subject, family_member_id, purpose, categories, decision, method,"
        " verification, valid_from, expires_on, withdraws_id, recorded_by, recorded_at"
        " FROM consents WHERE case_id = ? ORDER BY recorded_at DESC",
        case[0],
    )
    others = db.rows(
        "SELECT id, reference, status, opened_on FROM cases WHERE family_id = ? AND id != ?"
        " ORDER BY opened_on DESC",
        family,
        case[0],
    )
    names = _names(
        db,
        {case[9], *(c[8] for c in contacts), *(a[3] for a in assessments)}
        | {n[3] for n in notes}
        | {c[11] for c in consents},
        charity,
    )
    opener = _Opener(
        root,
        charity,
        db.rows(
            "SELECT version, wrapped FROM data_keys WHERE charity_id = ? ORDER BY version",
            db.id(charity),
        ),
    )

    def who(user: Any) -> str:
        return names.get(_uuid(user), "") if user is not None else ""

    document = {
        "case": {
            "id": str(_uuid(case[0])),
            "prison_code": case[2],
            "reference": case[3],
            "status": case[4],
            "opened_on": _text(case[5]),
            "closed_on": _text(case[6]),
            "referral_source": case[8],
            "key_worker_id": str(_uuid(case[9])) if case[9] else None,
            "safeguarding": bool(case[10]),
            "review_due_on": _text(case[11]),
            "closure_reason": case[12],
            "created_at": _text(case[13]),
        },
        "family_id": str(_uuid(family)),
        "person": {
            "name": opener.open("people_in_custody", "name", person[0], person[1]),
            "prison_number": opener.open(
                "people_in_custody", "prison_number", person[0], person[2]
            ),
            "date_of_birth": opener.open(
                "people_in_custody", "date_of_birth", person[0], person[3]
            ),
            "expected_release_on": _text(person[4]),
            "prison_code": person[5],
        },
        "members": [
            {
                "id": str(_uuid(m[0])),
                "kind": m[1],
                "relationship": m[2],
                "is_main_contact": bool(m[3]),
                "age_band": m[4],
                **{
                    column: opener.open("family_members", column, m[0], blob)
                    for column, blob in zip(
                        ("name", "date_of_birth", "phone", "email", "address"), m[5:], strict=True
                    )
                },
            }
            for m in members
        ],
        "needs": [n[0] for n in needs],
        "contacts": [
            {
                "id": str(_uuid(c[0])),
                "kind": c[1],
                "occurred_on": _text(c[2]),
                "first_time_visitor": bool(c[3]),
                "children_present": bool(c[4]),
                "children_count": c[5],
                "duration_minutes": c[6],
                "summary": opener.open("contacts", "summary", c[0], c[7]),
                "recorded_by": who(c[8]),
            }
            for c in contacts
        ],
        "assessments": [
            {
                "id": str(_uuid(a[0])),
                "framework": a[1],
                "assessed_on": _text(a[2]),
                "scores": scores[a[0]],
                "recorded_by": who(a[3]),
            }
            for a in assessments
        ],
        "actions": [
            {
                "id": str(_uuid(a[0])),
                "description": opener.open("action_items", "description", a[0], a[1]),
                "owner": a[2],
                "due_on": _text(a[3]),
                "status": a[4],
                "completed_on": _text(a[5]),
            }
            for a in actions
        ],
        "notes": [
            {
                "id": str(_uuid(n[0])),
                "body": opener.open("case_notes", "body", n[0], n[1]),
                "written_at": _text(n[2]),
                "written_by": who(n[3]),
            }
            for n in notes
        ],
        "consents": [
            {
                "id": str(_uuid(c[0])),
                "subject": c[1],
                "family_member_id": str(_uuid(c[2])) if c[2] else None,
                "purpose": c[3],
                "categories": [part for part in c[4].split(",") if part],
                "decision": c[5],
                "method": c[6],
                "verification": c[7],
                "valid_from": _text(c[8]),
                "expires_on": _text(c[9]),
                "withdraws_id": str(_uuid(c[10])) if c[10] else None,
                "recorded_by": who(c[11]),
                "recorded_at": _text(c[12]),
            }
            for c in consents
        ],
        "other_cases": [
            {"id": str(_uuid(o[0])), "reference": o[1], "status": o[2], "opened_on": _text(o[3])}
            for o in others
        ],
        "transfers": [
            {"id": str(_uuid(t[0])), "state": t[1], "receiver_prison_code": t[2]} for t in transfers
        ],
    }
    document["timeline"] = _timeline(document)
    _append_audit(db, now, charity, actor, _uuid(case[0]), source)
    return document


def _timeline(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The family page's timeline, newest first, from what the document already holds."""
    names = {m["id"]: m["name"] for m in document["members"]}
    case = document["case"]
    entries = [(case["opened_on"], "case_opened", "Case opened", None, None, case["id"])]
    entries += [
        (
            c["occurred_on"],
            f"contact:{c['kind']}",
            c["kind"],
            c["summary"],
            c["recorded_by"],
            c["id"],
        )
        for c in document["contacts"]
    ]
    entries += [
        (a["assessed_on"], "assessment", "Outcome assessment", None, a["recorded_by"], a["id"])
        for a in document["assessments"]
    ]
    entries += [
        (n["written_at"][:10], "note", "Case note", n["body"], n["written_by"], n["id"])
        for n in document["notes"]
    ]
    entries += [
        (
            c["valid_from"],
            f"consent:{c['decision']}",
            c["purpose"],
            names.get(c["family_member_id"]) if c["family_member_id"] else "Person in custody",
            c["recorded_by"],
            c["id"],
        )
        for c in document["consents"]
    ]
    entries.sort(key=lambda e: (e[0], e[1] != "case_opened"), reverse=True)
    keys = ("on", "kind", "title", "detail", "by", "record_id")
    return [dict(zip(keys, entry, strict=True)) for entry in entries]


def create(clock: Clock = system_clock) -> Callable[..., Iterable[bytes]]:
    """The floor as a WSGI app, dated by ``clock`` as the service is (create_app's default)."""
    db = _Database(os.environ["BENCH_FLOOR_DATABASE"])
    with open(os.environ["BENCH_FLOOR_ROOT_KEY"], "rb") as handle:
        root = handle.read()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        found = _FAMILY.match(path)
        scheme, _, secret = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        document = None
        try:
            if found and scheme.lower() == "bearer" and secret.strip():
                document = read_family(
                    db,
                    root,
                    clock,
                    secret.strip(),
                    uuid.UUID(found.group(1)),
                    environ.get("REMOTE_ADDR", "unknown"),
                )
        finally:
            if document is None:
                # Nothing half done stays open for the thread's next request.
                db.connection().rollback()
        if document is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not found"}']
        body = json.dumps(document, sort_keys=True).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app
