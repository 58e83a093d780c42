"""The least and greatest value of each of some cells over one part of the constraint graph.

The reader is taken to solve for whole numbers (counts are), so each extreme is an integer
program, solved by HiGHS through ``scipy.optimize.milp``: the LP relaxation first, and the
integer program only when the LP's optimum is not a whole-number point. For a two-way table with
its margins the constraints are totally unimodular and the LP always lands on whole numbers;
across linked tables (a year summing quarters) an integer reader can sometimes pin a cell that
the LP relaxation leaves loose, and the integer program finds it.

Two solves per cell is the plain way; most can be skipped without losing exactness, and a
national release has thousands of cells to audit per reader:

* a least value equal to the cell's own lower bound needs no solve once any point seen so far
  (every solve's optimum is one) has the cell at that bound;
* a cell is unbounded above exactly when some ray of the region (a direction d >= 0 keeping
  every sum, with d = 0 on each cell that has an upper bound) moves it; one LP over rays finds
  such cells at once, and is repeated on the cells it did not move until it moves none, which
  proves the rest bounded;
* ``extremes`` (the audit report) then solves for the greatest value of each bounded cell, and
  the least values no point has shown;
* ``pinned`` (the question asked at each round of secondary suppression) only needs to know
  whether a cell's range is narrower than the base: two points base apart settle it, and one
  solve that lifts as many cells as it can by the base above the lowest seen usually settles
  most of them; only the rest get their own solves.

A part is one table, or a table with the quarters and years linked to it, so each solve takes
about a millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, hstack

from app.domain.errors import InconsistentHistory
from app.domain.figures.disclosure.model import CellKey, Sum

Bound = tuple[int, int | None]
Extremes = dict[CellKey, tuple[float, float | None]]

# HiGHS works to a feasibility tolerance near 1e-7; a value within this of a bound is at it.
SLACK = 1e-6


class _Region:
    """{x : every sum holds, bounds hold}, and optimisation over its whole-number points.

    Every optimum found is a point of the region; the least and greatest value each cell has
    taken at any of them are kept, to settle questions without another solve.
    """

    def __init__(self, keys: Sequence[CellKey], sums: Sequence[Sum], bounds: Sequence[Bound]):
        index = {key: i for i, key in enumerate(keys)}
        rows, columns, signs = [], [], []
        for row, s in enumerate(sums):
            for key, sign in ((s.total, 1.0), *((p, -1.0) for p in s.parts)):
                rows.append(row)
                columns.append(index[key])
                signs.append(sign)
        self.size = len(keys)
        self.index = index
        self.matrix = csr_array((signs, (rows, columns)), shape=(len(sums), len(keys)))
        self.floor = np.array([low for low, _ in bounds], dtype=float)
        self.ceiling = np.array([np.inf if high is None else high for _, high in bounds])
        self.lowest = np.full(len(keys), np.inf)
        self.highest = np.full(len(keys), -np.inf)

    def optimum(self, objective: np.ndarray) -> float:
        """The least value of ``objective`` over whole-number points (it must be bounded)."""
        return self._solve(
            objective, LinearConstraint(self.matrix, 0.0, 0.0), self.floor, self.ceiling
        )

    def spread(self, cells: list[int], low: np.ndarray, base: int) -> None:
        """A point taking as many ``cells`` as can be to ``base`` above ``low``: with one slack
        y_j in [0, base] per cell and y_j <= x_j - low_j, maximise the sum of the y."""
        extra = len(cells)
        sums = csr_array((self.matrix.shape[0], extra))
        lift = csr_array(
            (
                np.concatenate([-np.ones(extra), np.ones(extra)]),
                (
                    np.tile(np.arange(extra), 2),
                    np.concatenate([cells, self.size + np.arange(extra)]),
                ),
            ),
            shape=(extra, self.size + extra),
        )
        constraints = [
            LinearConstraint(hstack([self.matrix, sums]), 0.0, 0.0),
            LinearConstraint(lift, -np.inf, -low[cells]),
        ]
        objective = np.concatenate([np.zeros(self.size), -np.ones(extra)])
        self._solve(
            objective,
            constraints,
            np.concatenate([self.floor, np.zeros(extra)]),
            np.concatenate([self.ceiling, np.full(extra, float(base))]),
        )

    def _solve(
        self,
        objective: np.ndarray,
        constraints: LinearConstraint | list[LinearConstraint],
        floor: np.ndarray,
        ceiling: np.ndarray,
    ) -> float:
        """The LP first: when its optimum is a whole-number point (always, for a table and its
        margins) it is the integer optimum too; only otherwise is the integer program solved."""
        bounds = Bounds(floor, ceiling)
        result = milp(objective, constraints=constraints, bounds=bounds)
        if result.status == 0 and not _whole(result.x[: self.size]):
            whole = np.zeros(len(objective))
            whole[: self.size] = 1
            result = milp(objective, constraints=constraints, bounds=bounds, integrality=whole)
        if result.status == 2:
            raise InconsistentHistory("no values fit every published figure and sum")
        if result.status != 0:
            raise RuntimeError(f"the solver stopped: {result.message}")
        point = result.x[: self.size]
        np.minimum(self.lowest, point, out=self.lowest)
        np.maximum(self.highest, point, out=self.highest)
        return float(result.fun)

    def unbounded(self, cells: list[int]) -> set[int]:
        """The cells some ray of the region moves (so with no upper bound). A rational ray of a
        region with a whole-number point carries whole-number points as far as it goes."""
        ray_ceiling = np.where(np.isinf(self.ceiling), 1.0, 0.0)
        rays = Bounds(np.zeros(self.size), ray_ceiling)
        sums = LinearConstraint(self.matrix, 0.0, 0.0)
        moved: set[int] = set()
        remaining = [i for i in cells if ray_ceiling[i] > 0]
        while remaining:
            objective = np.zeros(self.size)
            objective[remaining] = -1.0
            result = milp(objective, constraints=sums, bounds=rays)
            if result.status != 0:
                raise RuntimeError(f"the solver stopped: {result.message}")
            found = {i for i in remaining if result.x[i] > SLACK}
            if not found:
                break
            moved |= found
            remaining = [i for i in remaining if i not in found]
        return moved

    def least(self, i: int) -> float:
        """The least value of cell i, without a solve when a point seen has it at its floor."""
        if self.lowest[i] <= self.floor[i] + SLACK:
            return float(self.floor[i])
        return self.optimum(self._unit(i, 1.0))

    def greatest(self, i: int) -> float:
        return -self.optimum(self._unit(i, -1.0))

    def _unit(self, i: int, sign: float) -> np.ndarray:
        objective = np.zeros(self.size)
        objective[i] = sign
        return objective


def _whole(point: np.ndarray) -> bool:
    return bool(np.all(np.abs(point - np.round(point)) <= SLACK))


def _start(
    keys: Sequence[CellKey],
    sums: Sequence[Sum],
    bounds: Sequence[Bound],
    audited: Sequence[CellKey],
) -> tuple[_Region, list[int]]:
    """The region, the audited cells' positions, and a first point with them as low as can be."""
    region = _Region(keys, sums, bounds)
    cells = [region.index[key] for key in audited]
    objective = np.zeros(len(keys))
    objective[cells] = 1.0
    region.optimum(objective)
    return region, cells


def extremes(
    keys: Sequence[CellKey],
    sums: Sequence[Sum],
    bounds: Sequence[Bound],
    audited: Sequence[CellKey],
) -> Extremes:
    """The least and greatest value (None: unbounded) of each audited cell over the region."""
    if not sums:
        return {
            key: (float(low), None if high is None else float(high))
            for key, (low, high) in zip(keys, bounds, strict=True)
            if key in audited
        }
    region, cells = _start(keys, sums, bounds, audited)
    unbounded = region.unbounded(cells)
    greatest = {i: None if i in unbounded else region.greatest(i) for i in cells}
    least = {i: region.least(i) for i in cells}
    return {key: (least[region.index[key]], greatest[region.index[key]]) for key in audited}


def pinned(
    keys: Sequence[CellKey],
    sums: Sequence[Sum],
    bounds: Sequence[Bound],
    audited: Sequence[CellKey],
    small: Set[CellKey],
    base: int,
    capped: Set[CellKey] = frozenset(),
) -> set[CellKey]:
    """The audited cells whose range is narrower than ``base``, or that are ``small`` and above
    their floor, found with as few solves as can be: the answer ``extremes`` would give, without
    the exact greatest value of every cell (a point ``base`` above its least value settles it).
    A ``capped`` cell (small, and known to every reader to be under the threshold) is pinned
    only by being shown present: its narrow range is public knowledge, not a finding.
    """
    if not sums:
        return {
            key
            for key, (low, high) in zip(keys, bounds, strict=True)
            if key in audited and key not in capped and high is not None and high - low < base
        }
    region, cells = _start(keys, sums, bounds, audited)
    found: set[int] = set()
    for i in cells:
        if keys[i] in small and region.least(i) > region.floor[i] + SLACK:
            found.add(i)
    unbounded = region.unbounded([i for i in cells if i not in found])
    # Two points of the region base apart in a cell settle it; the lowest seen is the reference.
    open_cells = [
        i for i in cells if i not in found and i not in unbounded and keys[i] not in capped
    ]

    def unsettled() -> list[int]:
        return [i for i in open_cells if region.highest[i] - region.lowest[i] < base - SLACK]

    todo = unsettled()
    while todo:
        region.spread(todo, region.lowest.copy(), base)
        left = unsettled()
        if len(left) == len(todo):
            break
        todo = left
    found |= {i for i in todo if region.greatest(i) - region.least(i) < base - SLACK}
    return {keys[i] for i in found}
