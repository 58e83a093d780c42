"""Audited reads running side by side all succeed and leave every audit chain whole (issue 13,
item 7), on SQLite and PostgreSQL.

Each read appends one event to its charity's chain, sealed onto the chain's last event. Two
appends that read the same last event would both claim the next sequence: on SQLite, whose
transactions began only at their first write, one of them failed on the unique key of chain and
sequence (under load, 660 of about 1,700 audited reads answered 500). Here several threads, each
in sessions of its own, read at once through the use case and through the API of one app, with
no server: every read must succeed, and every chain must still verify, one event per read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import AuditEntry
from app.services.cases import cases
from app.services.platform.audit import verify
from tests.support.cases import desks
from tests.support.world import World

# Enough at once, and often enough, that on SQLite without the lock two appends read the same
# last event in every run (before the fix each test failed 7 runs in 7, 20 to 47 of its 90 reads
# refused by the unique key), yet about a second a test.
THREADS = 6
READS_EACH = 15
# A read that has not finished after this long is stuck (a lock never released), not slow.
JOIN_SECONDS = 120

# Who reads which case: two of POPS's staff (one chain between them) and one of NEPACS's.
CASES = {
    "pops_liverpool": ("pops", "LPI"),
    "pops_manager": ("pops", "LPI"),
    "nepacs_durham": ("nepacs", "DMI"),
}
READERS = tuple(CASES)


def _all_at_once(work: Callable[[int], Any]) -> list[BaseException]:
    """``work(i)`` in THREADS threads released together, READS_EACH times each; what it raised."""
    barrier = threading.Barrier(THREADS)
    raised: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        for _ in range(READS_EACH):
            try:
                work(i)
            except BaseException as error:
                with lock:
                    raised.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a read never finished"
    return raised


def _chain_lengths(sessions: sessionmaker[Session], world: World) -> dict[str, int]:
    with sessions() as session:
        return {
            slug: session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.chain == str(world.organisations[slug]))
            )
            or 0
            for slug in ("pops", "nepacs")
        }


def _assert_chains_whole(sessions: sessionmaker[Session], world: World) -> None:
    with sessions() as session:
        for slug in ("pops", "nepacs"):
            result = verify(session, str(world.organisations[slug]))
            assert result.ok, (slug, result)


def _reads_per_chain() -> dict[str, int]:
    per_chain = {"pops": 0, "nepacs": 0}
    for i in range(THREADS):
        per_chain[CASES[READERS[i % len(READERS)]][0]] += READS_EACH
    return per_chain


def test_caseworkers_reading_cases_at_once_all_succeed_and_every_chain_holds(
    app: Flask, world: World, all_rows: sessionmaker[Session]
) -> None:
    desk = desks(app, world)
    readers = [desk(READERS[i % len(READERS)]) for i in range(THREADS)]
    case_ids = [world.cases[CASES[READERS[i % len(READERS)]]] for i in range(THREADS)]
    before = _chain_lengths(all_rows, world)

    raised = _all_at_once(lambda i: readers[i].do(cases.get_case, case_ids[i]))

    assert raised == [], f"{len(raised)} of {THREADS * READS_EACH} reads failed: {raised[:3]}"
    after = _chain_lengths(all_rows, world)
    assert {slug: after[slug] - before[slug] for slug in after} == _reads_per_chain()
    _assert_chains_whole(all_rows, world)


def test_api_case_reads_at_once_never_answer_500_and_every_chain_holds(
    app: Flask,
    world: World,
    bearer: Callable[[str], dict[str, str]],
    all_rows: sessionmaker[Session],
) -> None:
    """As the load test found it: one app serving the API's audited case read to several
    clients at once (each request also notes when its token was last used)."""
    headers = {key: bearer(key) for key in READERS}
    routes = [
        f"/api/v1/cases/{world.cases[CASES[READERS[i % len(READERS)]]]}" for i in range(THREADS)
    ]
    before = _chain_lengths(all_rows, world)

    def read(i: int) -> None:
        response = app.test_client().get(routes[i], headers=headers[READERS[i % len(READERS)]])
        assert response.status_code == 200, response.status_code

    raised = _all_at_once(read)

    assert raised == [], f"{len(raised)} of {THREADS * READS_EACH} reads failed: {raised[:3]}"
    after = _chain_lengths(all_rows, world)
    assert {slug: after[slug] - before[slug] for slug in after} == _reads_per_chain()
    _assert_chains_whole(all_rows, world)
