"""The ministry's release API (issue 5 item 5), on SQLite and PostgreSQL: only a client's OAuth2
token with ``metrics:read`` opens it; it serves published releases only, as the same bytes on
every call (the document exactly as stored, its SHA-256 its ETag); a draft is the same 404 as a
release that does not exist; and nothing it serves singles out a family.

The release is built from the families of tests/integration/test_metrics.py (``seeded``), signed
off by each charity serving in 2026Q3 and published by the coordinator, as in the demo.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import or_, select

from app.domain.figures.catalogue import Measure
from app.domain.figures.periods import Quarter
from app.domain.figures.release.document import canonical
from app.models import Service
from app.models.oauth import METRICS_READ
from app.models.releases import Release
from tests.support.oauth import (
    access_token,
    ask_token,
    bearer_header,
    make_client,
    store_token,
)
from tests.support.releases import build_quarter, publish_quarter
from tests.support.world import World

Q3 = Quarter(2026, 3)
# After the quarter, and after the day test_metrics writes its families down.
AFTER = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
LIST = "/api/v1/releases"
TABLE = "prison_activity"
# (threshold, base): the seeded quarter has a dozen families, so under the ONS rule every cell
# is suppressed; the check that served counts keep the rules runs on smaller ones too.
ONS_RULES = (10, 5)
SMALL_RULES = (2, 2)


def _published(app: Flask, world: World, rules: tuple[int, int] = ONS_RULES) -> uuid.UUID:
    """Every charity serving in 2026Q3 signs it off; the coordinator builds and publishes it."""
    sessions = app.extensions["continuum"].session_factory
    threshold, base = rules
    return publish_quarter(sessions, world, threshold=threshold, base=base, when=AFTER).id


def _revision_draft(app: Flask, world: World) -> uuid.UUID:
    sessions = app.extensions["continuum"].session_factory
    return build_quarter(sessions, world, reason="a late correction", when=AFTER)


@pytest.fixture
def published(app, world, seeded) -> uuid.UUID:
    return _published(app, world)


@pytest.fixture
def client_credentials(owner_sessions, world) -> tuple[str, str]:
    return make_client(owner_sessions, world)


@pytest.fixture
def ministry(app, client_credentials) -> dict[str, str]:
    """A live client token's headers, as the ministry's BI system sends them."""
    return bearer_header(access_token(app, *client_credentials))


def _urls(release_id: uuid.UUID) -> list[str]:
    return [LIST, f"{LIST}/{release_id}", f"{LIST}/{release_id}/tables/{TABLE}"]


def _stored(app: Flask, release_id: uuid.UUID) -> Release:
    with app.extensions["continuum"].session_factory() as session:
        release = session.get(Release, release_id)
        assert release is not None
        session.expunge(release)
        return release


# --- who may read ------------------------------------------------------------------------------


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(app, published):
    for url in _urls(published):
        response = app.test_client().get(url)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="continuum"'
        assert response.get_json()["error"]["code"] == "unauthorised"


def test_a_client_with_a_wrong_secret_gets_no_token(app, client_credentials):
    client_id, secret = client_credentials
    response = ask_token(app.test_client(), client_id, secret[:-2] + "xx")
    assert (response.status_code, response.get_json()["error"]) == (401, "invalid_client")
    assert "access_token" not in response.get_json()


@pytest.mark.parametrize("scope", ["", "profile"])
def test_a_token_without_metrics_read_gets_403_even_when_narrowed_silently(
    app, published, client_credentials, scope
):
    narrowed = bearer_header(store_token(app, client_credentials[0], scope=scope))
    for url in _urls(published):
        response = app.test_client().get(url, headers=narrowed)
        assert response.status_code == 403, url
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        assert set(response.get_json()) == {"error"}


def test_an_expired_token_gets_401(app, published, client_credentials):
    seconds = app.extensions["continuum"].settings.oauth_token_seconds
    expired = store_token(
        app, client_credentials[0], scope=METRICS_READ, issued_ago=timedelta(seconds=seconds + 1)
    )
    for url in _urls(published):
        response = app.test_client().get(url, headers=bearer_header(expired))
        assert response.status_code == 401, url
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_revoked_clients_token_gets_401(app, published, client_credentials, ministry):
    assert app.test_client().get(LIST, headers=ministry).status_code == 200
    revoked = app.test_cli_runner().invoke(args=["clients", "revoke", client_credentials[0]])
    assert revoked.exit_code == 0, revoked.output
    for url in _urls(published):
        response = app.test_client().get(url, headers=ministry)
        assert response.status_code == 401, url
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("actor", ["ministry", "coordinator", "pops_admin"])
def test_a_staff_personal_token_does_not_open_the_release_api(app, published, bearer, actor):
    headers = bearer(actor)
    for url in _urls(published):
        response = app.test_client().get(url, headers=headers)
        assert response.status_code in (401, 403), url
        assert "WWW-Authenticate" in response.headers
        assert set(response.get_json()) == {"error"}


# --- what is served ----------------------------------------------------------------------------


def test_the_list_names_the_published_release_and_its_links(app, world, published, ministry):
    _revision_draft(app, world)
    body = app.test_client().get(LIST, headers=ministry).get_json()
    stored = _stored(app, published)
    [item] = body["items"]  # the revision's draft is not listed
    assert item["id"] == str(published)
    assert (item["quarter"], item["revision"], item["sha256"]) == ("2026Q3", 1, stored.sha256)
    assert (item["supersedes"], item["revision_reason"]) == (None, None)
    assert item["links"]["document"] == f"{LIST}/{published}"
    tables = {table["id"]: table["href"] for table in item["links"]["tables"]}
    assert tables[TABLE] == f"{LIST}/{published}/tables/{TABLE}"
    assert len(tables) == len(json.loads(stored.content)["tables"])


@pytest.mark.parametrize("quarter", ["2026Q3", "2026Q2"])
def test_the_list_filters_by_quarter(app, published, ministry, quarter):
    body = app.test_client().get(LIST, query_string={"quarter": quarter}, headers=ministry)
    assert body.status_code == 200
    expected = [str(published)] if quarter == "2026Q3" else []
    assert [item["id"] for item in body.get_json()["items"]] == expected


@pytest.mark.parametrize(
    "query", [{"quarter": "2026Q5"}, {"quarter": "2026q3"}, {"year": "2026"}, {"page": "1"}]
)
def test_a_bad_or_unknown_query_parameter_is_refused_with_422(app, published, ministry, query):
    response = app.test_client().get(LIST, query_string=query, headers=ministry)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == set(query)


def test_the_same_request_twice_gets_byte_identical_bodies(app, published, ministry):
    for url in _urls(published):
        first = app.test_client().get(url, headers=ministry)
        second = app.test_client().get(url, headers=ministry)
        assert first.status_code == 200, url
        assert first.headers["Content-Type"] == "application/json"
        assert first.data == second.data, url


def test_the_document_is_the_stored_content_and_its_etag_its_sha256(app, published, ministry):
    stored = _stored(app, published)
    response = app.test_client().get(f"{LIST}/{published}", headers=ministry)
    assert response.data == stored.content.encode("utf-8")
    assert hashlib.sha256(response.data).hexdigest() == stored.sha256
    assert response.headers["ETag"] == f'"{stored.sha256}"'


def test_a_table_is_the_documents_table_as_canonical_json(app, published, ministry):
    document = json.loads(_stored(app, published).content)
    [table] = [t for t in document["tables"] if t["id"] == TABLE]
    response = app.test_client().get(f"{LIST}/{published}/tables/{TABLE}", headers=ministry)
    assert response.data == canonical(table)


def test_a_client_holding_the_current_etag_gets_304_without_a_body(app, published, ministry):
    url = f"{LIST}/{published}"
    etag = app.test_client().get(url, headers=ministry).headers["ETag"]
    again = app.test_client().get(url, headers={**ministry, "If-None-Match": etag})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    weak = app.test_client().get(url, headers={**ministry, "If-None-Match": f"W/{etag}, *"})
    assert weak.status_code == 304
    stale = app.test_client().get(url, headers={**ministry, "If-None-Match": '"0123"'})
    assert (stale.status_code, stale.headers["ETag"]) == (200, etag)


def test_a_draft_a_missing_release_and_a_missing_table_get_the_same_404(
    app, world, published, ministry
):
    draft = _revision_draft(app, world)
    answers = [
        app.test_client().get(url, headers=ministry)
        for url in (
            f"{LIST}/{draft}",
            f"{LIST}/{uuid.uuid4()}",
            f"{LIST}/{draft}/tables/{TABLE}",
            f"{LIST}/{uuid.uuid4()}/tables/{TABLE}",
            f"{LIST}/{published}/tables/no_such_table",
        )
    ]
    assert {response.status_code for response in answers} == {404}
    assert len({response.data for response in answers}) == 1


# --- nothing singles out a family ---------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("rules", [ONS_RULES, SMALL_RULES], ids=["ons", "small"])
def test_no_served_count_is_below_the_threshold_or_off_the_base(app, world, ministry, rules):
    _published(app, world, rules)
    item = app.test_client().get(LIST, headers=ministry).get_json()["items"][0]
    document = app.test_client().get(item["links"]["document"], headers=ministry).get_json()
    assert (document["rules"]["threshold"], document["rules"]["rounding_base"]) == rules
    counts: list[int] = []
    suppressed = 0
    for link in item["links"]["tables"]:
        table = app.test_client().get(link["href"], headers=ministry).get_json()
        measures = {column["key"]: column["measure"] for column in table["columns"]}
        for row in table["rows"]:
            assert set(row["values"]) == set(measures)
            if row.get("no_member_service"):
                # No member serves a prison in the region: its counts are exactly 0.
                assert {
                    value
                    for key, value in row["values"].items()
                    if measures[key] in (Measure.FAMILIES, Measure.COUNT)
                } <= {0}, row
                continue
            suppressed += sum(value is None for value in row["values"].values())
            counts += [
                value
                for key, value in row["values"].items()
                if value is not None and measures[key] in (Measure.FAMILIES, Measure.COUNT)
            ]
        if table["excluded_families"] is not None:
            counts.append(table["excluded_families"])
    assert suppressed > 0
    if rules == SMALL_RULES:
        assert counts, "nothing was published: the check below would check nothing"
    wrong = [v for v in counts if v < rules[0] or v % rules[1]]
    assert wrong == []


def test_every_prison_served_in_the_quarter_has_a_row(app, published, ministry):
    with app.extensions["continuum"].session_factory() as session:
        served = set(
            session.scalars(
                select(Service.prison_code).where(
                    Service.starts_on <= Q3.end,
                    or_(Service.ends_on.is_(None), Service.ends_on > Q3.start),
                )
            )
        )
    url = f"{LIST}/{published}/tables/{TABLE}"
    rows = app.test_client().get(url, headers=ministry).get_json()["rows"]
    assert served and served <= {row["key"] for row in rows}
