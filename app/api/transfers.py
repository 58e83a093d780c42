"""``/api/v1/transfers``, ``/api/v1/cases/<id>/transfers`` and ``/api/v1/transfer-requests``:
moving a family's case between charities with the family's consent (DESIGN.md section 6).

The same use cases as the web pages. Each side sees a transfer only at its own prisons, and the
receiver only once it is shared with it (an offer, or its own request): before that, and for any
other charity, a transfer is the same 404 as one that does not exist. A step that is the other
side's answers 403 (both sides see the transfer by then). Offer and accept take an optional
``Idempotency-Key`` header, so a retried request answers as the first did and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from marshmallow import EXCLUDE, RAISE
from sqlalchemy.orm import Session

from app.api.blueprint import OPEN, READ, STEP, WRITE, ApiBlueprint
from app.http.audit import request_origin
from app.http.settings import current_settings
from app.http.vault import request_vault
from app.models import CaseTransfer
from app.services import transfers
from app.services.platform.audit import Origin
from app.services.transfers import Accepted, views
from app.services.transfers.views import TransferDetail, TransferSummary
from schemas.transfers import (
    IdempotencyHeaders,
    TransferCancellation,
    TransferDecline,
    TransferListQuery,
    TransferProposal,
    TransferRefusal,
    TransferRequestIn,
)
from schemas.transfers_out import (
    AcceptedOut,
    RequestSentOut,
    TransferList,
    TransferOut,
    TransferRecord,
)
from tenants.context import TenantContext
from tenants.flask import require_context, tenant_session

blp = ApiBlueprint(
    "api_transfers",
    __name__,
    url_prefix="/api/v1/transfers",
    description="Transfers of a family's case between charities, from either side",
)
case_blp = ApiBlueprint(
    "case_transfers",
    __name__,
    url_prefix="/api/v1/cases/<uuid:case_id>",
    description="Proposing the transfer of one of your cases",
)
request_blp = ApiBlueprint(
    "transfer_requests",
    __name__,
    url_prefix="/api/v1/transfer-requests",
    description="Asking another charity for a family's case",
)
# Headers are read leniently (undeclared ones are ignored); the key itself is validated.
HEADERS = {"location": "headers", "unknown": EXCLUDE}


def _caller() -> tuple[Session, TenantContext, Origin]:
    """What every transfer use case is first given: this request's session, the caller's
    charity context and the request's origin (for the audit trail)."""
    return tenant_session(), require_context(), request_origin()


@blp.route("")
class TransferCollection(MethodView):
    @blp.arguments(TransferListQuery, location="query", unknown=RAISE)
    @blp.response(200, TransferList)
    @blp.errors(401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, list[TransferSummary]]:
        """The transfers your charity is a party to at your prisons, newest first.

        ``side`` keeps those you send or those you receive; ``open_only`` those not yet ended.
        Prisons, states and dates only, no personal data. A proposal is not yours to see as the
        receiver until it is offered."""
        found = views.list_transfers(*_caller(), **query)
        return {"items": found}


@blp.route("/<uuid:transfer_id>")
class TransferItem(MethodView):
    @blp.response(200, TransferOut)
    @blp.errors(*READ)
    def get(self, transfer_id: uuid.UUID) -> TransferDetail:
        """One transfer with its timeline, as your side may see it.

        The sender sees each person's consent to this transfer and whether the consents allow
        the offer. The receiver sees, while the offer stands, only what the family consented
        to: a section not consented to is absent. Reading it is audited."""
        return views.read_transfer(*_caller(), request_vault(), transfer_id)


@blp.route("/<uuid:transfer_id>/offer")
class Offer(MethodView):
    @blp.arguments(IdempotencyHeaders, **HEADERS)
    @blp.response(200, TransferRecord)
    @blp.errors(*STEP)
    def post(self, headers: dict[str, Any], transfer_id: uuid.UUID) -> CaseTransfer:
        """Offer the case to the receiving charity (the sender's caseworker or manager).

        Only with the family's valid consent to this transfer (409 otherwise); what crosses is
        what the consent allows, sealed under the receiving charity's key."""
        return transfers.offer_transfer(
            *_caller(),
            request_vault(),
            transfer_id,
            idempotency_key=headers["idempotency_key"],
        )


@blp.route("/<uuid:transfer_id>/accept")
class Accept(MethodView):
    @blp.arguments(IdempotencyHeaders, **HEADERS)
    @blp.response(200, AcceptedOut)
    @blp.errors(*STEP)
    def post(self, headers: dict[str, Any], transfer_id: uuid.UUID) -> Accepted:
        """Accept an offer (receiving site manager): the family's record becomes your new case.

        Exactly once: a retry with the same ``Idempotency-Key`` answers the same and changes
        nothing; any other accept of a decided transfer answers 409. The consent is checked
        again: if it was withdrawn or has lapsed, nothing crosses (409)."""
        return transfers.accept_transfer(
            *_caller(),
            request_vault(),
            transfer_id,
            idempotency_key=headers["idempotency_key"],
        )


@blp.route("/<uuid:transfer_id>/decline")
class Decline(MethodView):
    @blp.arguments(TransferDecline, unknown=RAISE)
    @blp.response(200, TransferRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], transfer_id: uuid.UUID) -> CaseTransfer:
        """Decline an offer with a reason (receiving site manager); the sender keeps the case."""
        return transfers.decline_transfer(*_caller(), transfer_id, **data)


@blp.route("/<uuid:transfer_id>/cancel")
class Cancel(MethodView):
    @blp.arguments(TransferCancellation, unknown=RAISE)
    @blp.response(200, TransferRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], transfer_id: uuid.UUID) -> CaseTransfer:
        """Withdraw a proposal or an unanswered offer, with a reason (sender); nothing crosses."""
        return transfers.cancel_transfer(*_caller(), transfer_id, **data)


@blp.route("/<uuid:transfer_id>/grant")
class Grant(MethodView):
    @blp.response(200, TransferRecord)
    @blp.errors(*STEP)
    def post(self, transfer_id: uuid.UUID) -> CaseTransfer:
        """Agree to another charity's request for a case (sender): it becomes a proposal, to
        offer once the family consents (``awaiting_consent`` until their consent is recorded).
        A request that matched no case can only be refused."""
        return transfers.grant_request(*_caller(), transfer_id)


@blp.route("/<uuid:transfer_id>/refuse")
class Refuse(MethodView):
    @blp.arguments(TransferRefusal, unknown=RAISE)
    @blp.response(200, TransferRecord)
    @blp.errors(*WRITE)
    def post(self, data: dict[str, Any], transfer_id: uuid.UUID) -> CaseTransfer:
        """Refuse another charity's request for a case, with a reason (sender)."""
        return transfers.refuse_request(*_caller(), transfer_id, **data)


@case_blp.route("/transfers")
class Proposal(MethodView):
    @case_blp.arguments(TransferProposal, unknown=RAISE)
    @case_blp.response(201, TransferRecord)
    @case_blp.errors(*WRITE)
    def post(self, data: dict[str, Any], case_id: uuid.UUID) -> CaseTransfer:
        """Propose moving the case to the charity that serves ``to_prison_code`` today.

        Its state is ``proposed`` when the family's consent to this transfer is already recorded
        (ready to offer), ``awaiting_consent`` otherwise. The receiving charity learns nothing
        until you offer it, with the family's consent."""
        return transfers.propose_transfer(
            *_caller(),
            case_id,
            offer_days=current_settings().transfer_offer_days,
            **data,
        )


@request_blp.route("")
class TransferRequests(MethodView):
    @request_blp.arguments(TransferRequestIn, unknown=RAISE)
    @request_blp.response(202, RequestSentOut)
    @request_blp.errors(*OPEN)
    def post(self, data: dict[str, Any]) -> CaseTransfer:
        """Ask the charity serving ``from_prison_code`` for the case of the person in custody
        with ``prison_number``, to continue at ``to_prison_code`` (site manager).

        The answer is the same whether or not that charity holds such a case: it answers the
        request itself (grant or refuse), which you then see on the transfer."""
        return transfers.request_transfer(
            *_caller(),
            request_vault(),
            offer_days=current_settings().transfer_offer_days,
            **data,
        )
