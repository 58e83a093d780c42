"""Case use cases. Every query here runs through the tenant walls; none of them filters by
charity itself, so a missing wall shows up as a failing isolation test, not as a silent leak."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, Forbidden, InvalidInput
from app.domain.vocabulary import ClosureReason, MemberKind, Need, ReferralSource, Relationship
from app.models import Case, CaseNeed, CaseStatus, Family, FamilyMember, PersonInCustody, User
from app.models.base import new_id
from app.services.audit import Origin
from app.services.scope import READ_ONLY_STATUSES, case_in_scope, record_event
from app.services.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission, Role

T = TypeVar("T")
MAX_PAGE_SIZE = 100
# Counting stops here: a list longer than this is filtered, not paged through, and a bounded count
# keeps the list's cost flat as a charity's history grows (bench/isolation.py).
COUNT_CAP = 1000
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# A new case is reviewed six weeks after it opens unless the worker sets another date.
FIRST_REVIEW_AFTER = timedelta(weeks=6)
PRISON_NUMBER = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")


@dataclass(frozen=True)
class PersonDetails:
    name: str
    prison_number: str
    date_of_birth: date | None = None
    expected_release_on: date | None = None


@dataclass(frozen=True)
class MemberDetails:
    kind: MemberKind
    relationship: Relationship
    name: str
    date_of_birth: date | None = None
    age_band: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    is_main_contact: bool = False


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

    The refusal is audited where every refusal is (app.web.audit), the read here."""
    _require(context, Permission.CASE_READ)
    case = case_in_scope(session, case_id)
    _audit(session, context, origin, "case.read", [case.id])
    session.commit()
    return case


def _new_reference(prison_code: str, opened_on: date) -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"{prison_code}-{opened_on:%y}-{suffix}"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def normalise_prison_number(value: str) -> str:
    return "".join(value.split()).upper()


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


def _check_key_worker(
    session: Session, context: TenantContext, user_id: uuid.UUID | None, prison_code: str
) -> list[str]:
    if user_id is None:
        return []
    user = session.scalar(
        select(User).where(User.id == user_id, User.organisation_id == context.charity_id)
    )
    caseworking = {Role.CASEWORKER.value, Role.SITE_MANAGER.value}
    if user is None or user.role not in caseworking or prison_code not in user.prison_codes:
        return ["choose a caseworker or manager at this prison"]
    return []


def new_member(
    vault: Vault, context: TenantContext, family: Family, details: MemberDetails
) -> FamilyMember:
    member = FamilyMember(
        charity_id=context.charity_id,
        prison_code=family.prison_code,
        family_id=family.id,
        kind=MemberKind(details.kind).value,
        relationship=Relationship(details.relationship).value,
        is_main_contact=details.is_main_contact,
        age_band=details.age_band,
    )
    vault.seal(member, "name", details.name)
    vault.seal(member, "date_of_birth", _iso(details.date_of_birth))
    vault.seal(member, "phone", details.phone)
    vault.seal(member, "email", details.email)
    vault.seal(member, "address", details.address)
    return member


def member_errors(details: MemberDetails, today: date, prefix: str = "") -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not details.name.strip():
        errors[f"{prefix}name"] = ["enter the family member's name"]
    if details.date_of_birth is not None and details.date_of_birth > today:
        errors[f"{prefix}date_of_birth"] = ["the date of birth must be in the past"]
    if details.kind == MemberKind.CHILD and details.date_of_birth is None and not details.age_band:
        errors[f"{prefix}age_band"] = ["give the child's date of birth or age band"]
    if details.kind == MemberKind.ADULT and details.age_band:
        errors[f"{prefix}age_band"] = ["age bands are for children"]
    return errors


def open_case(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    *,
    prison_code: str,
    person: PersonDetails | None = None,
    family_id: uuid.UUID | None = None,
    referral_source: ReferralSource = ReferralSource.OTHER_AGENCY,
    opened_on: date | None = None,
    main_contact: MemberDetails | None = None,
    needs: frozenset[Need] = frozenset(),
    safeguarding: bool = False,
    key_worker_id: uuid.UUID | None = None,
    review_due_on: date | None = None,
    commit: bool = True,
) -> Case:
    """Open a case at one of the context's prisons, for a new family (``person``, and usually
    a main contact) or a family already known there (``family_id``). It starts as a referral.
    The rows and one audit event commit together; ``commit=False`` leaves the commit to a caller
    that writes many cases as one (an import)."""
    _require(context, Permission.CASE_WRITE)
    today = origin.clock().date()
    opened_on = opened_on or today
    errors: dict[str, list[str]] = {}
    if not context.sees_prison(prison_code):
        # Same words for a prison that does not exist and one outside the context.
        errors["prison_code"] = ["choose one of your prisons"]
    if opened_on > today:
        errors["opened_on"] = ["the date cannot be in the future"]
    if review_due_on is not None and review_due_on < opened_on:
        errors["review_due_on"] = ["the review date cannot be before the case opens"]
    if (person is None) == (family_id is None):
        errors["person"] = ["give the person in custody's details, or choose a known family"]
    if person is not None:
        if not person.name.strip():
            errors["person.name"] = ["enter the person in custody's name"]
        if not PRISON_NUMBER.match(normalise_prison_number(person.prison_number)):
            errors["person.prison_number"] = ["enter a prison number like A1234BC"]
        if person.date_of_birth is not None and person.date_of_birth >= today:
            errors["person.date_of_birth"] = ["the date of birth must be in the past"]
    if main_contact is not None:
        errors.update(member_errors(main_contact, today, "main_contact."))
    errors.update(
        {"key_worker_id": e}
        if (e := _check_key_worker(session, context, key_worker_id, prison_code))
        else {}
    )
    family: Family | None = None
    if family_id is not None and not errors:
        family = session.scalar(select(Family).where(Family.id == family_id))
        if family is None or family.prison_code != prison_code:
            errors["family_id"] = ["choose a family known at this prison"]
    if errors:
        raise InvalidInput(errors)
    if family is None:
        assert person is not None
        number = normalise_prison_number(person.prison_number)
        someone = PersonInCustody(
            id=new_id(),
            charity_id=context.charity_id,
            prison_code=prison_code,
            prison_number_index=vault.prison_number_index(context.charity_id, number),
            expected_release_on=person.expected_release_on,
        )
        vault.seal(someone, "name", person.name)
        vault.seal(someone, "prison_number", number)
        vault.seal(someone, "date_of_birth", _iso(person.date_of_birth))
        family = Family(
            id=new_id(),
            charity_id=context.charity_id,
            prison_code=prison_code,
            person_in_custody_id=someone.id,
        )
        # Case tables have no relationship(), so the unit of work does not order their inserts:
        # each parent is flushed before its children.
        session.add(someone)
        session.flush()
        session.add(family)
        session.flush()
        if main_contact is not None:
            contact = replace(main_contact, is_main_contact=True)
            session.add(new_member(vault, context, family, contact))
    case = Case(
        id=new_id(),
        charity_id=context.charity_id,
        prison_code=prison_code,
        family_id=family.id,
        reference=_new_reference(prison_code, opened_on),
        status=CaseStatus.REFERRED.value,
        opened_on=opened_on,
        referral_source=ReferralSource(referral_source).value,
        safeguarding=safeguarding,
        key_worker_id=key_worker_id or context.user_id,
        review_due_on=review_due_on or opened_on + FIRST_REVIEW_AFTER,
    )
    session.add(case)
    session.flush()
    for need in sorted(needs):
        session.add(
            CaseNeed(
                charity_id=context.charity_id,
                prison_code=prison_code,
                case_id=case.id,
                need=Need(need).value,
            )
        )
    session.flush()
    _audit(session, context, origin, "case.create", [case.id])
    if commit:
        session.commit()
    return case


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
        problem := _check_key_worker(session, context, key_worker_id, case.prison_code)
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
