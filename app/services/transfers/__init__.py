"""Moving a family's case between charities with the family's consent (DESIGN.md section 6): the
one entry to the transfer use cases, so that callers need not know how they are arranged.

- steps: the machinery every step shares (loading a transfer through the walls, asking the state
  machine, storing its step all or nothing, the events in both audit chains, notifications, the
  end of a transfer not accepted);
- terms: which case may go, and under what consent (the gate, asked as ``terms.consent_gate``);
- sender: propose, offer, cancel, grant or refuse a request;
- receiver: request, accept (exactly once), decline;
- platform: halt on a consent withdrawal, lapse of unanswered offers;
- package and objection: what crosses, cut to the consents, and the family's objection to
  statistical use that goes with it;
- views and case_history: what each side reads, and one case's transfers on its family page;
- contract_change and movements: the platform's ways into a transfer, a prison's family service
  moving to another charity and a prison movement feed; outbox: emailing the notifications the
  steps write.

The package reads app.services.cases.consents and nothing of it imports the package: withdrawing a
consent and halting its transfers are composed above both (app.services.cases.consent_withdrawal).
"""

from __future__ import annotations

from app.services.platform.reference import serving_charity
from app.services.transfers.platform import expire_overdue, halt_for_withdrawal
from app.services.transfers.receiver import (
    Accepted,
    accept_transfer,
    decline_transfer,
    request_transfer,
)
from app.services.transfers.sender import (
    cancel_transfer,
    grant_request,
    offer_transfer,
    propose_transfer,
    refuse_request,
)
from app.services.transfers.steps import (
    PLATFORM,
    load_transfer,
    side_of,
)
from app.services.transfers.terms import case_to_transfer

__all__ = [
    "PLATFORM",
    "Accepted",
    "accept_transfer",
    "cancel_transfer",
    "case_to_transfer",
    "decline_transfer",
    "expire_overdue",
    "grant_request",
    "halt_for_withdrawal",
    "load_transfer",
    "offer_transfer",
    "propose_transfer",
    "refuse_request",
    "request_transfer",
    "serving_charity",
    "side_of",
]
