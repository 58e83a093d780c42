"""Case use cases: the case list, one case, keeping a case current and closing it (opening one,
a referral, is app.services.cases.referrals). Every query here runs through the tenant walls; none
of them filters by charity itself, so a missing wall shows up as a failing isolation test."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, Forbidden, InvalidInput
from app.domain.vocabulary import ClosureReason, Need
from app.models import Case, CaseNeed, CaseStatus, Family, FamilyMember, PersonInCustody
from app.services.cases.referrals import check_key_worker
from app.services.cases.scope import READ_ONLY_STATUSES, case_in_scope, record_event
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission

T = TypeVar("T")
MAX_PAGE_SIZE = 100
# Counting stops here: a list longer than this is filtered, not paged through, and a bounded count
# keeps the list's cost flat as a charity's history grows (bench/isolation.py).
COUNT_CAP = 1000


@dataclass(frozen=True)
class CaseSummary:
    """A case with the few decrypted words a list shows: who, and which prison number."""

    case: Case
    person_name: str | None
    prison_number: str | None
    main_contact: str | None


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
    record_event(session, context, origin, action, "case", case_ids)


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

    The refusal is audited where every refusal is (app.http.audit), the read here."""
    _require(context, Permission.CASE_READ)
    case = case_in_scope(session, case_id)
    _audit(session, context, origin, "case.read", [case.id])
    session.commit()
    return case


def summarise(session: Session, vault: Vault, rows: list[Case]) -> list[CaseSummary]:
    """Names and prison numbers for a page of cases: three queries, whatever the page size."""
    family_ids = {case.family_id for case in rows}
    if not family_ids:
        return []
    families = {f.id: f for f in session.scalars(select(Family).where(Family.id.in_(family_ids)))}
    person_ids = {family.person_in_custody_id for family in families.values()}
    people = {
        p.id: p
        for p in session.scalars(select(PersonInCustody).where(PersonInCustody.id.in_(person_ids)))
    }
    contacts: dict[uuid.UUID, FamilyMember] = {}
    for member in session.scalars(
        select(FamilyMember).where(
            FamilyMember.family_id.in_(family_ids), FamilyMember.is_main_contact.is_(True)
        )
    ):
        contacts.setdefault(member.family_id, member)
    summaries = []
    for case in rows:
        family = families.get(case.family_id)
        person = people.get(family.person_in_custody_id) if family else None
        contact = contacts.get(case.family_id)
        summaries.append(
            CaseSummary(
                case=case,
                person_name=vault.open(person, "name") if person else None,
                prison_number=vault.open(person, "prison_number") if person else None,
                main_contact=vault.open(contact, "name") if contact else None,
            )
        )
    return summaries


def update_case(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    *,
    key_worker_id: uuid.UUID | None = None,
    review_due_on: date | None = None,
    safeguarding: bool | None = None,
    add_needs: frozenset[Need] = frozenset(),
) -> Case:
    """Change what a worker keeps current on an open case; needs are only ever added."""
    _require(context, Permission.CASE_WRITE)
    case = case_in_scope(session, case_id)
    if case.status in READ_ONLY_STATUSES:
        raise Conflict("this case is closed")
    errors: dict[str, list[str]] = {}
    if key_worker_id is not None and (
        problem := check_key_worker(session, context, key_worker_id, case.prison_code)
    ):
        errors["key_worker_id"] = problem
    if review_due_on is not None and review_due_on < case.opened_on:
        errors["review_due_on"] = ["the review date cannot be before the case opened"]
    if errors:
        raise InvalidInput(errors)
    if key_worker_id is not None:
        case.key_worker_id = key_worker_id
    if review_due_on is not None:
        case.review_due_on = review_due_on
    if safeguarding is not None:
        case.safeguarding = safeguarding
    have = set(session.scalars(select(CaseNeed.need).where(CaseNeed.case_id == case.id)))
    for need in sorted(set(add_needs) - have):
        session.add(
            CaseNeed(
                charity_id=case.charity_id,
                prison_code=case.prison_code,
                case_id=case.id,
                need=Need(need).value,
            )
        )
    session.flush()
    _audit(session, context, origin, "case.update", [case.id])
    session.commit()
    return case


def close_case(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    *,
    reason: ClosureReason,
    closed_on: date | None = None,
) -> Case:
    """Close a case with a reason. A case flagged for safeguarding is closed by a site manager
    (DESIGN.md section 1: managers approve closures)."""
    _require(context, Permission.CASE_WRITE)
    case = case_in_scope(session, case_id)
    if case.status in READ_ONLY_STATUSES:
        raise Conflict("this case is already closed")
    if case.safeguarding and not context.may(Permission.CASE_APPROVE):
        raise Forbidden("a site manager closes a case flagged for safeguarding")
    today = origin.clock().date()
    closed_on = closed_on or today
    errors: dict[str, list[str]] = {}
    if closed_on > today:
        errors["closed_on"] = ["the date cannot be in the future"]
    if closed_on < case.opened_on:
        errors["closed_on"] = ["a case cannot close before it opened"]
    if errors:
        raise InvalidInput(errors)
    case.status = CaseStatus.CLOSED.value
    case.closed_on = closed_on
    case.closure_reason = ClosureReason(reason).value
    session.flush()
    _audit(session, context, origin, "case.close", [case.id])
    session.commit()
    return case
