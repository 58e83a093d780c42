"""The baseline of bench/release.py: hand-written SQL, as the schema owner with no walls, that
computes the same unsuppressed counts as app.services.figures.metrics for a quarter (prison
activity, needs, referral sources, outcomes) and the year ending with it (equality monitoring),
summed over every charity. Transfers are left out: the national data has none (app.demo.national).

Families are counted distinct over all charities at once: family ids are unique across charities,
so that equals the metrics' sum of each charity's distinct families.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

from app.domain.figures.catalogue import ALL_SOURCES, NATIONAL, CellKey, region_key

Cells = dict[CellKey, tuple[int, int, int]]  # count, families, total

_OBJECTING = """
stat AS MATERIALIZED (
  SELECT c.family_id, r.id, r.charity_id, r.valid_from, r.decision
  FROM consents r JOIN cases c ON c.charity_id = r.charity_id AND c.id = r.case_id
  WHERE r.purpose = 'statistics' AND r.valid_from <= :e),
withdrawn AS MATERIALIZED (
  SELECT charity_id, withdraws_id FROM consents
  WHERE purpose = 'statistics' AND decision = 'withdrawn' AND valid_from <= :e),
latest AS MATERIALIZED (SELECT family_id, MAX(valid_from) AS said_on FROM stat GROUP BY family_id),
obj AS MATERIALIZED (
  SELECT s.family_id FROM stat s
  JOIN latest l ON l.family_id = s.family_id AND s.valid_from = l.said_on
  LEFT JOIN withdrawn w ON w.charity_id = s.charity_id AND w.withdraws_id = s.id
  WHERE s.decision <> 'given' OR w.withdraws_id IS NOT NULL),
"""
_EPISODE = """k.occurred_on >= :s AND k.occurred_on <= :e AND k.occurred_on >= c.opened_on
  AND (c.closed_on IS NULL OR k.occurred_on <= c.closed_on)"""
_SUPPORTED = f"""
sup AS MATERIALIZED (
  SELECT DISTINCT c.id AS case_id, c.family_id FROM contacts k
  JOIN cases c ON c.charity_id = k.charity_id AND c.id = k.case_id
  WHERE {_EPISODE} AND c.family_id NOT IN (SELECT family_id FROM obj))
"""
_PREFIX = "WITH " + _OBJECTING + _SUPPORTED

ACTIVITY = f"""WITH {_OBJECTING} x AS (SELECT 1)
SELECT c.prison_code, COUNT(DISTINCT c.family_id),
  SUM(CASE WHEN k.kind = 'visit' THEN 1 ELSE 0 END),
  COUNT(DISTINCT CASE WHEN k.kind = 'visit' THEN c.family_id END),
  SUM(CASE WHEN k.kind = 'visit' AND k.first_time_visitor THEN 1 ELSE 0 END),
  COUNT(DISTINCT CASE WHEN k.kind = 'visit' AND k.first_time_visitor THEN c.family_id END),
  SUM(CASE WHEN k.kind = 'family_day' THEN 1 ELSE 0 END),
  COUNT(DISTINCT CASE WHEN k.kind = 'family_day' THEN c.family_id END)
FROM contacts k JOIN cases c ON c.charity_id = k.charity_id AND c.id = k.case_id
WHERE {_EPISODE} AND c.family_id NOT IN (SELECT family_id FROM obj)
GROUP BY c.prison_code"""
CHILDREN = f"""{_PREFIX}
SELECT c.prison_code, COUNT(DISTINCT m.id), COUNT(DISTINCT m.family_id)
FROM family_members m JOIN cases c ON c.charity_id = m.charity_id AND c.family_id = m.family_id
WHERE m.kind = 'child' AND c.id IN (SELECT case_id FROM sup)
GROUP BY c.prison_code"""
_NEW = """c.opened_on >= :s AND c.opened_on <= :e AND c.transfer_id IS NULL
  AND c.family_id NOT IN (SELECT family_id FROM obj)"""
REFERRALS = f"""WITH {_OBJECTING} x AS (SELECT 1)
SELECT p.region, c.referral_source, COUNT(*), COUNT(DISTINCT c.family_id)
FROM cases c JOIN prisons p ON p.code = c.prison_code WHERE {_NEW}
GROUP BY p.region, c.referral_source"""
REFERRALS_BY_REGION = f"""WITH {_OBJECTING} x AS (SELECT 1)
SELECT p.region, COUNT(*), COUNT(DISTINCT c.family_id)
FROM cases c JOIN prisons p ON p.code = c.prison_code WHERE {_NEW} GROUP BY p.region"""
REFERRALS_BY_PRISON = f"""WITH {_OBJECTING} x AS (SELECT 1)
SELECT c.prison_code, COUNT(*), COUNT(DISTINCT c.family_id)
FROM cases c WHERE {_NEW} GROUP BY c.prison_code"""
NEEDS = f"""{_PREFIX}
SELECT p.region, n.need, COUNT(DISTINCT c.family_id)
FROM case_needs n JOIN cases c ON c.charity_id = n.charity_id AND c.id = n.case_id
JOIN prisons p ON p.code = c.prison_code
WHERE c.id IN (SELECT case_id FROM sup) GROUP BY p.region, n.need"""
OUTCOMES = f"""{_PREFIX},
ranked AS (
  SELECT c.id AS case_id, c.family_id, c.prison_code, s.area, s.score,
    ROW_NUMBER() OVER (PARTITION BY a.case_id, s.area
      ORDER BY a.assessed_on, a.created_at, a.id) AS from_first,
    ROW_NUMBER() OVER (PARTITION BY a.case_id, s.area
      ORDER BY a.assessed_on DESC, a.created_at DESC, a.id DESC) AS from_latest
  FROM sup CROSS JOIN cases c CROSS JOIN outcome_assessments a CROSS JOIN outcome_scores s
  WHERE c.id = sup.case_id AND a.charity_id = c.charity_id AND a.case_id = c.id
    AND s.charity_id = a.charity_id AND s.assessment_id = a.id
    AND a.assessed_on <= :e AND a.assessed_on >= c.opened_on
    AND (c.closed_on IS NULL OR a.assessed_on <= c.closed_on)),
per_case AS (
  SELECT family_id, prison_code, area,
    MAX(CASE WHEN from_latest = 1 THEN score END)
      - MAX(CASE WHEN from_first = 1 THEN score END) AS distance
  FROM ranked GROUP BY case_id, family_id, prison_code, area HAVING COUNT(*) >= 2)
SELECT p.region, q.area, COUNT(*), COUNT(DISTINCT q.family_id), SUM(q.distance)
FROM per_case q JOIN prisons p ON p.code = q.prison_code GROUP BY p.region, q.area"""
EQUALITY = f"""{_PREFIX}
SELECT COALESCE(q.{{column}}, 'not_stated'), COUNT(DISTINCT m.id), COUNT(DISTINCT m.family_id)
FROM family_members m
LEFT JOIN equality_monitoring q
  ON q.charity_id = m.charity_id AND q.family_member_id = m.id
WHERE m.family_id IN (SELECT family_id FROM sup)
GROUP BY COALESCE(q.{{column}}, 'not_stated')"""
EQUALITY_TABLES = (
    ("national_ethnicity", "ethnicity"),
    ("national_sex", "sex"),
    ("national_disability", "disability"),
)


def _run(conn: Connection, sql: str, start: date, end: date) -> list[Any]:
    statement = text(sql).bindparams(bindparam("s", type_=Date), bindparam("e", type_=Date))
    return list(conn.execute(statement, {"s": start, "e": end}))


def quarter_cells(conn: Connection, start: date, end: date) -> Cells:
    """The quarter's tables, every charity together (zero cells left out)."""
    cells: Cells = {}
    table = "prison_activity"
    for prison, families, *pairs in _run(conn, ACTIVITY, start, end):
        cells[(table, prison, "families_supported")] = (families, families, 0)
        for i, column in enumerate(("visits", "first_time_visits", "family_days")):
            cells[(table, prison, column)] = (int(pairs[2 * i] or 0), int(pairs[2 * i + 1]), 0)
    for prison, count, families in _run(conn, CHILDREN, start, end):
        cells[(table, prison, "children")] = (count, families, 0)
    for prison, count, families in _run(conn, REFERRALS_BY_PRISON, start, end):
        cells[(table, prison, "new_referrals")] = (count, families, 0)
    for region, need, families in _run(conn, NEEDS, start, end):
        cells[("region_needs", region_key(region), need)] = (families, families, 0)
    for region, source, count, families in _run(conn, REFERRALS, start, end):
        cells[("region_referral_sources", region_key(region), source)] = (count, families, 0)
    for region, count, families in _run(conn, REFERRALS_BY_REGION, start, end):
        cells[("region_referral_sources", region_key(region), ALL_SOURCES)] = (count, families, 0)
    for region, area, count, families, total in _run(conn, OUTCOMES, start, end):
        cells[("region_outcomes", region_key(region), area)] = (count, families, int(total or 0))
    return cells


def year_cells(conn: Connection, start: date, end: date) -> Cells:
    """The year's equality tables, every charity together."""
    cells: Cells = {}
    for table, column in EQUALITY_TABLES:
        for answer, count, families in _run(conn, EQUALITY.format(column=column), start, end):
            cells[(table, NATIONAL, answer)] = (count, families, 0)
    return cells
