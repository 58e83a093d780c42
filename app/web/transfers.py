"""Transfers of a family's case between charities, for staff (DESIGN.md section 6, issue 4).

The incoming and outgoing lists; one transfer as the reading side may see it, with the steps that
side may take; proposing a case's transfer; and a receiving manager's request for a case. Each
route loads its form, calls one use case and redirects with a banner. A step the service refuses
(bad input, or a conflict such as a lapsed offer or missing consent) shows the page again with
the reason in the error summary; a foreign or missing transfer is the same 404 as everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, InvalidInput
from app.domain.transfers.machine import Party, TransferReason, TransferState
from app.http.audit import request_origin
from app.http.settings import current_settings
from app.http.vault import request_vault
from app.services import transfers
from app.services.platform.audit import Origin
from app.services.platform.reference import prisons_by_code
from app.services.transfers import views
from app.web.family_page import load_form, read_file, render_family
from app.web.forms import FormFields, form_errors
from schemas.transfers import (
    CANCEL_REASONS,
    DECLINE_REASONS,
    PROPOSAL_REASONS,
    REFUSAL_REASONS,
    REQUEST_REASONS,
    TransferCancellation,
    TransferDecline,
    TransferProposal,
    TransferRefusal,
    TransferRequestIn,
    TransferStep,
)
from tenants.context import TenantContext
from tenants.flask import require_context, tenant_session

bp = Blueprint("transfers", __name__)

PROPOSAL = FormFields(
    labels={
        "to_prison_code": "the prison the case would go to",
        "reason": "why the case would move",
    },
    choices=frozenset({"to_prison_code", "reason"}),
)
REQUEST = FormFields(
    labels={
        "prison_number": "the prison number of the person in custody",
        "from_prison_code": "the prison they moved from",
        "to_prison_code": "your prison they moved to",
        "reason": "why you are asking for the case",
    },
    choices=frozenset({"from_prison_code", "to_prison_code", "reason"}),
)
STEP = FormFields(labels={"idempotency_key": "the form's reference"})
CANCEL = FormFields(
    labels={"reason": "why the transfer is cancelled"}, choices=frozenset({"reason"})
)
REFUSAL = FormFields(
    labels={"reason": "why you are refusing the request"}, choices=frozenset({"reason"})
)
DECLINE = FormFields(
    labels={"reason": "why you are declining the case"}, choices=frozenset({"reason"})
)
# Where a refused step's message points in the error summary: the actions on the transfer page.
ACTIONS = "actions"


def _choices(reasons: tuple[TransferReason, ...]) -> list[tuple[str, str]]:
    return [(reason.value, reason.label) for reason in reasons]


REASONS = {
    "proposal": _choices(PROPOSAL_REASONS),
    "request": _choices(REQUEST_REASONS),
    "cancel": _choices(CANCEL_REASONS),
    "refusal": _choices(REFUSAL_REASONS),
    "decline": _choices(DECLINE_REASONS),
}


def _who() -> tuple[Session, TenantContext, Origin]:
    return tenant_session(), require_context(), request_origin()


def _offer_days() -> int:
    return current_settings().transfer_offer_days


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _discard_refused_step() -> None:
    """A refused step may have locked or moved the transfer row before the state machine said
    no: its transaction is thrown away before the page is read again (reading commits)."""
    tenant_session().rollback()


# --- the lists and one transfer ---------------------------------------------------------------


@bp.get("/transfers")
def overview() -> ResponseReturnValue:
    rows = views.list_transfers(*_who())
    return render_template(
        "transfers/list.html",
        incoming=[row for row in rows if row.side is Party.RECEIVER],
        outgoing=[row for row in rows if row.side is Party.SENDER],
    )


def _transfer_page(
    transfer_id: uuid.UUID, errors: dict[str, list[str]] | None = None, status: int = 200
) -> ResponseReturnValue:
    detail = views.read_transfer(*_who(), request_vault(), transfer_id)
    page = render_template(
        "transfers/detail.html",
        detail=detail,
        summary=detail.summary,
        errors=errors or {},
        form=request.form,
        posted=bool(errors),
        # A fresh key per page shown: a form sent twice (a double click, a retry after a
        # timeout) is one step; the service returns the first outcome for a key it has seen.
        idempotency_key=str(uuid.uuid4()),
        reasons=REASONS,
    )
    return page, status


@bp.get("/transfers/<uuid:transfer_id>")
def detail(transfer_id: uuid.UUID) -> ResponseReturnValue:
    return _transfer_page(transfer_id)


def _take_step(
    transfer_id: uuid.UUID, spec: FormFields, step: Callable[[], tuple[str, str]]
) -> ResponseReturnValue:
    """Run one step (load the form, call the use case; it returns the banner and where to go
    next), or show the transfer page again saying why it was refused."""
    try:
        done, target = step()
    except InvalidInput as exc:
        _discard_refused_step()
        return _transfer_page(transfer_id, form_errors(exc.errors, spec), 400)
    except Conflict as exc:
        _discard_refused_step()
        return _transfer_page(transfer_id, {ACTIONS: [_sentence(str(exc))]}, 409)
    flash(done, "success")
    return redirect(target)


def _here(transfer_id: uuid.UUID) -> str:
    return url_for("transfers.detail", transfer_id=transfer_id)


@bp.post("/transfers/<uuid:transfer_id>/offer")
def offer(transfer_id: uuid.UUID) -> ResponseReturnValue:
    def step() -> tuple[str, str]:
        data = load_form(TransferStep(), STEP)
        transfers.offer_transfer(*_who(), request_vault(), transfer_id, **data)
        return "Case offered: the other charity can now see what the family agreed to share", _here(
            transfer_id
        )

    return _take_step(transfer_id, STEP, step)


@bp.post("/transfers/<uuid:transfer_id>/cancel")
def cancel(transfer_id: uuid.UUID) -> ResponseReturnValue:
    def step() -> tuple[str, str]:
        data = load_form(TransferCancellation(), CANCEL)
        transfers.cancel_transfer(*_who(), transfer_id, **data)
        return "Transfer cancelled: the case stays with you", _here(transfer_id)

    return _take_step(transfer_id, CANCEL, step)


@bp.post("/transfers/<uuid:transfer_id>/grant")
def grant(transfer_id: uuid.UUID) -> ResponseReturnValue:
    def step() -> tuple[str, str]:
        granted = transfers.grant_request(*_who(), transfer_id)
        if granted.state == TransferState.AWAITING_CONSENT.value:
            done = "Request agreed: record the family's consent, then offer the case"
        else:
            done = "Request agreed: the family's consent is recorded, so you can offer the case"
        return done, _here(transfer_id)

    return _take_step(transfer_id, STEP, step)


@bp.post("/transfers/<uuid:transfer_id>/refuse")
def refuse(transfer_id: uuid.UUID) -> ResponseReturnValue:
    def step() -> tuple[str, str]:
        data = load_form(TransferRefusal(), REFUSAL)
        transfers.refuse_request(*_who(), transfer_id, **data)
        return "Request refused", _here(transfer_id)

    return _take_step(transfer_id, REFUSAL, step)


@bp.post("/transfers/<uuid:transfer_id>/accept")
def accept(transfer_id: uuid.UUID) -> ResponseReturnValue:
    def step() -> tuple[str, str]:
        data = load_form(TransferStep(), STEP)
        accepted = transfers.accept_transfer(*_who(), request_vault(), transfer_id, **data)
        return "Transfer accepted: the family's case continues here", url_for(
            "web.case_detail", case_id=accepted.case_id
        )

    return _take_step(transfer_id, STEP, step)


@bp.post("/transfers/<uuid:transfer_id>/decline")
def decline(transfer_id: uuid.UUID) -> ResponseReturnValue:
    def step() -> tuple[str, str]:
        data = load_form(TransferDecline(), DECLINE)
        transfers.decline_transfer(*_who(), transfer_id, **data)
        return "Transfer declined: the case stays with the sending charity", _here(transfer_id)

    return _take_step(transfer_id, DECLINE, step)


# --- proposing a case's transfer --------------------------------------------------------------


def _choose_prison(
    case_id: uuid.UUID, errors: dict[str, list[str]] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The first question: which prison the case would go to."""
    file = read_file(case_id)
    destinations = views.transfer_destinations(*_who())
    page = make_response(
        render_family(
            "transfers/propose_prison.html",
            file,
            errors,
            spec=PROPOSAL,
            destinations=destinations,
            chosen=request.values.get("to_prison_code", ""),
        )
    )
    page.status_code = status
    return page


def _confirm(
    case_id: uuid.UUID,
    check: views.ProposalCheck,
    code: str,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The second: who would receive the case, each person's consent, and why it moves."""
    file = read_file(case_id)
    prison = prisons_by_code(tenant_session(), [code]).get(code)
    page = make_response(
        render_family(
            "transfers/propose_confirm.html",
            file,
            errors,
            spec=PROPOSAL,
            check=check,
            to_prison_code=code,
            to_prison=prison.name if prison else code,
            reasons=REASONS,
        )
    )
    page.status_code = status
    return page


def _check(case_id: uuid.UUID, code: str) -> views.ProposalCheck:
    return views.check_proposal(*_who(), request_vault(), case_id, code)


NOT_SERVED = "Choose a prison another member charity serves today"


@bp.route("/cases/<uuid:case_id>/transfers/new", methods=("GET", "POST"))
def propose(case_id: uuid.UUID) -> ResponseReturnValue:
    if request.method == "POST":
        return _propose(case_id)
    if "to_prison_code" not in request.args:
        return _choose_prison(case_id)
    chosen = request.args["to_prison_code"].strip()
    try:
        code = TransferProposal().load({"to_prison_code": chosen} if chosen else {})
    except ValidationError as exc:
        return _choose_prison(case_id, form_errors(exc.messages, PROPOSAL), 400)
    check = _check(case_id, code["to_prison_code"])
    if check.receiver_charity_id is None:
        return _choose_prison(case_id, {"to_prison_code": [NOT_SERVED]}, 400)
    return _confirm(case_id, check, code["to_prison_code"])


def _propose(case_id: uuid.UUID) -> ResponseReturnValue:
    try:
        data = load_form(TransferProposal(), PROPOSAL)
        row = transfers.propose_transfer(*_who(), case_id, offer_days=_offer_days(), **data)
    except InvalidInput as exc:
        _discard_refused_step()
        errors = form_errors(exc.errors, PROPOSAL)
        code = request.form.get("to_prison_code", "")
        if "to_prison_code" in errors or not code:
            return _choose_prison(case_id, errors, 400)
        return _confirm(case_id, _check(case_id, code), code, errors, 400)
    except Conflict as exc:
        _discard_refused_step()
        return _choose_prison(case_id, {"to_prison_code": [_sentence(str(exc))]}, 409)
    if row.state == TransferState.AWAITING_CONSENT.value:
        flash("Transfer proposed: record the family's consent, then offer the case", "success")
    else:
        flash("Transfer proposed: nothing is shared until you offer the case", "success")
    return redirect(_here(row.id))


# --- a receiving manager asks for a case ------------------------------------------------------


def _request_page(
    errors: dict[str, list[str]] | None = None, status: int = 200
) -> ResponseReturnValue:
    context = require_context()
    destinations = views.transfer_destinations(tenant_session(), context, request_origin())
    own = prisons_by_code(tenant_session(), context.prison_codes)
    page = render_template(
        "transfers/request.html",
        destinations=destinations,
        own_prisons=sorted((code, prison.name) for code, prison in own.items()),
        errors=errors or {},
        form=request.form,
        reasons=REASONS,
    )
    return page, status


@bp.route("/transfers/requests/new", methods=("GET", "POST"))
def request_case() -> ResponseReturnValue:
    if request.method == "GET":
        return _request_page()
    try:
        data = load_form(TransferRequestIn(), REQUEST)
        transfers.request_transfer(*_who(), request_vault(), offer_days=_offer_days(), **data)
    except InvalidInput as exc:
        _discard_refused_step()
        return _request_page(form_errors(exc.errors, REQUEST), 400)
    # Only that it was sent: whether a case matched is the other charity's to say.
    flash("Request sent", "success")
    return redirect(url_for("transfers.overview"))
