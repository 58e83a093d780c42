"""Disclosure control for the Ministry's figures (DESIGN.md section 7), pure and deterministic.

``protect_release`` turns a draft into the figures that may be published:

1. primary suppression: a cell with fewer families than the threshold (zero included), a count of
   children or contacts below the threshold, and an average over fewer families, are suppressed;
   a cell describing a suppressed families cell goes with it; every other count is rounded to the
   base (``rules``);
2. secondary suppression: every suppressed cell's feasible range is solved from this release and
   every earlier one, as an outsider and as each charity knowing its own records
   (``audit``); while any is pinned (narrower than the base, or a small cell proven
   non-zero), the cheapest published cell that shares a sum with it is suppressed too, and the
   audit runs again.

The model lives in ``model``; this module re-exports what callers need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from app.domain.errors import CannotProtect
from app.domain.figures.disclosure.audit import Auditor, audit_release
from app.domain.figures.disclosure.model import (
    OUTSIDER,
    TOTAL,
    AtMost,
    Audit,
    Cell,
    CellKey,
    Change,
    DisclosureRules,
    Draft,
    Kind,
    Knowledge,
    Protected,
    PublishedCell,
    PublishedRelease,
    Range,
    Records,
    Relations,
    StandsOn,
    Sum,
    Table,
    grid,
)
from app.domain.figures.disclosure.rules import (
    is_small,
    known_interval,
    publish_cell,
    round_to_base,
    with_their_bases,
)

__all__ = [
    "OUTSIDER",
    "TOTAL",
    "AtMost",
    "Audit",
    "Cell",
    "CellKey",
    "Change",
    "DisclosureRules",
    "Draft",
    "Kind",
    "Knowledge",
    "Protected",
    "PublishedCell",
    "PublishedRelease",
    "Range",
    "Records",
    "Relations",
    "StandsOn",
    "Sum",
    "Table",
    "audit_release",
    "grid",
    "known_interval",
    "protect_release",
    "publish",
    "round_to_base",
]


# Whatever ties cells together for a reader: secondary suppression looks for partners along it.
Link = Sum | AtMost | StandsOn | Change


def protect_release(
    draft: Draft,
    history: Sequence[PublishedRelease],
    rules: DisclosureRules,
    knowledge: Knowledge,
) -> Protected:
    """The release to publish, and the audit showing no suppressed cell is pinned by any reader.

    ``history`` is every release published before this one; ``knowledge`` gives each charity's
    records (its contribution to every cell, of this release and the earlier ones). The audit
    covers the parts of the constraint graph this release touches: the other parts hold only
    earlier figures, audited when they came out (``audit_release`` audits everything).
    Raises ``CannotProtect`` when earlier releases alone pin a cell, ``InconsistentHistory`` when
    the releases contradict each other.
    """
    cells = draft.cells()
    _check(cells, draft.relations.known_zeros)
    zeros = set(draft.relations.known_zeros)
    small = {cell.key for cell in cells if is_small(cell, rules)} - zeros
    suppressed = with_their_bases(small, cells)
    # What hiding a cell costs the reader: its count, or for an average the families behind it.
    cost = {
        cell.key: cell.families if cell.kind is Kind.AVERAGE else int(cell.value)
        for cell in cells
        if cell.key not in zeros
    }
    sums_of: dict[CellKey, list[Link]] = {}
    links: list[Link] = [*(s for release in history for s in release.sums), *draft.all_sums()]
    links += [*(r for release in history for r in release.relations.links())]
    links += draft.relations.links()
    for link in links:
        for key in link.cells():
            sums_of.setdefault(key, []).append(link)
    auditor = Auditor(rules, knowledge)
    scope = {cell.key for cell in cells}
    while True:
        published = publish(draft, suppressed, small, rules)
        pinned = _pinned(auditor, published, history, scope)
        if not pinned:
            audit = auditor.audit(published, history, scope)
            if not audit.leaks:
                return Protected(published, audit)
            leaks = [(leak.key, leak.attacker) for leak in audit.leaks]
            pinned = _known_to_pinners(leaks, knowledge)  # only if pinned() missed one
        added = _complements(pinned, suppressed, sums_of, cost)
        if not added:
            raise CannotProtect(pinned)
        suppressed = with_their_bases(suppressed | added, cells)


def _pinned(
    auditor: Auditor,
    published: PublishedRelease,
    history: Sequence[PublishedRelease],
    scope: set[CellKey],
) -> dict[CellKey, set[CellKey]]:
    """The first reader's pinned cells, the outsider first: hiding them often frees the next
    reader's too, and each audit costs a set of solves per reader."""
    for reader in auditor.readers:
        found = auditor.pinned(published, history, reader, scope)
        if found:
            return _known_to_pinners(((key, reader) for key in found), auditor.knowledge)
    return {}


def _known_to_pinners(
    pins: Iterable[tuple[CellKey, str]], knowledge: Knowledge
) -> dict[CellKey, set[CellKey]]:
    """Each pinned cell with the cells its pinning readers know exactly (wholly their own),
    which hide nothing from them."""
    pinned: dict[CellKey, set[CellKey]] = {}
    for key, reader in pins:
        records = knowledge.get(reader)
        pinned.setdefault(key, set()).update(records.whole if records else ())
    return pinned


def publish(
    draft: Draft, suppressed: Iterable[CellKey], small: Iterable[CellKey], rules: DisclosureRules
) -> PublishedRelease:
    """The draft with the given cells (and the cells describing them) suppressed and every other
    count rounded, in draft order. Primary suppression alone: ``publish(draft, small, small)``."""
    zeros = set(draft.relations.known_zeros)
    hidden = with_their_bases(suppressed, draft.cells()) - zeros
    return PublishedRelease(
        draft.name,
        rules,
        tuple(
            PublishedCell(cell.key, cell.kind, 0, exact=True)
            if cell.key in zeros
            else publish_cell(cell, cell.key in hidden, rules)
            for cell in draft.cells()
        ),
        draft.all_sums(),
        tuple(sorted(set(small) - zeros)),
        draft.relations,
    )


def _check(cells: Sequence[Cell], zeros: Iterable[CellKey] = ()) -> None:
    kinds = {cell.key: cell.kind for cell in cells}
    if len(kinds) != len(cells):
        raise ValueError("a draft names each cell once")
    values = {cell.key: cell.value for cell in cells}
    for key in zeros:
        if kinds.get(key) not in (Kind.FAMILIES, Kind.COUNT) or values[key] != 0:
            raise ValueError(f"{key}: a known zero must be a count of this draft that is zero")
    for cell in cells:
        if cell.basis is not None and kinds.get(cell.basis) is not Kind.FAMILIES:
            raise ValueError(f"{cell.key}: its basis must be a families cell of the same draft")


def _complements(
    pinned: Mapping[CellKey, set[CellKey]],
    suppressed: set[CellKey],
    sums_of: Mapping[CellKey, list[Link]],
    cost: Mapping[CellKey, int],
) -> set[CellKey]:
    """One round of complementary suppressions, cheapest first, ties broken by key.

    ``pinned`` maps each pinned cell to the cells its pinning readers know exactly, which are
    chosen only when nothing else will do. A pinned cell that is the only suppressed cell of a
    sum gets a partner in each such sum. Otherwise its pin comes from several sums at once: it
    gets one partner among all its sums, unless one of them already got a partner this round
    (the next audit often finds it freed); failing that, the nearest cell in the graph of sums.
    """
    added: set[CellKey] = set()
    for key in sorted(pinned):
        mine = sums_of.get(key, [])
        hidden = suppressed | added
        lonely = [s for s in mine if not any(k in hidden and k != key for k in s.cells())]
        if not lonely and any(k in added for s in mine for k in s.cells()):
            continue
        for avoid in (hidden | pinned[key], hidden):
            picks = {_cheapest(s.cells(), avoid, cost) for s in lonely} - {None}
            if not picks:
                picks = {_cheapest((k for s in mine for k in s.cells()), avoid, cost)} - {None}
            if not picks:
                picks = {_nearest(key, avoid, sums_of, cost)} - {None}
            if picks:
                added |= {pick for pick in picks if pick is not None}
                break
    return added


def _cheapest(
    keys: Iterable[CellKey], avoid: set[CellKey], cost: Mapping[CellKey, int]
) -> CellKey | None:
    candidates = [(cost[key], key) for key in keys if key in cost and key not in avoid]
    return min(candidates)[1] if candidates else None


def _nearest(
    start: CellKey,
    avoid: set[CellKey],
    sums_of: Mapping[CellKey, list[Link]],
    cost: Mapping[CellKey, int],
) -> CellKey | None:
    """The cheapest published cell of this release nearest to ``start`` in the graph of sums."""
    seen = {start}
    frontier = [start]
    while frontier:
        reached = sorted(
            {k for key in frontier for s in sums_of.get(key, []) for k in s.cells()} - seen
        )
        pick = _cheapest(reached, avoid, cost)
        if pick is not None:
            return pick
        seen |= set(reached)
        frontier = reached
    return None
