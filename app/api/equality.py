"""``/api/v1/cases/<id>/equality``: equality monitoring, kept apart from the family file
(DESIGN.md section 2): read and written on its own, each time audited as its own action."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from app.api.blueprint import READ, WRITE, ApiBlueprint
from app.http.audit import request_origin
from app.models import EqualityMonitoring
from app.services.cases import equality
from app.services.cases.equality import EqualityAnswers
from schemas.casework import EqualityIn
from schemas.casework_out import EqualityOut, FamilyEqualityOut
from tenants.flask import require_context, tenant_session

blp = ApiBlueprint(
    "case_equality",
    __name__,
    url_prefix="/api/v1/cases/<uuid:case_id>",
    description="Equality monitoring, apart from the family file",
)


@blp.route("/equality")
class FamilyEquality(MethodView):
    @blp.response(200, FamilyEqualityOut)
    @blp.errors(*READ)
    def get(self, case_id: uuid.UUID) -> dict[str, dict[uuid.UUID, EqualityAnswers]]:
        """Each family member's equality monitoring answers, read (and audited) on their own."""
        return {
            "answers": equality.read_equality(
                tenant_session(), require_context(), request_origin(), case_id
            )
        }


@blp.route("/members/<uuid:member_id>/equality")
class MemberEquality(MethodView):
    @blp.arguments(EqualityIn, unknown=RAISE)
    @blp.response(200, EqualityOut)
    @blp.errors(*WRITE)
    def put(
        self, data: dict[str, Any], case_id: uuid.UUID, member_id: uuid.UUID
    ) -> EqualityMonitoring:
        """Record or replace one family member's answers.

        A member of another family is refused as ``family_member_id``."""
        return equality.record_equality(
            tenant_session(),
            require_context(),
            request_origin(),
            case_id,
            member_id,
            EqualityAnswers(**data),
        )
