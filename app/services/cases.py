"""Case use cases. Every query here runs through the tenant walls; none of them filters by
charity itself, so a missing wall shows up as a failing isolation test, not as a silent leak."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from app.domain.errors import Forbidden, InvalidInput, NotFound
from app.models import Case, CaseStatus
from app.services import audit
from app.services.audit import Origin
from tenants.context import TenantContext
from tenants.permissions import Permission

T = TypeVar("T")
MAX_PAGE_SIZE = 100
# Counting stops here: a list longer than this is filtered, not paged through, and a bounded count
# keeps the list's cost flat as a charity's history grows (bench/isolation.py).
COUNT_CAP = 1000
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class CaseFilter:
    prison_code: str | None = None
    status: CaseStatus | None = None
    opened_from: date | None = None
    opened_to: date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> CaseFilter:
        """From a loaded ``schemas.cases.CaseQuery``: the web page and the API share it."""
        return cls(
            prison_code=query.get("prison_code"),
            status=query.get("status"),
            opened_from=query.get("opened_from"),
            opened_to=query.get("opened_to"),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    # True when there are more than ``total`` items (the count stopped at COUNT_CAP).
    total_capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _require(context: TenantContext, permission: Permission) -> None:
    if not context.may(permission):
        raise Forbidden(permission.value)


def case_list_statements(
    filters: CaseFilter, page: int = 1, per_page: int = 25, scope: Any = None
) -> tuple[Select[tuple[int]], Select[tuple[Case]]]:
    """The bounded count and the page that ``list_cases`` runs, for a page and size already
    clamped by `page_of_cases`. ``scope`` is for the isolation benchmark's baseline only, which
    writes the walls' filter out by hand."""
    query = select(Case)
    if scope is not None:
        query = query.where(scope)
    if filters.prison_code is not None:
        query = query.where(Case.prison_code == filters.prison_code)
    if filters.status is not None:
        query = query.where(Case.status == filters.status.value)
    if filters.opened_from is not None:
        query = query.where(Case.opened_on >= filters.opened_from)
    if filters.opened_to is not None:
        query = query.where(Case.opened_on <= filters.opened_to)
    # A constant column lets the database count from an index without visiting rows.
    bounded = (
        query.with_only_columns(literal_column("1"))
        .select_from(Case)
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    count = select(func.count()).select_from(bounded)
    # Newest first; the id breaks ties in the same direction so one index serves the order.
    ordered = query.order_by(Case.opened_on.desc(), Case.id.desc())
    return count, ordered.limit(per_page).offset((page - 1) * per_page)


def run_case_list(
    session: Session, count: Select[tuple[int]], rows: Select[tuple[Case]], page: int, per_page: int
) -> Page[Case]:
    total = session.scalar(count) or 0
    items = list(session.scalars(rows).all())
    return Page(items, min(total, COUNT_CAP), page, per_page, total > COUNT_CAP)


def _audit(
    session: Session,
    context: TenantContext,
    origin: Origin,
    action: str,
    case_ids: list[uuid.UUID],
) -> None:
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=audit.chain_for(context.charity_id, is_charity=True),
            actor=context.user_id or audit.UNKNOWN_ACTOR,
            organisation=context.charity_id,
            action=action,
            record_type="case",
            record_ids=case_ids,
        ),
    )


def page_of_cases(
    session: Session, context: TenantContext, filters: CaseFilter, page: int = 1, per_page: int = 25
) -> Page[Case]:
    """The query behind `list_cases`, unaudited: for the isolation benchmark and its tests."""
    _require(context, Permission.CASE_READ)
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    page = max(1, page)
    count, rows = case_list_statements(filters, page, per_page)
    return run_case_list(session, count, rows, page, per_page)


def list_cases(
    session: Session,
    context: TenantContext,
    origin: Origin,
    filters: CaseFilter,
    page: int = 1,
    per_page: int = 25,
) -> Page[Case]:
    """The cases the context may see, newest first; one audit event names every case shown."""
    result = page_of_cases(session, context, filters, page, per_page)
    _audit(session, context, origin, "case.list", [case.id for case in result.items])
    session.commit()
    return result


def get_case(session: Session, context: TenantContext, origin: Origin, case_id: uuid.UUID) -> Case:
    """One case in scope; a case of another charity or prison is as missing as one never made.

    The refusal is audited where every refusal is (app.web.audit), the read here."""
    _require(context, Permission.CASE_READ)
    case = session.scalar(select(Case).where(Case.id == case_id))
    if case is None:
        raise NotFound("case")
    _audit(session, context, origin, "case.read", [case.id])
    session.commit()
    return case


def _new_reference(prison_code: str, opened_on: date) -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"{prison_code}-{opened_on:%y}-{suffix}"


def open_case(
    session: Session,
    context: TenantContext,
    origin: Origin,
    *,
    prison_code: str,
    opened_on: date | None,
) -> Case:
    """Open a case at a prison the context may see; it starts as a referral. The case and its
    audit event commit together."""
    _require(context, Permission.CASE_WRITE)
    today = origin.clock().date()
    opened_on = opened_on or today
    errors: dict[str, list[str]] = {}
    if not context.sees_prison(prison_code):
        # Same words for a prison that does not exist and one outside the context.
        errors["prison_code"] = ["choose one of your prisons"]
    if opened_on > today:
        errors["opened_on"] = ["the date cannot be in the future"]
    if errors:
        raise InvalidInput(errors)
    case = Case(
        charity_id=context.charity_id,
        prison_code=prison_code,
        reference=_new_reference(prison_code, opened_on),
        status=CaseStatus.REFERRED.value,
        opened_on=opened_on,
    )
    session.add(case)
    session.flush()
    _audit(session, context, origin, "case.create", [case.id])
    session.commit()
    return case
