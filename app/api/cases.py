"""``/api/v1/cases``: the same use cases as the web pages, as JSON."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.models import Case
from app.services import cases
from app.web.audit import request_origin
from schemas.cases import CaseCreate, CaseOut, CasePage, CaseQuery
from schemas.common import ErrorEnvelope
from tenants.flask import require_context, tenant_session

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Case records")


@blp.route("")
class CaseCollection(MethodView):
    @blp.arguments(CaseQuery, location="query", unknown=RAISE)
    @blp.response(200, CasePage)
    @blp.alt_response(401, schema=ErrorEnvelope)
    @blp.alt_response(403, schema=ErrorEnvelope)
    @blp.alt_response(422, schema=ErrorEnvelope)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List the cases you may see, newest first."""
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

    @blp.arguments(CaseCreate, unknown=RAISE)
    @blp.response(201, CaseOut)
    @blp.alt_response(401, schema=ErrorEnvelope)
    @blp.alt_response(403, schema=ErrorEnvelope)
    @blp.alt_response(422, schema=ErrorEnvelope)
    def post(self, data: dict[str, Any]) -> Case:
        """Open a case at one of your prisons."""
        return cases.open_case(tenant_session(), require_context(), request_origin(), **data)


@blp.route("/<uuid:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseOut)
    @blp.alt_response(401, schema=ErrorEnvelope)
    @blp.alt_response(403, schema=ErrorEnvelope)
    @blp.alt_response(404, schema=ErrorEnvelope)
    def get(self, case_id: uuid.UUID) -> Case:
        """One case, if it is yours to see; otherwise 404, whether or not it exists."""
        return cases.get_case(tenant_session(), require_context(), request_origin(), case_id)
