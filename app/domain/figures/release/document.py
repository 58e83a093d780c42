"""A release as readers get it, and as later audits remember it (DESIGN.md section 7).

``release_document`` lays the protected figures out as the published document: every table of
the catalogue with every row and column, suppressed cells as ``null``, the families each table
left out, the rules applied. ``canonical`` turns it into the bytes that are hashed, stored and
served, always the same bytes for the same document (sorted keys, no spaces, UTF-8), so the same
request always gets a byte-identical answer.

``protection_state`` and ``history_from_state`` keep what the next release's audit needs and
nobody may read: which cells were suppressed as small and each charity's exact contribution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from app.domain.figures.catalogue import Dimension, Figures
from app.domain.figures.catalogue import Table as MetricTable
from app.domain.figures.disclosure.model import (
    AtMost,
    CellKey,
    Change,
    DisclosureRules,
    Kind,
    PublishedCell,
    PublishedRelease,
    Records,
    Relations,
    StandsOn,
    Sum,
)
from app.domain.figures.periods import Quarter
from app.domain.figures.release.draft import EXCLUDED, EXCLUDED_COLUMN, table_name

FORMAT = "continuum-release/1"
RULES_NAME = "ONS 10-5 rule: fewer than 10 families suppressed, other counts rounded to 5"


@dataclass(frozen=True)
class Labels:
    """Names for the rows: prisons by code, charities by slug; and each prison's region and the
    charities that served it in the quarter (public, used to filter)."""

    prison_names: Mapping[str, str]
    prison_regions: Mapping[str, str]
    servers: Mapping[str, frozenset[str]]
    charity_names: Mapping[str, str]


@dataclass(frozen=True)
class Revision:
    number: int
    supersedes: str | None = None  # the id of the release it replaces
    reason: str | None = None


def canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# What secondary suppression follows to choose a partner for a pinned cell, stated in the
# document so that a reader knows the algorithm (docs/metrics.md, "Secondary suppression").
PARTNERS_BY_SUMS = "declared-sums"
PARTNERS_BY_DEFINITIONS = "declared-sums-and-definitions"
# A revision also takes partners among the counts of the release it revises, tied to its own by
# the changes its reason states.
PARTNERS_IN_REVISIONS = "declared-sums-definitions-and-revised-release"


def release_document(
    quarter: Quarter,
    revision: Revision,
    prefix: str,
    parts: Sequence[Figures],
    published: PublishedRelease,
    labels: Labels,
) -> dict[str, Any]:
    """The published document of a quarterly release."""
    values = published.values()
    rules = published.rules
    # A region whose counts are known zeros is one no member serves: every region table says so.
    unserved = {key.row for key in published.relations.known_zeros}
    tables = [
        _table(metric, part, prefix, values, labels, unserved)
        for part in parts
        for metric in part.tables
    ]
    return {
        "format": FORMAT,
        "quarter": quarter.label,
        "revision": revision.number,
        "supersedes": revision.supersedes,
        "revision_reason": revision.reason,
        "rules": {
            "name": RULES_NAME,
            "threshold": rules.threshold,
            "rounding_base": rules.base,
            "averages_over_at_least": rules.threshold,
            "secondary_suppression": "no suppressed cell can be worked out to a range "
            f"narrower than {rules.base}, or shown to be non-zero, from this release and "
            "every earlier one, by an outsider or by any member charity knowing its own records",
            "suppression_partners": _partners(published),
        },
        "charities": [
            {"slug": slug, "name": name} for slug, name in sorted(labels.charity_names.items())
        ],
        "tables": tables,
    }


def _partners(published: PublishedRelease) -> str:
    if published.relations.changes:
        return PARTNERS_IN_REVISIONS
    return PARTNERS_BY_DEFINITIONS if published.relations.links() else PARTNERS_BY_SUMS


def _table(
    metric: MetricTable,
    part: Figures,
    prefix: str,
    values: Mapping[CellKey, int | float | None],
    labels: Labels,
    unserved: Set[str] = frozenset(),
) -> dict[str, Any]:
    name = table_name(prefix, metric.id.value)
    rows = []
    for row in part.rows[metric.dimension]:
        entry: dict[str, Any] = {
            "key": row,
            "label": labels.prison_names.get(row, row)
            if metric.dimension is Dimension.PRISON
            else row,
            "values": {c.key: values[CellKey(name, row, c.key)] for c in metric.columns},
        }
        if metric.dimension is Dimension.PRISON:
            entry["region"] = labels.prison_regions.get(row)
            entry["charities"] = sorted(labels.servers.get(row, ()))
        if metric.dimension is Dimension.REGION and row in unserved:
            # No member serves a prison here (the public service map): its counts are 0, not
            # suppressed, and an average has nothing to stand on.
            entry["no_member_service"] = True
        rows.append(entry)
    return {
        "id": metric.id.value,
        "title": metric.title,
        "dimension": metric.dimension.value,
        "period": {
            "label": part.period.label,
            "start": part.period.start.isoformat(),
            "end": part.period.end.isoformat(),
        },
        "columns": [
            {"key": c.key, "label": c.label, "measure": c.measure.value} for c in metric.columns
        ],
        "rows": rows,
        "excluded_families": values[
            CellKey(table_name(prefix, EXCLUDED), metric.id.value, EXCLUDED_COLUMN)
        ],
        "definition": metric.definition,
        "excluded": metric.excluded,
    }


# --- what later audits need ------------------------------------------------------------------


def _key(key: CellKey) -> list[str]:
    return [key.table, key.row, key.column]


def _unkey(raw: Sequence[str]) -> CellKey:
    return CellKey(raw[0], raw[1], raw[2])


def protection_state(published: PublishedRelease, knowledge: Mapping[str, Records]) -> bytes:
    """Everything of a release a later audit needs, as canonical JSON; never published."""
    state = {
        "name": published.name,
        "rules": {"threshold": published.rules.threshold, "base": published.rules.base},
        "cells": [[*_key(c.key), c.kind.value, c.value] for c in published.cells],
        "sums": [[_key(s.total), [_key(p) for p in s.parts]] for s in published.sums],
        "small": [_key(k) for k in published.suppressed_as_small],
        "exact": [_key(c.key) for c in published.cells if c.exact],
        "relations": {
            "hidden": [_key(k) for k in published.relations.hidden],
            "known_zeros": [_key(k) for k in published.relations.known_zeros],
            "at_most": [[_key(r.smaller), _key(r.larger)] for r in published.relations.at_most],
            "stands_on": [
                [_key(r.average), _key(r.families)] for r in published.relations.stands_on
            ],
            "changes": [[_key(c.before), _key(c.after), c.by] for c in published.relations.changes],
        },
        "knowledge": {
            slug: {
                "own": sorted([*_key(k), n] for k, n in records.own.items()),
                "whole": sorted(_key(k) for k in records.whole),
            }
            for slug, records in knowledge.items()
        },
    }
    return canonical(state)


def history_from_state(raw: bytes | str) -> tuple[PublishedRelease, dict[str, Records]]:
    """A stored release as the audit sees it, and what each charity knew of it."""
    state = json.loads(raw)
    rules = DisclosureRules(state["rules"]["threshold"], state["rules"]["base"])
    exact = {_unkey(k) for k in state.get("exact", ())}
    published = PublishedRelease(
        state["name"],
        rules,
        tuple(
            PublishedCell(CellKey(t, r, c), Kind(kind), value, CellKey(t, r, c) in exact)
            for t, r, c, kind, value in state["cells"]
        ),
        tuple(
            Sum(_unkey(total), tuple(_unkey(p) for p in parts)) for total, parts in state["sums"]
        ),
        tuple(_unkey(k) for k in state["small"]),
        _relations(state.get("relations")),
    )
    knowledge = {
        slug: Records(
            own={CellKey(t, r, c): n for t, r, c, n in entry["own"]},
            whole=frozenset(_unkey(k) for k in entry["whole"]),
        )
        for slug, entry in state["knowledge"].items()
    }
    return published, knowledge


def _relations(raw: Mapping[str, Any] | None) -> Relations:
    """A stored release's derived relations; a release stored before they were derived has
    none (its audit then rested on its sums alone)."""
    if not raw:
        return Relations()
    return Relations(
        tuple(_unkey(k) for k in raw["hidden"]),
        tuple(AtMost(_unkey(a), _unkey(b)) for a, b in raw["at_most"]),
        tuple(StandsOn(_unkey(a), _unkey(b)) for a, b in raw["stands_on"]),
        tuple(_unkey(k) for k in raw.get("known_zeros", ())),
        tuple(Change(_unkey(a), _unkey(b), by) for a, b, by in raw.get("changes", ())),
    )


def merge_knowledge(*parts: Mapping[str, Records]) -> dict[str, Records]:
    """Each charity's records across releases (their cell keys never overlap)."""
    own: dict[str, dict[CellKey, int]] = {}
    whole: dict[str, set[CellKey]] = {}
    for part in parts:
        for slug, records in part.items():
            own.setdefault(slug, {}).update(records.own)
            whole.setdefault(slug, set()).update(records.whole)
    return {slug: Records(own[slug], frozenset(whole[slug])) for slug in own}
