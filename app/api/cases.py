"""``/api/v1/cases`` and ``/api/v1/search``: the same case use cases as the web pages, as JSON."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from app.api.blueprint import OPEN, READ, WRITE, ApiBlueprint
from app.http.audit import request_origin
from app.http.vault import request_vault
from app.models import Case
from app.services.cases import cases, referrals, search
from app.services.cases.cases import CaseSummary
from schemas.cases import CaseOut, CasePage, CaseQuery, SearchResults
from schemas.casework import CaseChange, CaseClosure, CaseIn, SearchQuery
from tenants.flask import require_context, tenant_session

blp = ApiBlueprint("cases", __name__, url_prefix="/api/v1/cases", description="Case records")
search_blp = ApiBlueprint(
    "search", __name__, url_prefix="/api/v1/search", description="Finding a family's cases"
)


@blp.route("")
class CaseCollection(MethodView):
    @blp.arguments(CaseQuery, location="query", unknown=RAISE)
    @blp.response(200, CasePage)
    @blp.errors(401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List the cases you may see, newest first.

        The list is for machines (syncing, counting, dashboards): each case carries its
        reference, prison, status, dates, referral source, safeguarding flag and key worker, and
        no personal data. Names are read from one family file at a time, or found by search."""
        filters = cases.CaseFilter.from_query(query)
        page = cases.list_cases(
            tenant_session(),
            require_context(),
            request_origin(),
            filters,
            query["page"],
            query["per_page"],
        )
        meta = {
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "total_capped": page.total_capped,
            "pages": page.pages,
        }
        return {"items": page.items, "meta": meta}

    @blp.arguments(CaseIn, unknown=RAISE)
    @blp.response(201, CaseOut)
    @blp.errors(*OPEN)
    def post(self, data: dict[str, Any]) -> Case:
        """Open a case (a referral) at one of your prisons.

        For a new family, give ``person`` and usually a ``main_contact``; for a family already
        known there, give ``family_id``."""
        return referrals.open_case(
            tenant_session(), require_context(), request_origin(), request_vault(), **data
        )


@blp.route("/<uuid:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseOut)
    @blp.errors(*READ)
    def get(self, case_id: uuid.UUID) -> Case:
        """One case, if it is yours to see; otherwise 404, whether or not it exists."""
        return cases.get_case(tenant_session(), require_context(), request_origin(), case_id)

    @blp.arguments(CaseChange, unknown=RAISE)
    @blp.response(200, CaseOut)
    @blp.errors(*WRITE)
    def patch(self, data: dict[str, Any], case_id: uuid.UUID) -> Case:
        """Change what is kept current on an open case.

        The key worker, the review date and the safeguarding flag change; needs are only ever
        added. A field left out is left as it is."""
        return cases.update_case(
            tenant_session(), require_context(), request_origin(), case_id, **data
        )


@blp.route("/<uuid:case_id>/closure")
class Closure(MethodView):
    @blp.arguments(CaseClosure, unknown=RAISE)
    @blp.response(200, CaseOut)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], case_id: uuid.UUID) -> Case:
        """Close a case with a reason.

        A case flagged for safeguarding is closed by a site manager (403 for anyone else). A
        closed case is read-only."""
        return cases.close_case(
            tenant_session(), require_context(), request_origin(), case_id, **data
        )


@search_blp.route("")
class Search(MethodView):
    @search_blp.arguments(SearchQuery, location="query", unknown=RAISE)
    @search_blp.response(200, SearchResults)
    @search_blp.errors(401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, list[CaseSummary]]:
        """Find a family's cases by prison number or name.

        Cases of families whose person in custody has the prison number ``q``, or whose person
        in custody or family member has every word of ``q`` in their name; newest first, at
        most 50. A search result names people: it is how a worker finds a family."""
        found = search.find_cases(
            tenant_session(), require_context(), request_origin(), request_vault(), query["q"]
        )
        return {"items": found}
