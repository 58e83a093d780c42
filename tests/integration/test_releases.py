"""Quarterly releases end to end (app.services.figures.releases, DESIGN.md section 7), on SQLite and
PostgreSQL, from the families of tests/integration/test_metrics.py plus a dozen more at
Liverpool, so that some cells are big enough to publish under the ONS 10-5 rule.

Who may build: nobody before every charity serving in the quarter signed it off, and nobody
before the quarter is over. What is published: counts of at least the threshold rounded to the
base, or null; averages only over enough families; every prison served and every region and
category present; never the audit's protection state nor a charity's own exact figures. A
published release never changes (on PostgreSQL not even by raw SQL as the application); a
revision says why and what it supersedes, and its publication is audited naming both.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.domain.errors import InvalidInput, NotSignedOff, QuarterNotOver, ReleaseNotDraft
from app.domain.figures.catalogue import Dimension, Measure
from app.domain.figures.periods import YearEnding
from app.domain.figures.release.document import canonical, digest
from app.models.audit import AuditEntry
from app.models.releases import Release
from app.services.figures.metrics import quarter_figures, year_figures
from tests.support.release_steps import (
    CHARITIES,
    Q3,
    RULES,
    Built,
    Releases,
    values,
)

PRISONS_SERVED = {"BMI", "DMI", "LPI", "WDI"}
# Keys of the protection state (release_document.protection_state): never in a document.
STATE_KEYS = {"small", "suppressed_as_small", "own", "whole", "knowledge", "cells", "sums"}


@pytest.fixture
def published(releases: Releases) -> Built:
    releases.sign_off(*CHARITIES)
    built = releases.build()
    releases.publish(built.id)
    return built


def every_key(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for child in node.values() for k in every_key(child)}
    if isinstance(node, list):
        return {k for child in node for k in every_key(child)}
    return set()


# --- who may build, and when ---------------------------------------------------------------


def test_coordinator_cannot_build_until_every_serving_charity_signed_off(releases):
    releases.sign_off("pops")
    with pytest.raises(NotSignedOff) as refused:
        releases.build()
    assert refused.value.slugs == ("nepacs", "pact")
    assert "nepacs, pact" in str(refused.value)
    releases.sign_off("nepacs", "pact")
    assert releases.build().revision == 1


def test_coordinator_cannot_build_a_quarter_that_is_not_over(releases):
    with pytest.raises(QuarterNotOver):
        releases.build(day=date(2026, 9, 30))


# --- what is published ---------------------------------------------------------------------


AVERAGES = (Measure.MEAN.value, Measure.MEDIAN.value)


def test_every_published_count_is_rounded_and_at_least_the_threshold(published, releases):
    document = published.document
    measures = {
        (table["id"], column["key"]): column["measure"]
        for table in document["tables"]
        for column in table["columns"]
    }
    totals = releases.totals()
    shown = 0
    for table, row, key, value in values(document):
        if row.get("no_member_service"):
            # A region no member serves: a count is exactly 0, an average has nothing to show.
            assert value == (None if measures[(table["id"], key)] in AVERAGES else 0)
            continue
        if value is None:
            continue
        shown += 1
        if measures[(table["id"], key)] in (Measure.MEAN.value, Measure.MEDIAN.value):
            # An average is published only over enough families.
            assert totals[(table["id"], row["key"], key)].families >= RULES.threshold
        else:
            assert value % RULES.base == 0 and value >= RULES.threshold, (table["id"], row, key)
    # Liverpool's dozen more families make some cells publishable: the test is not vacuous.
    assert shown >= 3
    prison = next(t for t in document["tables"] if t["id"] == "prison_activity")
    liverpool = next(r for r in prison["rows"] if r["key"] == "LPI")
    assert liverpool["values"]["families_supported"] == 15  # 3 + 12


def test_excluded_families_pass_the_same_rules(published):
    for table in published.document["tables"]:
        excluded = table["excluded_families"]
        assert excluded is None or (excluded % RULES.base == 0 and excluded >= RULES.threshold)


def test_every_prison_served_and_every_region_and_category_is_present(published, releases):
    document = published.document
    with releases.sessions() as session:
        every = (quarter_figures(session, Q3), year_figures(session, YearEnding(Q3)))
    by_id = {table["id"]: table for table in document["tables"]}
    assert set(by_id) == {table.id.value for figures in every for table in figures.tables}
    for figures in every:
        for table in figures.tables:
            shown = by_id[table.id.value]
            columns = [column.key for column in table.columns]
            assert [column["key"] for column in shown["columns"]] == columns
            rows = {row["key"] for row in shown["rows"]}
            if table.dimension is Dimension.PRISON:
                assert rows == PRISONS_SERVED
            else:
                assert rows == set(figures.rows[table.dimension])
            for row in shown["rows"]:
                assert set(row["values"]) == set(columns)


def test_the_document_holds_no_protection_state_and_no_charitys_own_figures(published):
    document = published.document
    assert not every_key(document) & STATE_KEYS
    for table in document["tables"]:
        for row in table["rows"]:
            # A row names the charities serving a prison, never what each of them counted.
            if table["dimension"] == "prison":
                assert set(row) == {"key", "label", "region", "charities", "values"}
                assert all(isinstance(slug, str) for slug in row["charities"])
            else:
                assert set(row) - {"no_member_service"} == {"key", "label", "values"}
                assert row.get("no_member_service", True) is True


def test_the_content_is_canonical_and_its_digest_matches(published):
    raw = published.content.encode("utf-8")
    assert canonical(json.loads(raw)) == raw
    assert digest(raw) == published.sha256


# --- publication and revision --------------------------------------------------------------


def test_a_release_is_published_once_and_a_second_publish_is_refused(published, releases):
    with pytest.raises(ReleaseNotDraft):
        releases.publish(published.id)


def test_a_revision_needs_a_reason_names_what_it_supersedes_and_is_audited_with_it(
    published, releases
):
    with pytest.raises(InvalidInput) as refused:
        releases.build()
    assert "reason" in refused.value.errors
    revision = releases.build(reason="NEPACS corrected a referral source")
    assert revision.revision == 2
    assert revision.document["supersedes"] == str(published.id)
    assert revision.document["revision_reason"] == "NEPACS corrected a referral source"
    releases.publish(revision.id, hour=12)
    with releases.sessions() as session:
        events = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "release.publish", AuditEntry.chain == "platform"
            )
        ).all()
    both = [e for e in events if str(revision.id) in e.record_ids]
    assert len(both) == 1
    assert json.loads(both[0].record_ids) == [str(revision.id), str(published.id)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE releases SET content = '{}' WHERE id = :id",
        "UPDATE releases SET status = 'discarded' WHERE id = :id",
        "DELETE FROM releases WHERE id = :id",
    ],
)
# The write-once trigger is PostgreSQL's: run on PostgreSQL only, never skipped.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_any_change_to_a_published_release_even_from_the_app(
    published, releases, backend, statement
):
    with releases.sessions() as session:
        with pytest.raises(DBAPIError, match="never"):
            session.execute(text(statement), {"id": published.id})
        session.rollback()
        stored = session.get_one(Release, published.id)
        assert (stored.status, stored.sha256) == ("published", published.sha256)
