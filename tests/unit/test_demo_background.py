"""The demo's background families (app.demo.national) and the quarters it publishes
(app.demo.releases), drawn without a database: the last four finished quarters, oldest first;
background at every prison the charities serve, each family only while its charity serves the
prison; every published quarter about as full as the next; the same day always draws the same
families."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from app.demo.charities import CHARITIES
from app.demo.national import (
    background_allocation,
    background_drawer,
    background_since,
    empty_batch,
)
from app.demo.national_rows import Charity, Rows
from app.demo.releases import release_quarters
from app.domain.figures.periods import Quarter
from app.security.keyring import Keyring, LocalRootKey, MemoryKeyStore

TODAY = date(2026, 11, 20)
# A day whose background window began while Hindley was still Pact's (POPS took it on 2024-04-01).
HANDOVER_YEAR = date(2025, 6, 15)
HANDOVER = date(2024, 4, 1)


@pytest.mark.parametrize(
    ("today", "quarters"),
    [
        (date(2026, 11, 20), ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]),
        (date(2026, 3, 2), ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]),
        # A quarter's first and last days: the quarter just ended is the newest published.
        (date(2026, 1, 1), ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]),
        (date(2026, 3, 31), ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]),
    ],
)
def test_demo_publishes_the_last_four_finished_quarters_oldest_first(
    today: date, quarters: list[str]
) -> None:
    assert [q.label for q in release_quarters(today)] == quarters


def _draw(today: date, families: int) -> tuple[Rows, list[tuple[str, str, Any, int]]]:
    """The background as seed_background draws it, charity by charity, without sealing keys of
    any consequence (a throwaway keyring)."""
    first = release_quarters(today)[0]
    allocation = background_allocation(families, today, first)
    drawer = background_drawer(today, first)
    keyring = Keyring(LocalRootKey(bytes(32)), MemoryKeyStore())
    rows = empty_batch()
    for number, spec in enumerate(CHARITIES, start=1):
        charity_id = uuid.UUID(int=number)
        keyring.ensure_key(charity_id)
        charity = Charity(charity_id, keyring, [uuid.UUID(int=100 + number)])
        for slug, code, served, count in allocation:
            if slug == spec.slug:
                for _ in range(count):
                    drawer.family(charity, code, rows, served)
    return rows, allocation


def _served_on(day: date) -> set[tuple[str, str]]:
    return {
        (spec.slug, code)
        for spec in CHARITIES
        for code, starts_on, ends_on in spec.services
        if starts_on <= day and (ends_on is None or ends_on > day)
    }


def test_background_reaches_every_prison_the_charities_serve_and_no_other() -> None:
    first = release_quarters(TODAY)[0]
    allocation = background_allocation(6_000, TODAY, first)
    assert sum(n for *_, n in allocation) == 6_000
    placed = {(slug, code) for slug, code, _, n in allocation if n > 0}
    # Every service of the background's window, and only those (not Kirkham, served to 2017).
    assert placed == _served_on(TODAY) == _served_on(background_since(first))
    # South West (Bristol and Exeter) is left to its detailed histories, small: one family each.
    sizes = {code: n for _, code, _, n in allocation}
    assert sizes["BLI"] == sizes["EXI"] == 1
    assert min(n for code, n in sizes.items() if code not in ("BLI", "EXI")) > 20


def test_background_families_are_cared_for_only_while_their_charity_serves_the_prison() -> None:
    rows, allocation = _draw(HANDOVER_YEAR, 600)
    served = {(slug, code): days for slug, code, days, n in allocation if n > 0}
    # The window began before the handover: both charities had Hindley within it.
    assert served[("pact", "HII")].last_day == HANDOVER - timedelta(days=1)
    assert served[("pops", "HII")].first_day == HANDOVER
    slugs = {uuid.UUID(int=n): spec.slug for n, spec in enumerate(CHARITIES, start=1)}
    cases = {}
    for case in rows["cases"]:
        days = served[(slugs[case["charity_id"]], case["prison_code"])]
        last = case["closed_on"] or HANDOVER_YEAR
        assert days.first_day <= case["opened_on"] <= last
        if days.ended(HANDOVER_YEAR):
            # A service that ended closed its cases by its last day.
            assert case["status"] == "closed" and last <= days.last_day
        cases[case["id"]] = (case["opened_on"], last)
    for contact in rows["contacts"]:
        opened, last = cases[contact["case_id"]]
        assert opened <= contact["occurred_on"] <= last
    pact_hindley = [c for c in rows["cases"] if slugs[c["charity_id"]] == "pact"]
    assert any(c["prison_code"] == "HII" for c in pact_hindley)


def test_every_published_quarter_of_the_background_is_about_as_full_as_the_next() -> None:
    rows, _ = _draw(TODAY, 1_200)
    opened = {case["id"]: case["opened_on"] for case in rows["cases"]}
    quarters = release_quarters(TODAY)
    supported: Counter[Quarter] = Counter()
    referred: Counter[Quarter] = Counter()
    for quarter in quarters:
        supported[quarter] = len(
            {c["case_id"] for c in rows["contacts"] if quarter.contains(c["occurred_on"])}
        )
        referred[quarter] = sum(quarter.contains(day) for day in opened.values())
    # A steady caseload: the first quarter has most of a later one's families (it starts half a
    # year into the background, before every case of the lead-in has run its course).
    assert min(supported.values()) > 0.75 * max(supported.values())
    assert min(referred.values()) > 0.75 * max(referred.values())
    # It has families from half a year before the first quarter, and none before.
    since = background_since(quarters[0])
    assert min(opened.values()) == since
    assert any(day < quarters[0].start for day in opened.values())


def _plain(rows: Rows) -> dict[str, list[dict[str, Any]]]:
    """The rows without their ciphertexts, which take a fresh nonce each time."""
    sealed = ("_enc", "prison_number_index")
    return {
        table: [{k: v for k, v in row.items() if not k.endswith(sealed)} for row in found]
        for table, found in rows.items()
    }


def test_the_same_day_always_draws_the_same_background_and_another_day_another() -> None:
    first, again = _draw(TODAY, 120)[0], _draw(TODAY, 120)[0]
    later = _draw(TODAY + timedelta(days=1), 120)[0]
    assert _plain(first) == _plain(again)
    assert first["contacts"] and _plain(first) != _plain(later)
