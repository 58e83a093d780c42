"""Moving a family's case between charities with the family's consent (DESIGN.md section 6): the
one entry to the transfer use cases, so that callers need not know how they are arranged.

- app.services.transfer_steps: the machinery every step shares (loading a transfer through the
  walls, asking the state machine, storing its step all or nothing, the events in both audit
  chains, notifications, the end of a transfer not accepted);
- app.services.transfer_terms: which case may go, and under what consent (the gate);
- app.services.transfer_sender: propose, offer, cancel, grant or refuse a request;
- app.services.transfer_receiver: request, accept (exactly once), decline;
- app.services.transfer_platform: halt on a consent withdrawal, lapse of unanswered offers.
"""

from __future__ import annotations

from app.services.reference import serving_charity
from app.services.transfer_platform import expire_overdue, halt_for_withdrawal
from app.services.transfer_receiver import (
    Accepted,
    accept_transfer,
    decline_transfer,
    request_transfer,
)
from app.services.transfer_sender import (
    cancel_transfer,
    grant_request,
    offer_transfer,
    propose_transfer,
    refuse_request,
)
from app.services.transfer_steps import (
    PLATFORM,
    TransferConsentMissing,
    TransferRefused,
    load_transfer,
    side_of,
)
from app.services.transfer_terms import case_to_transfer, consent_gate

__all__ = [
    "PLATFORM",
    "Accepted",
    "TransferConsentMissing",
    "TransferRefused",
    "accept_transfer",
    "cancel_transfer",
    "case_to_transfer",
    "consent_gate",
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
