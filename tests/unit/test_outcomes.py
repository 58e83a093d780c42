"""Outcome frameworks and distance travelled (app.domain.outcomes, DESIGN.md section 2): the
shipped framework, score checks, and latest minus first per area whatever order assessments load
in. No Flask, no database."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.outcomes import (
    DEFAULT_FRAMEWORK,
    Scored,
    distance_travelled,
    framework,
    frameworks,
)

FRAMEWORK = framework()
AREAS = FRAMEWORK.area_codes()
DAY = date(2026, 2, 1)


def every_area(score: int) -> dict[str, int]:
    return dict.fromkeys(AREAS, score)


# --- the framework ----------------------------------------------------------------------------


def test_the_default_framework_has_the_ten_family_outcome_areas_scored_one_to_ten():
    assert DEFAULT_FRAMEWORK in frameworks()
    assert FRAMEWORK.code == DEFAULT_FRAMEWORK
    assert (FRAMEWORK.lowest, FRAMEWORK.highest) == (1, 10)
    assert len(AREAS) == 10
    assert len(set(AREAS)) == 10
    assert all(area.label.strip() for area in FRAMEWORK.areas)


def test_an_unknown_framework_is_a_key_error():
    with pytest.raises(KeyError):
        framework("no_such_framework")


# --- score_errors -----------------------------------------------------------------------------


def test_a_score_for_every_area_within_the_scale_has_no_errors():
    assert FRAMEWORK.score_errors(every_area(1)) == {}
    assert FRAMEWORK.score_errors(every_area(10)) == {}


def test_a_missing_area_is_named():
    scores = every_area(5)
    del scores[AREAS[3]]
    errors = FRAMEWORK.score_errors(scores)
    assert set(errors) == {AREAS[3]}
    assert FRAMEWORK.areas[3].label.lower() in errors[AREAS[3]][0]


def test_scores_outside_the_scale_are_refused():
    scores = every_area(5) | {AREAS[0]: 0, AREAS[1]: 11}
    assert set(FRAMEWORK.score_errors(scores)) == {AREAS[0], AREAS[1]}


def test_a_score_that_is_not_a_whole_number_is_refused():
    scores: dict[str, object] = every_area(5) | {AREAS[0]: 4.5, AREAS[1]: True, AREAS[2]: "7"}
    errors = FRAMEWORK.score_errors(scores)  # type: ignore[arg-type]
    assert set(errors) == {AREAS[0], AREAS[1], AREAS[2]}


def test_an_area_the_framework_does_not_have_is_refused():
    errors = FRAMEWORK.score_errors(every_area(5) | {"not_an_area": 5})
    assert set(errors) == {"not_an_area"}


# --- distance_travelled -----------------------------------------------------------------------


def test_distance_is_latest_minus_first_per_area():
    first = Scored(DAY, every_area(3) | {AREAS[0]: 8})
    middle = Scored(DAY + timedelta(days=30), every_area(9))
    latest = Scored(DAY + timedelta(days=60), every_area(6) | {AREAS[0]: 2})
    distance = distance_travelled([first, middle, latest])
    assert distance == every_area(3) | {AREAS[0]: -6}


def test_one_assessment_travels_no_distance():
    assert distance_travelled([Scored(DAY, every_area(4))]) == {}
    assert distance_travelled([]) == {}


def test_an_area_scored_only_once_is_left_out():
    first = Scored(DAY, {AREAS[0]: 2, AREAS[1]: 5})
    latest = Scored(DAY + timedelta(days=10), {AREAS[0]: 7})
    assert distance_travelled([first, latest]) == {AREAS[0]: 5}


def test_the_order_assessments_load_in_does_not_change_the_distance():
    first = Scored(DAY, every_area(2))
    latest = Scored(DAY + timedelta(days=90), every_area(9))
    assert distance_travelled([latest, first]) == distance_travelled([first, latest])
    assert distance_travelled([latest, first]) == every_area(7)


@st.composite
def assessments(draw: st.DrawFn) -> list[Scored]:
    """Assessments on distinct days with random scores for random areas."""
    days = draw(st.lists(st.integers(0, 3650), min_size=0, max_size=8, unique=True))
    return [
        Scored(
            DAY + timedelta(days=offset),
            draw(st.dictionaries(st.sampled_from(AREAS), st.integers(1, 10), max_size=10)),
        )
        for offset in days
    ]


@given(assessments(), st.randoms(use_true_random=False))
def test_distance_is_order_independent_and_latest_minus_first(scored, rng: random.Random):
    shuffled = list(scored)
    rng.shuffle(shuffled)
    distance = distance_travelled(shuffled)
    assert distance == distance_travelled(scored)
    by_date = sorted(scored, key=lambda s: s.assessed_on)
    for area in AREAS:
        history = [s.scores[area] for s in by_date if area in s.scores]
        if len(history) >= 2:
            assert distance[area] == history[-1] - history[0]
        else:
            assert area not in distance
