"""``/api/v1/cases/<id>/consents``: what a family agreed to, its withdrawal and the family's
receipt (DESIGN.md section 5). Records are never edited: a withdrawal is a new record."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from app.api.blueprint import READ, WRITE, ApiBlueprint
from app.http.audit import request_origin
from app.http.vault import request_vault
from app.models import ConsentRecord
from app.services.cases import consent_withdrawal, consents
from app.services.cases.consents import ConsentReceipt
from schemas.casework import ConsentIn, ConsentWithdrawal
from schemas.casework_out import ConsentReceiptOut, ConsentRecordOut
from tenants.flask import require_context, tenant_session

blp = ApiBlueprint(
    "case_consents",
    __name__,
    url_prefix="/api/v1/cases/<uuid:case_id>",
    description="Consent records and their receipts",
)


@blp.route("/consents")
class Consents(MethodView):
    @blp.arguments(ConsentIn, unknown=RAISE)
    @blp.response(201, ConsentRecordOut)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], case_id: uuid.UUID) -> ConsentRecord:
        """Record what the person in custody or a family member agreed to, or refused.

        A given consent to contact the family makes a referral an active case."""
        return consents.record_consent(
            tenant_session(), require_context(), request_origin(), case_id, **data
        )


@blp.route("/consents/<uuid:consent_id>/withdrawal")
class Withdrawal(MethodView):
    @blp.arguments(ConsentWithdrawal, unknown=RAISE)
    @blp.response(201, ConsentRecordOut)
    @blp.errors(*WRITE)
    def post(
        self, data: dict[str, Any], case_id: uuid.UUID, consent_id: uuid.UUID
    ) -> ConsentRecord:
        """Withdraw a consent still in force.

        The withdrawal is a new record naming the consent, working forward from
        ``withdrawn_on``; the original is never changed."""
        return consent_withdrawal.withdraw_consent(
            tenant_session(), require_context(), request_origin(), case_id, consent_id, **data
        )


@blp.route("/consents/<uuid:consent_id>/receipt")
class Receipt(MethodView):
    @blp.response(200, ConsentReceiptOut)
    @blp.errors(*READ)
    def get(self, case_id: uuid.UUID, consent_id: uuid.UUID) -> ConsentReceipt:
        """The family member's receipt of one consent record: what, with whom, until when."""
        return consents.consent_receipt(
            tenant_session(),
            require_context(),
            request_origin(),
            request_vault(),
            case_id,
            consent_id,
        )
