"""The ministry's dashboard of published releases (issue 5 item 4).

For staff with ``metrics:read`` (the ministry's analysts and the alliance coordinator); anyone
else gets 403 before a view runs. Every page reads published releases only, through
app.services.figures.releases, and the stored document; never a case table and never the live
metrics, so what the dashboard shows is what the release published, cell for cell.

Filters are a GET form. A value the release does not have (a quarter not published, a table,
region, prison, charity or chart figure not in it) is refused with 400 and an error summary
naming the field, rather than quietly ignored, so a bookmarked link never shows other figures
than it says. The table as filtered downloads as CSV and JSON under the same rule.

The trend (issue 12) is one figure (table, row, column) across the current revision of every
published quarter, oldest first (app.domain.figures.release.trend). Quarters read in plain English
on every page ("July to September 2026"); the codes stay in URLs and file names.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from app.domain.errors import Forbidden
from app.domain.figures.catalogue import CATALOGUE
from app.domain.figures.periods import period_name, quarter_name
from app.domain.figures.release import csv_file as release_csv
from app.domain.figures.release.document import digest
from app.domain.figures.release.trend import Figure, Mark, TrendTable, trend, trend_tables
from app.http.settings import current_settings
from app.models.releases import Release
from app.services.figures.releases import current_releases, published_release, published_releases
from app.web.release_view import MARKS, Choices, grid, kept_rows, number
from tenants.flask import current_actor, db_session
from tenants.permissions import Permission, may

bp = Blueprint("dashboard", __name__)

FIELDS = ("quarter", "table", "region", "prison", "charity", "column")
TREND_FIELDS = ("table", "row", "column")
MESSAGES = {
    "quarter": "Choose a quarter that has been published",
    "table": "Choose a table from the list",
    "region": "Choose a region from the list",
    "prison": "Choose a prison from the list",
    "charity": "Choose a charity from the list",
    "column": "Choose a figure from the list",
    "row": "Choose a row of this table from the list",
}


@bp.app_template_filter("quarter_name")
def _quarter_name(code: str) -> str:
    return quarter_name(code)


@bp.app_template_filter("period_name")
def _period_name(period: dict[str, str]) -> str:
    return period_name(date.fromisoformat(period["start"]), date.fromisoformat(period["end"]))


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    """For the staff navigation (_staff.html): whether the user reads the figures, and whether
    an endpoint exists yet (the release screens arrive in their own blueprint)."""

    def has_endpoint(name: str) -> bool:
        return name in current_app.view_functions

    actor = current_actor()
    reads = actor is not None and may(actor.role_enum, Permission.METRICS_READ)
    return {"reads_metrics": reads, "has_endpoint": has_endpoint}


@bp.before_request
def _require_metrics_read() -> None:
    actor = current_actor()
    if actor is None or not may(actor.role_enum, Permission.METRICS_READ):
        raise Forbidden("no metrics access")


def _chosen(fields: tuple[str, ...] = FIELDS) -> dict[str, str]:
    return {field: request.args.get(field, "").strip() for field in fields}


def _errors(
    chosen: dict[str, str], quarters: set[str], choices: Choices, document: dict[str, Any]
) -> dict[str, str]:
    errors = {}
    if chosen["quarter"] and chosen["quarter"] not in quarters:
        errors["quarter"] = MESSAGES["quarter"]
    for field in ("table", "region", "prison", "charity"):
        if chosen[field] and not choices.allows(field, chosen[field]):
            errors[field] = MESSAGES[field]
    if chosen["column"] and "table" not in errors:
        columns = {c["key"] for c in _chosen_table(document, chosen)["columns"]}
        if chosen["column"] not in columns:
            errors["column"] = MESSAGES["column"]
    return errors


def _chosen_table(document: dict[str, Any], chosen: dict[str, str]) -> dict[str, Any]:
    tables = {t["id"]: t for t in document["tables"]}
    return tables.get(chosen["table"], document["tables"][0])


def _superseded(release: Release) -> Release | None:
    if release.supersedes_id is None:
        return None
    return db_session().get(Release, release.supersedes_id)


def _figures_page(
    release: Release, releases: list[Release], chosen: dict[str, str], quarters: set[str]
) -> dict[str, Any]:
    """The dashboard's page for a release and the filters: with the table's kept rows and its
    grid when every filter is known, with field errors (and no grid) when one is not."""
    document = json.loads(release.content)
    choices = Choices.of(document)
    errors = _errors(chosen, quarters, choices, document)
    table = _chosen_table(document, chosen)
    column = chosen["column"] or table["columns"][0]["key"]
    page: dict[str, Any] = {
        "releases": releases,
        "release": release,
        "document": document,
        "choices": choices,
        "chosen": chosen,
        "errors": {f"filter-{field}": message for field, message in errors.items()},
        "field_errors": errors,
        "superseded": _superseded(release),
        "table": table,
        "column": column,
        "column_choices": [(c["key"], c["label"]) for c in table["columns"]],
        "column_label": next(
            (c["label"] for c in table["columns"] if c["key"] == column),
            table["columns"][0]["label"],
        ),
    }
    if errors:
        return page
    rows = kept_rows(table, chosen, document)
    kept = {field: chosen[field] for field in ("region", "prison", "charity") if chosen[field]}
    page.update(
        grid=grid(table, rows, column),
        rows=rows,
        filters={"table": table["id"], **kept},
        trend_query={
            "table": table["id"],
            "row": rows[0]["key"] if rows else None,
            "column": column,
        },
    )
    return page


@bp.get("/dashboard")
def index() -> str | tuple[str, int]:
    releases = current_releases(db_session())
    if not releases:
        return render_template("dashboard/empty.html")
    chosen = _chosen()
    by_quarter = {r.quarter: r for r in releases}
    release = by_quarter.get(chosen["quarter"], releases[0])
    page = _figures_page(release, releases, chosen, set(by_quarter))
    if page["errors"]:
        return render_template("dashboard/index.html", **page), 400
    return render_template("dashboard/index.html", **page)


def _trend_errors(chosen: dict[str, str], tables: dict[str, TrendTable]) -> dict[str, str]:
    if chosen["table"] and chosen["table"] not in tables:
        return {"table": MESSAGES["table"]}
    table = tables[chosen["table"] or next(iter(tables))]
    errors = {}
    if chosen["row"] and chosen["row"] not in dict(table.rows):
        errors["row"] = MESSAGES["row"]
    if chosen["column"] and chosen["column"] not in dict(table.columns):
        errors["column"] = MESSAGES["column"]
    return errors


def _trend_table(points: list[Any]) -> list[dict[str, Any]]:
    """The trend's rows as the table shows them: the figure, or what stands in its place."""
    shown = []
    for point in points:
        if point.mark is Mark.PUBLISHED:
            text = number(point.value)
        elif point.mark is Mark.NO_MEMBER_SERVICE and point.value is not None:
            text = f"{number(point.value)} (no member service)"
        else:
            text = str(point.mark)
        shown.append({"point": point, "text": text})
    return shown


@bp.get("/dashboard/trend")
def trend_page() -> str | tuple[str, int]:
    releases = current_releases(db_session())
    if not releases:
        return render_template("dashboard/empty.html")
    documents = [json.loads(release.content) for release in releases]
    tables = trend_tables(documents)
    chosen = _chosen(TREND_FIELDS)
    errors = _trend_errors(chosen, tables)
    table_id = chosen["table"] if chosen["table"] in tables else next(iter(tables))
    table = tables[table_id]
    page: dict[str, Any] = {
        "table_choices": [(key, entry.title) for key, entry in tables.items()],
        "table_id": table_id,
        "table": table,
        "chosen": chosen,
        "errors": {f"trend-{field}": message for field, message in errors.items()},
        "field_errors": errors,
        "newest": releases[0],
    }
    if errors:
        return render_template("dashboard/trend.html", **page), 400
    figure = Figure(
        table_id, chosen["row"] or table.rows[0][0], chosen["column"] or table.columns[0][0]
    )
    points = trend(documents, figure)
    chart = {
        "kind": "line",
        "title": table.title,
        "series": dict(table.columns)[figure.column],
        # Two lines a label ("July to September", "2026"), so a phone's axis has room.
        "labels": [quarter_name(p.quarter).rsplit(" ", 1) for p in points],
        "data": [p.value for p in points],
        "marks": [MARKS.get(p.mark) for p in points],
    }
    page.update(
        figure=figure,
        row_label=dict(table.rows)[figure.row],
        column_label=dict(table.columns)[figure.column],
        shown=_trend_table(points),
        chart=chart,
    )
    return render_template("dashboard/trend.html", **page)


@bp.get("/dashboard/rules")
def rules() -> str:
    settings = current_settings()
    return render_template(
        "dashboard/rules.html",
        threshold=settings.disclosure_threshold,
        base=settings.disclosure_base,
        releases=published_releases(db_session()),
        catalogue=CATALOGUE,
    )


def _published(release_id: uuid.UUID) -> tuple[Release, dict[str, Any]]:
    # A draft, a discarded build and a missing id are the same NotFound, the same 404 bytes.
    release = published_release(db_session(), release_id)
    return release, json.loads(release.content)


def _download(body: bytes, mimetype: str, name: str, etag: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.make_conditional(request)  # a matching If-None-Match gets 304, no body
    return response


@bp.get("/dashboard/releases/<uuid:release_id>.json")
def release_json(release_id: uuid.UUID) -> Response:
    release, document = _published(release_id)
    body = release.content.encode("utf-8")
    name = release_csv.filename(document, "json")
    return _download(body, "application/json", name, release.sha256)


@bp.get("/dashboard/releases/<uuid:release_id>.csv")
def release_csv_file(release_id: uuid.UUID) -> Response:
    _release, document = _published(release_id)
    body = release_csv.release_csv(document)
    name = release_csv.filename(document, "csv")
    return _download(body, "text/csv", name, digest(body))


def _filtered(release_id: uuid.UUID) -> dict[str, Any] | Response:
    """The dashboard's page for the release and the filters, for a download of its table; or
    that page with its error summary and 400 when a filter is not in the release."""
    release = published_release(db_session(), release_id)
    releases = current_releases(db_session())
    page = _figures_page(release, releases, _chosen(), {release.quarter})
    if page["errors"]:
        return Response(render_template("dashboard/index.html", **page), 400)
    return page


def _name(page: dict[str, Any], extension: str) -> str:
    # The table id is one the release has (checked above): letters and underscores only.
    whole = release_csv.filename(page["document"], extension)
    return whole.replace(".", f"-{page['table']['id']}.", 1)


@bp.get("/dashboard/releases/<uuid:release_id>/table.csv")
def table_csv(release_id: uuid.UUID) -> Response:
    page = _filtered(release_id)
    if isinstance(page, Response):
        return page
    part = {**page["document"], "tables": [{**page["table"], "rows": page["rows"]}]}
    body = release_csv.release_csv(part)
    return _download(body, "text/csv", _name(page, "csv"), digest(body))


@bp.get("/dashboard/releases/<uuid:release_id>/table.json")
def table_json(release_id: uuid.UUID) -> Response:
    page = _filtered(release_id)
    if isinstance(page, Response):
        return page
    document, release = page["document"], page["release"]
    part = {
        "quarter": document["quarter"],
        "revision": document["revision"],
        "release_id": str(release.id),
        "release_sha256": release.sha256,
        "filters": page["filters"],
        "rules": document["rules"],
        "table": {**page["table"], "rows": page["rows"]},
    }
    body = json.dumps(part, ensure_ascii=False, indent=2).encode("utf-8")
    return _download(body, "application/json", _name(page, "json"), digest(body))
