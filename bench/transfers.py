"""What a transfer's guarantees cost: offering and accepting a family's case, against plain work.

Run:
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.transfers --repeat 9    # SQLite and PostgreSQL
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.transfers --quick       # smaller, SQLite only

A family with a year of history (by default 40 contacts, 6 assessments, 10 actions, 15 notes and
3 members: a partner and two children), whose person in custody and partner consented to the
transfer of everything, goes from the charity serving Liverpool to the one serving Durham
(bench/transfer_family.py). Each timed call gets a family of its own, seeded identically through
the use cases, so no call works on a case an earlier one changed. Three measurements, each
against a baseline measured in the same run:

1. ``offer_transfer`` (the consent gate, the package cut and sealed under the receiver's key,
   the step, both audit chains, the notification) against ``read_family`` of the same case: what
   the consent cut and resealing cost over a plain read of the family file.
2. ``accept_transfer`` (consent checked again as the sender, the package landed as the receiver's
   case with every field sealed afresh, the sender's case marked, the step, two audit events, the
   notification, one transaction) against writing the same records as the receiver with a plain
   use case and direct inserts through the vault in one transaction (``open_case`` with
   ``commit=False``, then every other row sealed under the receiver's key, one commit).
3. PostgreSQL only: ``--threads`` managers' sessions accepting one transfer at the same moment,
   timed from their release until the last has its answer ("all done") and until the one
   acceptance returned ("winner"), against one accept alone (the same code with one thread).

Before anything is timed, the landed case and the plain one must hold exactly the seeded rows
(members, contacts, assessments and scores, actions, notes, the two transfer consents); every race
must end with one acceptance and a refusal for every other session. Otherwise the run stops.
Timings are reported, never asserted (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_session_factory
from app.domain.errors import TransferRefused
from app.migrate import upgrade
from app.security.keyring import LocalRootKey
from app.services.cases import family_file
from app.services.platform.vault import Vault, vault_for
from app.services.transfers import (
    Accepted,
    accept_transfer,
    offer_transfer,
    propose_transfer,
)
from bench.isolation import APP_ROLE, OWNER_ROLE, _settings
from bench.roles import throwaway_server
from bench.transfer_family import (
    RECEIVER_PRISON,
    History,
    Parties,
    bench_origin,
    case_rows,
    expected_rows,
    land_plainly,
    prepare,
    seed_family,
)
from tenants.context import TenantContext
from tenants.guard import bind_tenant


def _ms(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise SystemExit(f"honesty check failed: {message}")


# --- the measured calls --------------------------------------------------------------------


@dataclass
class Bench:
    """One backend's database, its actors, and a session per call (as a request opens one)."""

    app: sessionmaker[Session]
    root: Any
    parties: Parties
    history: History
    statements: int = 0  # SQL statements sent by this bench's sessions (an engine event counts)

    def counted(self, call: Callable[[], Any]) -> tuple[Any, int]:
        """``call``'s result and how many statements it sent (single-threaded calls only)."""
        before = self.statements
        result = call()
        return result, self.statements - before

    def do(self, context: TenantContext, work: Callable[[Session, Vault], Any]) -> Any:
        with self.app() as session:
            bind_tenant(session, context)
            return work(session, vault_for(session, self.root))

    def propose(self, case_id: uuid.UUID) -> uuid.UUID:
        sender = self.parties.sender
        return self.do(
            sender,
            lambda s, v: (
                propose_transfer(
                    s, sender, bench_origin(), case_id, to_prison_code=RECEIVER_PRISON
                ).id
            ),
        )

    def read(self, case_id: uuid.UUID) -> Any:
        sender = self.parties.sender
        return self.do(
            sender, lambda s, v: family_file.read_family(s, sender, bench_origin(), v, case_id)
        )

    def offer(self, transfer_id: uuid.UUID) -> Any:
        sender = self.parties.sender
        return self.do(
            sender, lambda s, v: offer_transfer(s, sender, bench_origin(), v, transfer_id)
        )

    def accept(self, transfer_id: uuid.UUID, key: str) -> Accepted:
        receiver = self.parties.receiver
        return self.do(
            receiver,
            lambda s, v: accept_transfer(
                s, receiver, bench_origin(), v, transfer_id, idempotency_key=key
            ),
        )

    def land_plainly(self, i: int) -> uuid.UUID:
        receiver = self.parties.receiver
        return self.do(receiver, lambda s, v: land_plainly(s, receiver, v, self.history, i))

    def counts(self, case_id: uuid.UUID) -> dict[str, int]:
        return self.do(self.parties.receiver, lambda s, v: case_rows(s, case_id))


@dataclass(frozen=True)
class Race:
    settled_ms: float  # from the release until the last session has its answer
    accepted_ms: float  # from the release until the one acceptance returned
    outcomes: list[object]  # what each session got: an Accepted or an error

    @property
    def settled_once(self) -> bool:
        accepted = [o for o in self.outcomes if isinstance(o, Accepted)]
        refused = [o for o in self.outcomes if isinstance(o, TransferRefused)]
        return len(accepted) == 1 and len(refused) == len(self.outcomes) - 1


def _accept_at_once(bench: Bench, transfer_id: uuid.UUID, threads: int) -> Race:
    """``threads`` managers' sessions accept ``transfer_id``, released together."""
    released: list[float] = []
    barrier = threading.Barrier(threads, action=lambda: released.append(time.perf_counter()))
    ended: list[float] = []
    outcomes: list[object] = []
    lock = threading.Lock()

    def accept(k: int) -> None:
        barrier.wait()
        outcome: object
        try:
            outcome = bench.accept(transfer_id, f"race-{transfer_id}-{k}")
        except Exception as error:  # every answer is recorded, then checked
            outcome = error
        with lock:
            ended.append(time.perf_counter())
            outcomes.append(outcome)

    workers = [threading.Thread(target=accept, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    _check(len(outcomes) == threads, "an accept never finished")
    won = [end for end, o in zip(ended, outcomes, strict=True) if isinstance(o, Accepted)]
    return Race(
        (max(ended) - released[0]) * 1000, (min(won, default=0.0) - released[0]) * 1000, outcomes
    )


@dataclass(frozen=True)
class Row:
    backend: str
    operation: str
    times: list[float]
    baseline: str
    baseline_times: list[float]
    statements: tuple[int, int] | None = None  # per call: the operation's, the baseline's

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_times)


def measure(
    backend: str,
    bench: Bench,
    main: list[uuid.UUID],
    race_cases: list[uuid.UUID],
    threads: int,
) -> list[Row]:
    """The first family warms up and is checked; each later one is timed once per side. Race
    families come in pairs (one accepted alone, one raced), the first pair warming up."""
    repeat, races = len(main) - 1, len(race_cases) // 2 - 1
    transfers = [bench.propose(case_id) for case_id in main]
    # Warm-up (counting each side's statements), and the honesty check: the landed case and the
    # plain one hold exactly the seeded rows.
    warm_up: dict[str, Callable[[], Any]] = {
        "read": partial(bench.read, main[0]),
        "offer": partial(bench.offer, transfers[0]),
        "plain": partial(bench.land_plainly, 0),
        "accept": partial(bench.accept, transfers[0], "warm-up"),
    }
    stmts = {name: bench.counted(call) for name, call in warm_up.items()}
    plain = bench.counts(stmts["plain"][0])
    landed = bench.counts(stmts["accept"][0].case_id)
    expected = expected_rows(bench.history)
    _check(landed == plain == expected, f"landed {landed}, plain {plain}, seeded {expected}")
    reads: list[float] = []
    offers: list[float] = []
    lands: list[float] = []
    accepts: list[float] = []
    # The read goes first in every round, so both sides read the family with its transfer proposed.
    for i in range(1, repeat + 1):
        reads.append(_ms(partial(bench.read, main[i]))[0])
        offers.append(_ms(partial(bench.offer, transfers[i]))[0])
    for i in range(1, repeat + 1):
        # Alternating which side goes first, so drift on a shared machine lands on both.
        pair: list[tuple[list[float], Callable[[], Any]]] = [
            (lands, partial(bench.land_plainly, i)),
            (accepts, partial(bench.accept, transfers[i], f"bench-{i}")),
        ]
        for times, call in pair if i % 2 else reversed(pair):
            times.append(_ms(call)[0])
    rows = [
        Row(
            backend,
            "offer_transfer",
            offers,
            "read_family",
            reads,
            (stmts["offer"][1], stmts["read"][1]),
        ),
        Row(
            backend,
            "accept_transfer",
            accepts,
            "open_case + sealed inserts",
            lands,
            (stmts["accept"][1], stmts["plain"][1]),
        ),
    ]
    if races > 0:
        alone: list[float] = []
        settled: list[float] = []
        won: list[float] = []
        for round_no in range(races + 1):
            pair_ids = [bench.propose(c) for c in race_cases[2 * round_no : 2 * round_no + 2]]
            for transfer_id in pair_ids:
                bench.offer(transfer_id)
            sides = [(1, pair_ids[0]), (threads, pair_ids[1])]
            for n, transfer_id in sides if round_no % 2 else reversed(sides):
                race = _accept_at_once(bench, transfer_id, n)
                _check(race.settled_once, f"{n} accepts of one transfer gave {race.outcomes}")
                if not round_no:
                    continue  # the first round warms up the pool's connections
                if n == 1:
                    alone.append(race.settled_ms)
                else:
                    settled.append(race.settled_ms)
                    won.append(race.accepted_ms)
        rows += [
            Row(backend, f"{threads} accepts: all done", settled, "one accept alone", alone),
            Row(backend, f"{threads} accepts: winner", won, "one accept alone", alone),
        ]
    return rows


# --- one backend, and the report -----------------------------------------------------------


def run(
    backend: str, app_url: str, owner_url: str, tmp: Path, args: argparse.Namespace
) -> list[Row]:
    upgrade(_settings(tmp, app_url, owner_url))
    root = LocalRootKey.from_file(tmp / "root.key")
    racing = backend == "postgresql" and args.races > 0
    # One connection per racing thread; a single caller uses one of them throughout.
    pool = {"pool_size": args.threads, "max_overflow": 2} if backend == "postgresql" else {}
    owner_engine, app_engine = make_engine(owner_url), make_engine(app_url, **pool)
    try:
        app = make_session_factory(app_engine)
        parties = prepare(make_session_factory(owner_engine, walls=False), app, root)
        bench = Bench(app, root, parties, args.history)

        def count(*_: Any) -> None:
            bench.statements += 1

        event.listen(app_engine, "before_cursor_execute", count)
        families = args.repeat + 1 + (2 * (args.races + 1) if racing else 0)
        started = time.perf_counter()
        cases = [seed_family(app, root, parties, args.history, i) for i in range(families)]
        print(
            f"  {backend}: seeded {families} families in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
            flush=True,
        )
        main, race_cases = cases[: args.repeat + 1], cases[args.repeat + 1 :]
        return measure(backend, bench, main, race_cases, args.threads)
    finally:
        owner_engine.dispose()
        app_engine.dispose()


def report(rows: list[Row], args: argparse.Namespace, load_before: float) -> None:
    h = args.history
    print()
    print("Transfers benchmark (median ms; ratios against the baseline measured in the same run)")
    print(
        f"family: {h.contacts} contacts, {h.assessments} assessments, {h.actions} actions, "
        f"{h.notes} notes, {h.members} members; {args.repeat} timed calls per side "
        f"({args.races} rounds for the race); {os.cpu_count()} CPUs, load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"{'backend':>10}  {'operation':<20} {'median':>8}  {'baseline':<26} {'median':>8} "
        f"{'x':>5}  {'statements':>10}"
    )
    for row in rows:
        statements = " / ".join(map(str, row.statements)) if row.statements else "-"
        print(
            f"{row.backend:>10}  {row.operation:<20} {row.median:>8.2f}  {row.baseline:<26} "
            f"{row.baseline_median:>8.2f} {row.median / row.baseline_median:>5.2f}  "
            f"{statements:>10}"
        )
    print("\n(timings are reported, never asserted)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed calls per side")
    parser.add_argument("--contacts", type=int, default=40)
    parser.add_argument("--assessments", type=int, default=6)
    parser.add_argument("--actions", type=int, default=10)
    parser.add_argument("--notes", type=int, default=15)
    parser.add_argument("--members", type=int, default=3, help="a partner, then children")
    parser.add_argument("--races", type=int, default=5, help="PostgreSQL race rounds (0: none)")
    parser.add_argument("--threads", type=int, default=20, help="accepting sessions per race")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="smallest settings, SQLite only")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.races, args.backends = 1, 0, "sqlite"
        args.contacts = args.assessments = args.actions = args.notes = 1
        args.members = 2
    if args.repeat < 1 or args.members < 1 or args.threads < 2:
        parser.error("--repeat and --members must be at least 1, --threads at least 2")
    args.history = History(args.contacts, args.assessments, args.actions, args.notes, args.members)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    rows: list[Row] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="continuum-bench-")))
        if "sqlite" in backends:
            sub = tmp / "sqlite"
            sub.mkdir()
            url = f"sqlite:///{sub / 'transfers.sqlite3'}"
            rows += run("sqlite", url, url, sub, args)
        server = (
            throwaway_server(stack, "continuum_transfers") if "postgresql" in backends else None
        )
        if server is not None:
            sub = tmp / "postgresql"
            sub.mkdir()
            rows += run(
                "postgresql",
                server.url("continuum_transfers", user=APP_ROLE),
                server.url("continuum_transfers", user=OWNER_ROLE),
                sub,
                args,
            )
    report(rows, args, load_before)


if __name__ == "__main__":
    main()
