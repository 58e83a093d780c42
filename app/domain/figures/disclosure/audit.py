"""The attacker's view: how far each suppressed cell can be pinned down.

Every count cell of every release is a variable, shared by key across releases. A reader knows:
each published count lies in its rounding interval and is at least the threshold (the rules say
so); an exact figure is an equality; every declared sum holds; every count is a whole number, zero
or more. A suppressed cell carries only that: the legend says "suppressed" and never why. A
charity also knows its own records: each cell is its own contribution plus what the other
charities have (zero or more), and a cell wholly its own is known exactly. For each suppressed
cell and each reader, the least and greatest value of the cell (less the charity's own
contribution) under those constraints is its feasible range (``lp`` solves them).

Only the connected part of the constraint graph around a suppressed cell enters its solves, and
a part's answers are kept against its bounds, so re-auditing a release whose suppressions changed
in one table re-solves only that table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, replace

from app.domain.errors import InconsistentHistory
from app.domain.figures.disclosure.lp import SLACK, Bound, Extremes, extremes, pinned
from app.domain.figures.disclosure.model import (
    OUTSIDER,
    Audit,
    CellKey,
    Change,
    DisclosureRules,
    Kind,
    Knowledge,
    PublishedRelease,
    Range,
    Records,
    Sum,
)
from app.domain.figures.disclosure.rules import known_interval

# The table of the slack variables turning each ``AtMost`` into a sum; no release has it.
SLACK_TABLE = "(slack)"
# The table of a revision's known changes, each a variable fixed at its size; no release has it.
CHANGE_TABLE = "(change)"


@dataclass(frozen=True)
class _Part:
    """A connected part of the constraint graph: its variables and the sums between them."""

    keys: tuple[CellKey, ...]
    sums: tuple[Sum, ...]


@dataclass(frozen=True)
class _View:
    """What every reader knows from the releases, before any charity adds its own records."""

    bounds: dict[CellKey, Bound]
    audited: frozenset[CellKey]
    small: frozenset[CellKey]
    # Cells only proving present discloses: small counts of families (every reader knows they
    # are small), and a revision's counts whose revised figure was published (every reader
    # knows them as well as that figure).
    capped: frozenset[CellKey]
    parts: tuple[_Part, ...]
    changes: tuple[Change, ...] = ()  # every revision's changes, which readers take as known


def audit_release(
    published: PublishedRelease,
    history: Sequence[PublishedRelease],
    rules: DisclosureRules,
    knowledge: Knowledge,
) -> Audit:
    """Every suppressed cell's feasible range, for the outsider and for each charity.

    ``history`` is every earlier release; ``rules`` sets the standard (a range narrower than its
    base, or a small cell proven non-zero, is a leak). The audit's ``leaks`` lists them.
    """
    return Auditor(rules, knowledge).audit(published, history)


class Auditor:
    """Audits releases under one standard, remembering the parts it has already solved."""

    def __init__(self, rules: DisclosureRules, knowledge: Knowledge) -> None:
        if OUTSIDER in knowledge:
            raise ValueError(f"{OUTSIDER!r} names the reader with no records, not a charity")
        self.rules = rules
        self.knowledge = knowledge
        self.readers = (OUTSIDER, *sorted(knowledge))
        self._solved: dict[tuple[object, ...], Extremes] = {}
        self._decided: dict[tuple[object, ...], set[CellKey]] = {}

    def audit(
        self,
        published: PublishedRelease,
        history: Sequence[PublishedRelease],
        scope: Set[CellKey] | None = None,
    ) -> Audit:
        """The ranges every reader can prove from ``published`` and ``history`` together.

        With a ``scope``, only the parts of the constraint graph holding one of its cells are
        audited: the others hold only earlier releases' figures, audited when they came out.
        """
        view = _view([*history, published], scope)
        ranges: list[Range] = []
        for reader in self.readers:
            own = self._records(reader).own
            capped = view.capped | self._public(published, history, reader, scope)
            for part, bounds, audited in self._questions(view, reader):
                memo = (part.keys, tuple(bounds), tuple(audited))
                if memo not in self._solved:
                    self._solved[memo] = extremes(part.keys, part.sums, bounds, audited)
                floor = dict(zip(part.keys, (low for low, _ in bounds), strict=True))
                for key in audited:
                    low, high = self._solved[memo][key]
                    mine = own.get(key, 0)
                    ranges.append(
                        Range(
                            key,
                            reader,
                            math.ceil(low - SLACK) - mine,
                            None if high is None else math.floor(high + SLACK) - mine,
                            key in view.small,
                            key in capped,
                            max(floor[key] - mine, 0),
                        )
                    )
        ranges.sort(key=lambda r: (r.key, r.attacker != OUTSIDER, r.attacker))
        return Audit(self.rules.base, tuple(ranges))

    def pinned(
        self,
        published: PublishedRelease,
        history: Sequence[PublishedRelease],
        reader: str,
        scope: Set[CellKey] | None = None,
        *,
        public: bool = True,
    ) -> set[CellKey]:
        """The cells ``audit`` would list as this reader's leaks, found with fewer solves."""
        view = _view([*history, published], scope)
        capped = view.capped
        if public:
            capped |= self._public(published, history, reader, scope)
        found: set[CellKey] = set()
        for part, bounds, audited in self._questions(view, reader):
            memo = (part.keys, tuple(bounds), tuple(audited))
            if memo in self._solved:
                floor = dict(zip(part.keys, (low for low, _ in bounds), strict=True))
                ranges = self._solved[memo]
                found |= {
                    key
                    for key in audited
                    if _pins(
                        ranges[key],
                        key in view.small,
                        floor[key],
                        self.rules.base,
                        key in capped,
                    )
                }
                continue
            question = (*memo, frozenset(capped & set(audited)))
            if question not in self._decided:
                small = view.small & set(audited)
                self._decided[question] = pinned(
                    part.keys, part.sums, bounds, audited, small, self.rules.base, capped
                )
            found |= self._decided[question]
        return found

    def _public(
        self,
        published: PublishedRelease,
        history: Sequence[PublishedRelease],
        reader: str,
        scope: Set[CellKey] | None,
    ) -> frozenset[CellKey]:
        """The counts, not small, this reader pins even were every figure of ``published``
        suppressed: narrow by what earlier releases and the rules' public caps already say (a
        charity holding 14 of a year's families, whose quarters were each small, knows the
        others had at most 4), which no suppression in this release can widen. Like a small
        count, only proving such a count present could count against it, and it is not small.
        A small count pinned that way stays pinned: the build stops (``CannotProtect``)."""
        blank = replace(
            published,
            cells=tuple(
                cell if cell.exact else replace(cell, value=None) for cell in published.cells
            ),
        )
        found = self.pinned(blank, history, reader, scope, public=False)
        return frozenset(found - set(published.suppressed_as_small))

    def _records(self, reader: str) -> Records:
        return self.knowledge.get(reader, Records())

    def _questions(
        self, view: _View, reader: str
    ) -> list[tuple[_Part, list[Bound], list[CellKey]]]:
        """Each part with cells to audit for this reader: its bounds as the reader knows them,
        and the suppressed cells not wholly the reader's own."""
        records = self._records(reader)
        whole = _wholly_own(records.whole, (s for part in view.parts for s in part.sums))
        told = _told(view.changes, records)
        questions = []
        for part in view.parts:
            audited = [key for key in part.keys if key in view.audited and key not in whole]
            if audited:
                bounds = [
                    _known(key, view.bounds[key], records.own.get(key, 0), key in whole)
                    for key in part.keys
                ]
                bounds = [
                    (max(low, told.get(key, 0)), high)
                    for key, (low, high) in zip(part.keys, bounds, strict=True)
                ]
                questions.append((part, bounds, audited))
        return questions


def _told(changes: Iterable[Change], records: Records) -> dict[CellKey, int]:
    """What a revision's reason alone proves a reader with these records, as the least each cell
    holds: the others' share of a count went up (or down) by the change less the reader's own
    part of it, so the cell after (or before) holds at least the reader's own plus that much.
    Proving that much is the reason's disclosure, written by the coordinator; only more is the
    figures'."""
    told: dict[CellKey, int] = {}
    own = records.own
    for change in changes:
        before, after = own.get(change.before, 0), own.get(change.after, 0)
        theirs = change.by - (after - before)
        if theirs > 0:
            told[change.after] = max(told.get(change.after, 0), after + theirs)
        elif theirs < 0:
            told[change.before] = max(told.get(change.before, 0), before - theirs)
    return told


def _pins(
    extremes: tuple[float, float | None], small: bool, floor: int, base: int, capped: bool
) -> bool:
    low, high = extremes
    if small and low > floor + SLACK:
        return True
    return not capped and high is not None and high - low < base - SLACK


def _known(key: CellKey, bound: Bound, own: int, whole: bool) -> Bound:
    """A cell's bounds for a reader with these records: at least its own, exact if all its own."""
    low, high = bound
    if (high is not None and own > high) or (whole and own < low):
        raise InconsistentHistory(f"{key}: a charity's own records contradict the releases")
    if whole:
        return own, own
    return max(low, own), high


def _wholly_own(whole: frozenset[CellKey], sums: Iterable[Sum]) -> frozenset[CellKey]:
    """The cells a charity knows are all its own: those it names, a total all of whose parts are,
    and every part of a total that is (no other charity has anything in it, counts being >= 0)."""
    known = set(whole)
    pending = list(sums)
    changed = True
    while changed:
        changed = False
        for s in pending:
            if s.total in known or all(part in known for part in s.parts):
                grown = known | set(s.cells())
                changed |= grown != known
                known = grown
    # A slack or a change is no charity's record: it is what it is, whoever reads.
    return frozenset(key for key in known if key.table not in (SLACK_TABLE, CHANGE_TABLE))


def _view(releases: Sequence[PublishedRelease], scope: Set[CellKey] | None = None) -> _View:
    bounds: dict[CellKey, Bound] = {}
    published: set[CellKey] = set()
    suppressed: set[CellKey] = set()
    small: set[CellKey] = set()
    sums: dict[tuple[CellKey, tuple[CellKey, ...]], Sum] = {}
    echoes: set[CellKey] = set()
    changes: list[Change] = []
    averages: set[CellKey] = set()
    published_averages: set[CellKey] = set()
    families_cells: set[CellKey] = set()
    ceiling: dict[CellKey, int] = {}
    for release in releases:
        small.update(release.suppressed_as_small)
        for key in release.suppressed_as_small:
            ceiling[key] = release.rules.threshold - 1
        for key in release.relations.hidden:
            bounds.setdefault(key, (0, None))
        for cell in release.cells:
            if cell.kind is Kind.AVERAGE:
                averages.add(cell.key)
                if not cell.suppressed:
                    published_averages.add(cell.key)
                continue
            if cell.kind is Kind.FAMILIES:
                families_cells.add(cell.key)
            low, high = bounds.get(cell.key, (0, None))
            if cell.suppressed:
                suppressed.add(cell.key)
            else:
                published.add(cell.key)
                first, last = known_interval(cell, release.rules)
                low, high = max(low, first), last if high is None else min(high, last)
                if low > high:
                    raise InconsistentHistory(f"{cell.key}: the releases disagree on this figure")
            bounds[cell.key] = (low, high)
        for s in release.sums:
            sums.setdefault((s.total, tuple(sorted(s.parts))), s)
        for relation in release.relations.at_most:
            # smaller + slack = larger, the slack a whole number no one sees.
            slack = CellKey(SLACK_TABLE, str(relation.smaller), str(relation.larger))
            bounds.setdefault(slack, (0, None))
            s = Sum(relation.larger, (relation.smaller, slack))
            sums.setdefault((s.total, tuple(sorted(s.parts))), s)
        for change in release.relations.changes:
            changes.append(change)
            # after = before + by, as a sum of whole numbers: the larger is the smaller plus
            # a variable every reader knows is exactly the size of the change.
            larger, smaller = (
                (change.after, change.before) if change.by >= 0 else (change.before, change.after)
            )
            addends: tuple[CellKey, ...] = (smaller,)
            if change.by:
                size = CellKey(CHANGE_TABLE, str(change.before), str(change.after))
                bounds[size] = (abs(change.by), abs(change.by))
                addends = (smaller, size)
            s = Sum(larger, addends)
            sums.setdefault((s.total, tuple(sorted(s.parts))), s)
        for stands in release.relations.stands_on:
            if stands.average in published_averages:
                low, high = bounds.get(stands.families, (0, None))
                bounds[stands.families] = (max(low, release.rules.threshold), high)
    # Kerckhoffs: the reader knows the algorithm, so the audit grants it the one thing the legend
    # withholds: which suppressed counts of families are small, and so under the threshold. Not
    # for a revision's counts: any of them may be the partner of the count it revises (the
    # document says so), so none is known to be small by being suppressed.
    revising = {change.after for change in changes}
    capped = small & families_cells & (suppressed - published) - revising
    for key in capped:
        low, high = bounds[key]
        top = ceiling[key] if high is None else min(high, ceiling[key])
        if low > top:
            raise InconsistentHistory(f"{key}: a small cell the releases prove is not small")
        bounds[key] = (low, top)
    for s in sums.values():
        for key in s.cells():
            if key in averages:
                raise ValueError(f"{key}: an average is never part of a sum")
            if key not in bounds:
                raise ValueError(f"{key}: a sum names a cell no release has")
    audited = frozenset(suppressed - published)
    parts = _parts(bounds, sums.values())
    if scope is not None:
        parts = tuple(part for part in parts if any(key in scope for key in part.keys))
    # A revision's count whose earlier figure every reader knows as well as a published figure
    # or a small one (or an echo of one) is known that well again by its change: only proving
    # a small one present beyond what its reason says counts.
    for change in changes:
        if change.before in published or change.before in capped or change.before in echoes:
            echoes.add(change.after)
    echoed = frozenset(echoes & audited)
    return _View(
        bounds,
        audited,
        frozenset(small & audited),
        frozenset(capped) | echoed,
        parts,
        tuple(changes),
    )


def _parts(bounds: dict[CellKey, Bound], sums: Iterable[Sum]) -> tuple[_Part, ...]:
    """Connected parts of the graph linking cells that share a sum, in key order."""
    parent = {key: key for key in bounds}

    def root(key: CellKey) -> CellKey:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    sum_list = sorted(sums, key=lambda s: (s.total, s.parts))
    for s in sum_list:
        first = root(s.total)
        for key in s.parts:
            other = root(key)
            if other != first:
                parent[max(first, other)] = min(first, other)
                first = min(first, other)
    members: dict[CellKey, list[CellKey]] = {}
    for key in sorted(bounds):
        members.setdefault(root(key), []).append(key)
    linked: dict[CellKey, list[Sum]] = {}
    for s in sum_list:
        linked.setdefault(root(s.total), []).append(s)
    return tuple(
        _Part(tuple(keys), tuple(linked.get(head, ()))) for head, keys in sorted(members.items())
    )
