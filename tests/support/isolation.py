"""What the isolation walks share: the routes that take a case or a transfer id, found from the
app's own URL map (so a route added later is walked without anyone listing it), good bodies for
the case API's writes, the tenant tables' row counts that show a walk wrote nothing, and two
transfers to walk the transfer routes with (the ``two_transfers`` fixture, tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import Rule

from app.domain.people import PersonDetails
from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import Base
from app.services import transfers
from app.services.cases.referrals import open_case
from tenants.model import is_tenant_table
from tests.support import api_bodies as bodies
from tests.support.cases import Desk, give_consent
from tests.support.world import World


def _routes_taking(app: Flask, argument: str) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if argument not in rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def case_routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every route and method that takes a case id."""
    return _routes_taking(app, "case_id")


def transfer_routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every route and method that takes a transfer id."""
    return _routes_taking(app, "transfer_id")


def tenant_row_counts(all_rows: sessionmaker[Session]) -> dict[str, int]:
    """Rows in each tenant table, through sessions that see every row."""
    counts: dict[str, int] = {}
    with all_rows() as session:
        for table in Base.metadata.sorted_tables:
            if is_tenant_table(table):
                counts[table.name] = (
                    session.scalar(select(func.count()).select_from(text(table.name))) or 0
                )
    return counts


# Good bodies, so a refusal cannot come from validation: only the case's scope can stop them.
GOOD_WRITES: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
    ("POST", "/api/v1/cases/{id}/members"): lambda: bodies.child(),
    ("POST", "/api/v1/cases/{id}/contacts"): lambda: bodies.contact(),
    ("POST", "/api/v1/cases/{id}/notes"): lambda: bodies.note(),
    ("POST", "/api/v1/cases/{id}/assessments"): lambda: bodies.assessment(),
    ("POST", "/api/v1/cases/{id}/actions"): lambda: bodies.action(),
    ("POST", "/api/v1/cases/{id}/closure"): lambda: {"reason": "outcomes_met"},
    ("PATCH", "/api/v1/cases/{id}"): lambda: {"safeguarding": True},
    (
        "POST",
        "/api/v1/cases/{id}/consents",
    ): lambda: bodies.consent(uuid.uuid4(), subject="person_in_custody", family_member_id=None),
}


@dataclass(frozen=True)
class Transfers:
    offered: uuid.UUID
    proposed: uuid.UUID


def two_transfers_from_liverpool(desk: Callable[[str], Desk], world: World) -> Transfers:
    """Two transfers from POPS at Liverpool to NEPACS at Durham: the world's case offered with the
    family's consent, and a second case proposed but never offered."""
    worker = desk("pops_liverpool")
    offered_case = world.cases[("pops", "LPI")]
    give_consent(
        worker,
        offered_case,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY}),
    )
    offered = worker.do(transfers.propose_transfer, offered_case, to_prison_code="DMI")
    worker.do(transfers.offer_transfer, offered.id)
    # A second Liverpool case, proposed but never offered.
    manager = desk("pops_manager")
    second = manager.do(
        open_case,
        prison_code="LPI",
        person=PersonDetails(name="Lee Proposedonly", prison_number="D4567EF"),
        referral_source="self",
    )
    proposed = worker.do(transfers.propose_transfer, second.id, to_prison_code="DMI")
    return Transfers(offered=offered.id, proposed=proposed.id)
