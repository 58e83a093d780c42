"""The soak's traffic (bench/soak.py): signed-in users of two charities reading family files and
case lists and writing notes and contacts, and a driver taking a transfer from proposal to
acceptance now and then, each alternately from one charity to the other.

Every write carries a marker of its own in its text (``SOAK-pops-n-000042``) and an
``Idempotency-Key`` of its own, and is retried with that key while unanswered or 5xx (the service
promises that a retry writes nothing twice); it is recorded with what the client learnt of it in
the end: a 2xx, an error status, or no answer at all (the connection was cut or timed out: the
write may or may not have happened), and how many tries that took. Every response body is scanned
for the ids and markers it carries, so that afterwards each can be traced to its charity.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MARKER_RE = re.compile(r"SOAK-([a-z]+)-([nc])-(\d{6})")
KINDS = {"n": "note", "c": "contact"}
# A request left unanswered this long counts as no answer (gunicorn's own timeout is 60 s).
REQUEST_TIMEOUT = 20.0


@dataclass(frozen=True)
class User:
    """One signed-in user: a personal API token for a demo account."""

    charity: str
    username: str
    prisons: tuple[str, ...]
    token: str = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.charity}/{self.username}"


@dataclass(frozen=True)
class Answer:
    """What came back: a status and body, or (``status`` None) no answer and why."""

    status: int | None
    body: bytes = b""
    failure: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """``ok``, ``error`` (an answer that was not 2xx, or a refused connection: the request
        never reached a worker) or ``unknown`` (no answer: it may have been done)."""
        if self.ok:
            return "ok"
        if self.status is not None or self.failure == "ConnectionRefusedError":
            return "error"
        return "unknown"

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Write:
    kind: str  # note, contact
    marker: str
    charity: str
    user: str
    case_id: str
    outcome: str  # ok, error, unknown: what the last try learnt
    detail: str  # the last try's status, or its failure's name
    tries: int = 1  # more than one: an earlier try was unanswered or 5xx, and was retried


@dataclass(frozen=True)
class TransferRun:
    """One transfer the driver took on: how far it got, and what the accept came to."""

    sender: str
    receiver: str
    case_id: str | None
    transfer_id: str | None
    reached: str  # the last step that answered 2xx
    accept: str  # ok, error, unknown, or "" when no accept was sent
    accept_tries: int


class Recorder:
    """Everything the clients learnt, shared between their threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: list[Write] = []
        self.transfers: list[TransferRun] = []
        self.seen: dict[str, set[bytes]] = {}
        self.statuses: dict[str, int] = {}
        self.bodies = 0
        self._serial = itertools.count(1)

    def marker(self, charity: str, kind: str) -> str:
        with self._lock:
            return f"SOAK-{charity}-{kind[0]}-{next(self._serial):06d}"

    def answered(self, user: User, answer: Answer) -> None:
        """Keep the ids and markers in a body the user received (a set per user, not bodies)."""
        found = set(UUID_RE.findall(answer.body))
        text = answer.body.decode(errors="replace")
        found.update(m.group(0).encode() for m in MARKER_RE.finditer(text))
        label = str(answer.status) if answer.status is not None else answer.failure
        with self._lock:
            self.seen.setdefault(user.key, set()).update(found)
            self.statuses[label] = self.statuses.get(label, 0) + 1
            self.bodies += answer.status is not None

    def wrote(self, write: Write) -> None:
        with self._lock:
            self.writes.append(write)

    def transferred(self, run: TransferRun) -> None:
        with self._lock:
            self.transfers.append(run)


class Api:
    """The service on loopback, one connection per request (so a killed worker cuts only the
    requests it held)."""

    def __init__(self, host: str, port: int, recorder: Recorder) -> None:
        self.host, self.port, self.recorder = host, port, recorder

    def call(
        self,
        user: User,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Authorization": f"Bearer {user.token}", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            sent["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.read())
        except (OSError, http.client.HTTPException) as exc:
            answer = Answer(None, failure=type(exc).__name__)
        finally:
            connection.close()
        self.recorder.answered(user, answer)
        return answer


def open_cases(api: Api, user: User, stop: threading.Event) -> list[str]:
    """The user's active cases (first page, newest first), asked until answered."""
    while not stop.is_set():
        answer = api.call(user, "GET", "/api/v1/cases?status=active&per_page=50")
        if answer.ok:
            return [case["id"] for case in answer.json()["items"]]
        time.sleep(1)
    return []


class Caseworker(threading.Thread):
    """One user's day: mostly reading, some notes and contacts on their own open cases."""

    def __init__(
        self, api: Api, user: User, today: str, stop: threading.Event, seed: int, think: float
    ) -> None:
        super().__init__(name=f"soak-{user.key}-{seed}", daemon=True)
        self.api, self.user, self.today, self.stop, self.think = api, user, today, stop, think
        self.random = random.Random(seed)

    def run(self) -> None:
        cases = open_cases(self.api, self.user, self.stop)
        if not cases:
            return
        actions = (self._family, self._list, self._case, self._note, self._contact)
        weights = (35, 15, 10, 25, 15)
        while not self.stop.is_set():
            action = self.random.choices(actions, weights)[0]
            action(self.random.choice(cases))
            self.stop.wait(self.random.uniform(0, 2 * self.think))

    def _family(self, case_id: str) -> None:
        self.api.call(self.user, "GET", f"/api/v1/cases/{case_id}/family")

    def _list(self, _: str) -> None:
        self.api.call(self.user, "GET", f"/api/v1/cases?page={self.random.randint(1, 3)}")

    def _case(self, case_id: str) -> None:
        self.api.call(self.user, "GET", f"/api/v1/cases/{case_id}")

    def _note(self, case_id: str) -> None:
        marker = self.api.recorder.marker(self.user.charity, "note")
        body = {"body": f"Phoned about the visit booking ({marker})."}
        self._write("note", marker, case_id, "notes", body)

    def _contact(self, case_id: str) -> None:
        marker = self.api.recorder.marker(self.user.charity, "contact")
        body = {
            "kind": "phone",
            "occurred_on": self.today,
            "duration_minutes": 10,
            "summary": f"Talked through travel to the prison ({marker}).",
        }
        self._write("contact", marker, case_id, "contacts", body)

    def _write(self, kind: str, marker: str, case_id: str, path: str, body: Any) -> None:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        url = f"/api/v1/cases/{case_id}/{path}"
        answer, tries = until_answered(self.api, self.user, url, key, body)
        detail = str(answer.status) if answer.status is not None else answer.failure
        write = Write(
            kind, marker, self.user.charity, self.user.key, case_id, answer.outcome, detail, tries
        )
        self.api.recorder.wrote(write)


# A write is tried this many times with one key before its outcome is left unknown.
TRIES = 5


def until_answered(
    api: Api, user: User, path: str, key: dict[str, str], body: Any = None
) -> tuple[Answer, int]:
    """POST with one idempotency key until answered other than 5xx (at most TRIES tries, a
    second apart); the last answer and how many tries it took. A retry of a write that was done
    answers as the first did and writes nothing (docs/decisions.md, "Idempotency keys")."""
    for tries in range(1, TRIES + 1):
        answer = api.call(user, "POST", path, body, headers=key)
        if answer.status is not None and not (500 <= answer.status < 600):
            break
        if tries < TRIES:
            time.sleep(1)
    return answer, tries


@dataclass(frozen=True)
class Route:
    """One direction of transfer: who sends from which prison, who accepts at which."""

    sender: User
    receiver: User
    from_prison: str
    to_prison: str
    receiver_charity_id: str


class TransferDriver(threading.Thread):
    """Now and then a new family at the sender's prison, the person in custody's consent to
    the receiving charity, a proposal, an offer and an acceptance, each direction in turn.

    Offer and accept carry an ``Idempotency-Key`` and are retried with the same key when no
    answer came or a 5xx (the service promises exactly once); an earlier step that fails ends
    that transfer where it stands."""

    def __init__(
        self, api: Api, routes: tuple[Route, ...], every: float, stop: threading.Event
    ) -> None:
        super().__init__(name="soak-transfers", daemon=True)
        self.api, self.routes, self.every, self.stop = api, routes, every, stop
        self._numbers = _prison_numbers()

    def run(self) -> None:
        for route in itertools.cycle(self.routes):
            if self.stop.wait(self.every):
                return
            self.api.recorder.transferred(self._one(route))

    def _one(self, route: Route) -> TransferRun:
        progress: dict[str, Any] = {"case_id": None, "transfer_id": None, "reached": "none"}
        accept, tries = "", 0
        try:
            self._take_steps(route, progress)
            key = {"Idempotency-Key": str(uuid.uuid4())}
            path = f"/api/v1/transfers/{progress['transfer_id']}/accept"
            accept, tries = self._exactly_once(route.receiver, path, key)
            if accept == "ok":
                progress["reached"] = "accepted"
        except _Stopped as stopped:
            progress["reached"] += f" (then {stopped.step}: {stopped.detail})"
        return TransferRun(
            route.sender.key,
            route.receiver.key,
            progress["case_id"],
            progress["transfer_id"],
            progress["reached"],
            accept,
            tries,
        )

    def _take_steps(self, route: Route, progress: dict[str, Any]) -> None:
        sender = route.sender
        referral = {
            "prison_code": route.from_prison,
            "referral_source": "prison_staff",
            "person": {
                "name": "Jesse Soaktransfer",
                "prison_number": next(self._numbers),
                "date_of_birth": "1988-02-03",
            },
            "main_contact": {"relationship": "partner", "name": "Kit Soaktransfer"},
        }
        case_id = self._step(sender, "referral", "POST", "/api/v1/cases", referral)["id"]
        progress.update(case_id=case_id, reached="referral")
        case = f"/api/v1/cases/{case_id}"
        family = self._step(sender, "family read", "GET", f"{case}/family")
        contact = next(m["id"] for m in family["members"] if m["is_main_contact"])
        self._step(sender, "contact consent", "POST", f"{case}/consents", _consent(contact))
        progress["reached"] = "contact consent"
        given = _transfer_consent(route.receiver_charity_id)
        self._step(sender, "transfer consent", "POST", f"{case}/consents", given)
        progress["reached"] = "transfer consent"
        proposal = {"to_prison_code": route.to_prison, "reason": "person_moved"}
        transfer_id = self._step(sender, "proposal", "POST", f"{case}/transfers", proposal)["id"]
        progress.update(transfer_id=transfer_id, reached="proposal")
        key = {"Idempotency-Key": str(uuid.uuid4())}
        offer, _ = self._exactly_once(sender, f"/api/v1/transfers/{transfer_id}/offer", key)
        if offer != "ok":
            raise _Stopped("offer", offer)
        progress["reached"] = "offer"
        # The receiving manager reads the offer (what the consent let cross) before accepting.
        self._step(route.receiver, "offer read", "GET", f"/api/v1/transfers/{transfer_id}")

    def _step(self, user: User, step: str, method: str, path: str, body: Any = None) -> Any:
        answer = self.api.call(user, method, path, body)
        if not answer.ok:
            raise _Stopped(step, str(answer.status or answer.failure))
        return answer.json()

    def _exactly_once(self, user: User, path: str, key: dict[str, str]) -> tuple[str, int]:
        """POST with one idempotency key until answered; the last outcome and the tries."""
        answer, tries = until_answered(self.api, user, path, key)
        return answer.outcome, tries


class _Stopped(Exception):
    """A transfer's step was refused or unanswered; the transfer stays where it got to."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(step, detail)
        self.step, self.detail = step, detail


def _prison_numbers() -> Iterator[str]:
    """Prison numbers of the A1234BC form starting with a letter the demo never starts one with."""
    for n in itertools.count(1):
        yield f"Z{n % 10000:04d}{chr(65 + n // 10000 % 26)}Q"


def _consent(member_id: str) -> dict[str, Any]:
    return {
        "subject": "family_member",
        "family_member_id": member_id,
        "purpose": "contact",
        "categories": ["identity", "contact_details"],
        "decision": "given",
        "method": "verbal",
        "verification": "in_person_id_seen",
    }


def _transfer_consent(charity_id: str) -> dict[str, Any]:
    return {
        "subject": "person_in_custody",
        "purpose": "transfer",
        "recipient_charity_id": charity_id,
        "categories": ["identity"],
        "decision": "given",
        "method": "written",
        "verification": "signed_form",
    }
