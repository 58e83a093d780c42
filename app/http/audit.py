"""The audit log's two request-level concerns: where a request came from, and refused access.

Every refusal of a signed-in actor (403 for a role with no access, 404 for an id outside their
scope or not there at all) reaches the one domain-error handler, which calls `audit_refusal`, so
no view records refusals itself. A foreign id and a missing id leave the same event, and so the
same response.
"""

from __future__ import annotations

from flask import request

from app.extensions import app_clock
from app.services.platform import audit
from app.services.platform.audit import Origin
from tenants.flask import current_actor, db_session
from tenants.permissions import is_charity_role

# The widest source the audit table stores (an IPv6 address is at most 45 characters).
SOURCE_LENGTH = 128
# Every route that refuses through the domain errors is a case route so far.
DEFAULT_RECORD_TYPE = "case"


def request_origin() -> Origin:
    """The connection's address (or what a ProxyFix set for the real proxy), and the clock."""
    return Origin(source=(request.remote_addr or "unknown")[:SOURCE_LENGTH], clock=app_clock())


def _requested() -> tuple[str, list[str]]:
    """The record type and id named in the URL: ``case_id`` names a case."""
    for name, value in (request.view_args or {}).items():
        if name.endswith("_id"):
            return name.removesuffix("_id"), [str(value)]
    return DEFAULT_RECORD_TYPE, []


def audit_refusal() -> None:
    """Record that the request's actor was refused; anonymous requests never get this far."""
    actor = current_actor()
    if actor is None:
        return
    record_type, record_ids = _requested()
    audit.record_refusal(
        db_session(),
        audit.draft_event(
            request_origin(),
            chain=audit.chain_for(actor.organisation_id, is_charity_role(actor.role_enum)),
            actor=actor.id,
            organisation=actor.organisation_id,
            action="access.refused",
            record_type=record_type,
            record_ids=record_ids,
            outcome="refused",
        ),
    )
