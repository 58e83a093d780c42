"""Consent on the family page: recording it, withdrawing it, and the family's printable receipt
(DESIGN.md section 5). Records are never edited; a withdrawal is a new record."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from app.domain.consent import ConsentState
from app.domain.errors import Conflict, NotFound
from app.domain.vocabulary import ConsentDecision
from app.http.audit import request_origin
from app.http.vault import request_vault
from app.services.cases import consent_withdrawal, consents
from app.services.cases.family_file import ConsentView, FamilyFile
from app.services.platform.reference import charities
from app.web.family_page import form_round_trip, load_form
from app.web.forms import FormFields
from schemas.casework import ConsentIn, ConsentWithdrawal
from tenants.flask import require_context, tenant_session

bp = Blueprint("consents", __name__, url_prefix="/cases/<uuid:case_id>/consents")

CONSENT = FormFields(
    labels={
        "subject": "whose consent this is",
        "family_member_id": "the family member",
        "given_by_member_id": "the parent or carer giving consent",
        "purpose": "what the consent is for",
        "recipient_charity_id": "the charity the case would go to",
        "decision": "whether consent was given or refused",
        "categories": "the kinds of information",
        "method": "how consent was given",
        "verification": "how it was checked",
        "valid_from": "the date consent was given",
        "expires_on": "the date consent ends",
    },
    dates=frozenset({"valid_from", "expires_on"}),
    lists=frozenset({"categories"}),
    choices=frozenset(
        {
            "subject",
            "family_member_id",
            "given_by_member_id",
            "purpose",
            "recipient_charity_id",
            "decision",
            "method",
            "verification",
        }
    ),
)
WITHDRAWAL = FormFields(
    labels={
        "method": "how the withdrawal was made",
        "verification": "how it was checked",
        "withdrawn_on": "the date consent was withdrawn",
    },
    dates=frozenset({"withdrawn_on"}),
    choices=frozenset({"method", "verification"}),
)


def _charities(file: FamilyFile) -> dict[str, object]:
    """The other member charities, the only ones a transfer consent can name."""
    others = [c for c in charities(tenant_session()) if c.id != file.case.charity_id]
    return {"charities": others}


@bp.route("/new", methods=("GET", "POST"))
def record_consent(case_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(ConsentIn(), CONSENT)
        return consents.record_consent(
            tenant_session(), require_context(), request_origin(), case_id, **data
        )

    return form_round_trip(
        case_id, "families/consent_new.html", CONSENT, write, "Consent recorded", _charities
    )


@bp.route("/<uuid:consent_id>/withdraw", methods=("GET", "POST"))
def withdraw_consent(case_id: uuid.UUID, consent_id: uuid.UUID) -> ResponseReturnValue:
    def write() -> object:
        data = load_form(ConsentWithdrawal(), WITHDRAWAL)
        return consent_withdrawal.withdraw_consent(
            tenant_session(), require_context(), request_origin(), case_id, consent_id, **data
        )

    def choices(file: FamilyFile) -> dict[str, object]:
        return {"consent": _withdrawable(file, consent_id)}

    return form_round_trip(
        case_id, "families/consent_withdraw.html", WITHDRAWAL, write, "Consent withdrawn", choices
    )


def _withdrawable(file: FamilyFile, consent_id: uuid.UUID) -> ConsentView:
    """The consent to withdraw, from the family file already read: one still in force (or not
    yet started). Another record of the case is a conflict; any other id is missing."""
    for consent in file.consents:
        if consent.id == consent_id:
            if consent.decision == ConsentDecision.GIVEN and consent.state in (
                ConsentState.ACTIVE,
                ConsentState.NOT_YET_VALID,
            ):
                return consent
            raise Conflict("only a consent that is still in force can be withdrawn")
    raise NotFound("consent")


@bp.get("/<uuid:consent_id>/receipt")
def receipt(case_id: uuid.UUID, consent_id: uuid.UUID) -> str:
    found = consents.consent_receipt(
        tenant_session(), require_context(), request_origin(), request_vault(), case_id, consent_id
    )
    return render_template("families/receipt.html", receipt=found, case_id=case_id)
