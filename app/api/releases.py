"""``/api/v1/releases``: published releases, for the ministry's OAuth2 clients (issue 5 item 5).

Only a client's token with ``metrics:read`` opens these (``require_oauth``); a member of staff's
personal token does not, the ministry analyst's included. The views run with no tenant context
and read published releases only (app.services.figures.releases), never a case table.

A document and its tables are served as bytes: the document exactly as stored when it was built
(``Release.content``, whose SHA-256 is its ETag), a table as the canonical JSON of that table;
so the same request always gets byte-identical figures. A draft, a discarded build, a missing
release and a table the document does not have all get the same 404.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, RAISE

from app.api.oauth import METRICS_READ, require_oauth
from app.domain.errors import NotFound
from app.domain.figures.release.document import canonical
from app.models.releases import Release
from app.services.figures.releases import published_release, published_releases
from schemas.common import ErrorEnvelope
from schemas.releases import (
    ConditionalHeaders,
    ReleaseDocumentOut,
    ReleaseList,
    ReleaseListQuery,
    TableOut,
)
from tenants.flask import db_session

blp = Blueprint(
    "releases_api",
    __name__,
    url_prefix="/api/v1/releases",
    description="Published quarterly releases of anonymised figures, for the Ministry's clients",
)

# Marks each operation in the OpenAPI document as an OAuth2 client's (app.api.__init__).
SECURITY = [{"oauth2": [METRICS_READ]}]
JSON = "application/json"
WHY = {
    401: "No live client token (missing, unknown, expired, or its client revoked); the answer "
    "carries a Bearer challenge",
    403: "The token does not carry the metrics:read scope",
    404: "No such published release, or no such table in it",
    422: "The query has errors, named by field",
}


def _errors(*statuses: int) -> Any:
    def decorate(view: Any) -> Any:
        for status in statuses:
            view = blp.alt_response(status, schema=ErrorEnvelope, description=WHY[status])(view)
        return view

    return decorate


def _tables(release: Release) -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = json.loads(release.content)["tables"]
    return tables


def _summary(release: Release) -> dict[str, Any]:
    return {
        "id": release.id,
        "quarter": release.quarter,
        "revision": release.revision,
        "published_at": release.published_at,
        "sha256": release.sha256,
        "supersedes": release.supersedes_id,
        "revision_reason": release.revision_reason,
        "links": {
            "document": url_for(".ReleaseDocument", release_id=release.id),
            "tables": [
                {
                    "id": table["id"],
                    "title": table["title"],
                    "href": url_for(".ReleaseTable", release_id=release.id, table_id=table["id"]),
                }
                for table in _tables(release)
            ],
        },
    }


def _json_bytes(body: bytes, etag: str | None = None) -> Response:
    response = Response(body, status=200, content_type=JSON)
    if etag is not None:
        response.set_etag(etag)
    return response


@blp.route("")
class ReleaseCollection(MethodView):
    @require_oauth(METRICS_READ)
    @blp.doc(security=SECURITY)
    @blp.arguments(ReleaseListQuery, location="query", unknown=RAISE)
    @blp.response(200, ReleaseList)
    @_errors(401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Every published release, newest quarter first, the latest revision first within it.

        Each names its document and tables, and the SHA-256 of the document's bytes. A quarter
        revised has several releases: a revision says which release it supersedes and why."""
        releases = published_releases(db_session())
        if "quarter" in query:
            releases = [release for release in releases if release.quarter == query["quarter"]]
        return {"items": [_summary(release) for release in releases]}


@blp.route("/<uuid:release_id>")
class ReleaseDocument(MethodView):
    @require_oauth(METRICS_READ)
    @blp.doc(security=SECURITY)
    @blp.arguments(ConditionalHeaders, location="headers", unknown=EXCLUDE)
    @blp.response(200, ReleaseDocumentOut, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(304, description="Your copy (If-None-Match) is the release: no body")
    @_errors(401, 403, 404)
    def get(self, _headers: dict[str, Any], release_id: uuid.UUID) -> Response:
        """One published release's document, byte for byte as it was published.

        Every table of the catalogue with every row and column; a suppressed figure is null.
        The ETag is the quoted SHA-256 of these bytes: send it back in ``If-None-Match`` to get
        304 while the release is the same (a published release never changes)."""
        release = published_release(db_session(), release_id)
        if request.if_none_match.contains_weak(release.sha256):
            response = Response(status=304)
            response.set_etag(release.sha256)
            return response
        return _json_bytes(release.content.encode("utf-8"), release.sha256)


@blp.route("/<uuid:release_id>/tables/<string:table_id>")
class ReleaseTable(MethodView):
    @require_oauth(METRICS_READ)
    @blp.doc(security=SECURITY)
    @blp.response(200, TableOut)
    @_errors(401, 403, 404)
    def get(self, release_id: uuid.UUID, table_id: str) -> Response:
        """One table of a published release, as canonical JSON (sorted keys, no spaces).

        The same bytes on every call; the table is the one in the document, unchanged."""
        release = published_release(db_session(), release_id)
        for table in _tables(release):
            if table["id"] == table_id:
                return _json_bytes(canonical(table))
        raise NotFound("no such table")
