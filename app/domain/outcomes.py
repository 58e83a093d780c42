"""Outcome frameworks and distance travelled (DESIGN.md section 2).

A framework is data (``app/data/outcome_frameworks.json``): a code, a name, a score range and its
areas. Only area codes and scores are stored; no licensed tool's wording is copied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

DEFAULT_FRAMEWORK = "family_star_10"
_FRAMEWORKS_FILE = Path(__file__).resolve().parent.parent / "data" / "outcome_frameworks.json"


@dataclass(frozen=True)
class Area:
    code: str
    label: str


@dataclass(frozen=True)
class Framework:
    code: str
    name: str
    lowest: int
    highest: int
    areas: tuple[Area, ...]

    def area_codes(self) -> tuple[str, ...]:
        return tuple(area.code for area in self.areas)

    def score_errors(self, scores: Mapping[str, int]) -> dict[str, list[str]]:
        """Field errors for a set of scores: every area, each within the scale, nothing else."""
        errors: dict[str, list[str]] = {}
        for area in self.areas:
            score = scores.get(area.code)
            if score is None:
                errors[area.code] = [f"give a score for {area.label.lower()}"]
            elif isinstance(score, bool) or not isinstance(score, int):
                errors[area.code] = ["the score must be a whole number"]
            elif not self.lowest <= score <= self.highest:
                errors[area.code] = [f"the score must be from {self.lowest} to {self.highest}"]
        for code in scores:
            if code not in self.area_codes():
                errors[code] = ["not an area of this framework"]
        return errors


@dataclass(frozen=True)
class Scored:
    """One assessment's scores, by area code."""

    assessed_on: date
    scores: Mapping[str, int]


@cache
def frameworks() -> dict[str, Framework]:
    raw = json.loads(_FRAMEWORKS_FILE.read_text(encoding="utf-8"))
    return {
        code: Framework(
            code=code,
            name=spec["name"],
            lowest=spec["scale"][0],
            highest=spec["scale"][1],
            areas=tuple(Area(area, label) for area, label in spec["areas"]),
        )
        for code, spec in raw.items()
    }


def framework(code: str = DEFAULT_FRAMEWORK) -> Framework:
    """The framework named ``code``; KeyError when there is none."""
    return frameworks()[code]


def distance_travelled(assessments: Iterable[Scored]) -> dict[str, int]:
    """Latest minus first score per area, over the areas scored at least twice.

    Assessments are ordered by date (ties kept in the order given), so the result does not depend
    on the order they were loaded in.
    """
    ordered = sorted(assessments, key=lambda scored: scored.assessed_on)
    first: dict[str, int] = {}
    latest: dict[str, int] = {}
    seen: dict[str, int] = {}
    for scored in ordered:
        for area, score in scored.scores.items():
            first.setdefault(area, score)
            latest[area] = score
            seen[area] = seen.get(area, 0) + 1
    return {area: latest[area] - first[area] for area in first if seen[area] >= 2}
