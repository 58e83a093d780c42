"""The ministry's dashboard of published releases (issue 5 item 4).

For staff with ``metrics:read`` (the ministry's analysts and the alliance coordinator); anyone
else gets 403 before a view runs. Every page reads published releases only, through
app.services.releases, and the stored document; never a case table and never the live metrics,
so what the dashboard shows is what the release published, cell for cell.

Filters are a GET form. A value the release does not have (a quarter not published, a table,
region, prison or charity not in it) is refused with 400 and an error summary naming the field,
rather than quietly ignored, so a bookmarked link never shows other figures than it says.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from app.domain import release_csv
from app.domain.errors import Forbidden
from app.domain.metric_catalogue import CATALOGUE
from app.domain.release_document import digest
from app.models.releases import Release
from app.services.releases import current_releases, published_release, published_releases
from app.web.settings import current_settings
from tenants.flask import current_actor, db_session
from tenants.permissions import Permission, may

bp = Blueprint("dashboard", __name__)

FIELDS = ("quarter", "table", "region", "prison", "charity")
MESSAGES = {
    "quarter": "Choose a quarter that has been published",
    "table": "Choose a table from the list",
    "region": "Choose a region from the list",
    "prison": "Choose a prison from the list",
    "charity": "Choose a charity from the list",
}


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


@dataclass(frozen=True)
class Choices:
    """What a release lets the filters choose from: (value, label) pairs."""

    tables: list[tuple[str, str]]
    regions: list[tuple[str, str]]
    prisons: list[tuple[str, str]]
    charities: list[tuple[str, str]]

    @classmethod
    def of(cls, document: dict[str, Any]) -> Choices:
        regions: set[str] = set()
        prisons: dict[str, str] = {}
        for table in document["tables"]:
            for row in table["rows"]:
                if table["dimension"] == "prison":
                    prisons[row["key"]] = row["label"]
                    if row.get("region"):
                        regions.add(row["region"])
                elif table["dimension"] == "region":
                    regions.add(row["key"])
        return cls(
            tables=[(t["id"], t["title"]) for t in document["tables"]],
            regions=[(r, r) for r in sorted(regions)],
            prisons=sorted(prisons.items(), key=lambda item: item[1]),
            charities=[(c["slug"], c["name"]) for c in document["charities"]],
        )

    def allows(self, field: str, value: str) -> bool:
        options = {"table": self.tables, "region": self.regions, "prison": self.prisons}
        pairs = options.get(field, self.charities)
        return any(value == key for key, _ in pairs)


def _number(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def _cell(value: int | float | None, row: dict[str, Any]) -> dict[str, Any]:
    """A figure as the table shows it. On a row where no member serves a prison the counts are
    0 and an average is empty for want of families: said so, never shown as suppressed."""
    if value is None and row.get("no_member_service"):
        return {"text": "no member service", "suppressed": False}
    return {"text": "suppressed" if value is None else _number(value), "suppressed": value is None}


def _label(row: dict[str, Any]) -> str:
    label = str(row["label"])
    return f"{label} (no member service)" if row.get("no_member_service") else label


def _rows(table: dict[str, Any], chosen: dict[str, str], document: dict[str, Any]) -> list[Any]:
    """The table's rows the filters keep. Prison rows know their region and charities; region
    rows are kept by region (a chosen prison stands for its region); national rows always."""
    rows: list[dict[str, Any]] = table["rows"]
    region, prison, charity = chosen["region"], chosen["prison"], chosen["charity"]
    if table["dimension"] == "prison":
        return [
            row
            for row in rows
            if (not region or row.get("region") == region)
            and (not prison or row["key"] == prison)
            and (not charity or charity in row.get("charities", ()))
        ]
    if table["dimension"] == "region":
        if not region and prison:
            region = _region_of(prison, document) or ""
        return [row for row in rows if not region or row["key"] == region]
    return rows


def _region_of(prison: str, document: dict[str, Any]) -> str | None:
    for table in document["tables"]:
        for row in table["rows"]:
            if table["dimension"] == "prison" and row["key"] == prison:
                return row.get("region")  # type: ignore[no-any-return]
    return None


def _grid(table: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The HTML table and the chart from the same figures. A national table (one row, many
    categories) is turned on its side: a row per category reads better than 20 columns."""
    columns = table["columns"]
    if table["dimension"] == "national":
        heads = ["Category", *(row["label"] for row in rows)]
        body = [
            (col["label"], [_cell(row["values"][col["key"]], row) for row in rows])
            for col in columns
        ]
        labels = [col["label"] for col in columns]
        series = [
            {"label": row["label"], "data": [row["values"][c["key"]] for c in columns]}
            for row in rows
        ]
    else:
        first = "Prison" if table["dimension"] == "prison" else "Region"
        heads = [first, *(col["label"] for col in columns)]
        body = [
            (_label(row), [_cell(row["values"][col["key"]], row) for col in columns])
            for row in rows
        ]
        labels = [row["label"] for row in rows]
        series = [
            {"label": col["label"], "data": [row["values"][col["key"]] for row in rows]}
            for col in columns
        ]
    chart = {"title": table["title"], "labels": labels, "datasets": series}
    empty = all(value is None for line in series for value in line["data"])
    return {"heads": heads, "body": body, "chart": chart, "all_suppressed": empty}


def _chosen() -> dict[str, str]:
    return {field: request.args.get(field, "").strip() for field in FIELDS}


def _errors(chosen: dict[str, str], releases: list[Release], choices: Choices) -> dict[str, str]:
    errors = {}
    if chosen["quarter"] and chosen["quarter"] not in {r.quarter for r in releases}:
        errors["quarter"] = MESSAGES["quarter"]
    for field in ("table", "region", "prison", "charity"):
        if chosen[field] and not choices.allows(field, chosen[field]):
            errors[field] = MESSAGES[field]
    return errors


def _superseded(release: Release) -> Release | None:
    if release.supersedes_id is None:
        return None
    return db_session().get(Release, release.supersedes_id)


@bp.get("/dashboard")
def index() -> str | tuple[str, int]:
    releases = current_releases(db_session())
    if not releases:
        return render_template("dashboard/empty.html")
    chosen = _chosen()
    by_quarter = {r.quarter: r for r in releases}
    release = by_quarter.get(chosen["quarter"], releases[0])
    document = json.loads(release.content)
    choices = Choices.of(document)
    errors = _errors(chosen, releases, choices)
    page = {
        "releases": releases,
        "release": release,
        "document": document,
        "choices": choices,
        "chosen": chosen,
        "errors": {f"filter-{field}": message for field, message in errors.items()},
        "field_errors": errors,
        "superseded": _superseded(release),
    }
    if errors:
        return render_template("dashboard/index.html", **page), 400
    tables = {t["id"]: t for t in document["tables"]}
    table = tables.get(chosen["table"], document["tables"][0])
    rows = _rows(table, chosen, document)
    grid = _grid(table, rows)
    return render_template("dashboard/index.html", table=table, grid=grid, **page)


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
