"""Opening a case: a referral of a new family, or a new episode for a family already known.

The person in custody, the family, its main contact, the case and its needs are written together
with one audit event, every personal field sealed by the vault.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Forbidden, InvalidInput
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import MemberKind, Need, ReferralSource, Relationship
from app.models import Case, CaseNeed, CaseStatus, Family, FamilyMember, PersonInCustody, User
from app.models.base import new_id
from app.services.cases.scope import record_event
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission, Role

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# A new case is reviewed six weeks after it opens unless the worker sets another date.
FIRST_REVIEW_AFTER = timedelta(weeks=6)
PRISON_NUMBER = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
NO_PERSON_OR_FAMILY = "give the person in custody's details, or choose a known family"


def _new_reference(prison_code: str, opened_on: date) -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"{prison_code}-{opened_on:%y}-{suffix}"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def normalise_prison_number(value: str) -> str:
    return "".join(value.split()).upper()


def check_key_worker(
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
    if not context.may(Permission.CASE_WRITE):
        raise Forbidden(Permission.CASE_WRITE.value)
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
        errors["person"] = [NO_PERSON_OR_FAMILY]
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
        if (e := check_key_worker(session, context, key_worker_id, prison_code))
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
        if person is None:  # refused above already: one of the two is given
            raise InvalidInput({"person": [NO_PERSON_OR_FAMILY]})
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
    record_event(session, context, origin, "case.create", "case", [case.id])
    if commit:
        session.commit()
    return case
