"""The content of a transfer offer: cut from the sender's case to what the consents allow, and
landed as the receiver's own case on acceptance (DESIGN.md section 6).

``cut_package`` runs as the sender and reads only the sender's rows; ``land_package`` runs as the
receiver and writes only the receiver's rows, each field sealed afresh under the receiver's key
(bound to the receiver's new row). Between the two the package lives in the receiver's
``transfer_offers`` row, sealed under the receiver's key. Equality monitoring never travels: it
leaves a charity only as suppressed national totals (DESIGN.md section 2).

The package names its people by references of its own (``members[].ref``, and a consent's
``ref`` and ``given_by_ref``), never by the sender's member ids (issue 13, item 6): each is an
HMAC, under the sender's key, of the transfer and the member (``PackageRefs``). Only the sender
can compute it, so it maps back to the sender's member only on the sender's side; the same person
has a different ref in every package, so two packages cannot be linked by it; and the receiver
links each consent to its member within the package as before.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.transfers.consent_gate import PERSON_IN_CUSTODY, Gate, Person
from app.domain.vocabulary import DataCategory, MemberKind
from app.models import (
    ActionItem,
    Case,
    CaseNeed,
    CaseNote,
    CaseStatus,
    ConsentRecord,
    Contact,
    Family,
    FamilyMember,
    OutcomeAssessment,
    OutcomeScore,
    PersonInCustody,
    TransferOffer,
)
from app.models.base import new_id
from app.services.cases.referrals import FIRST_REVIEW_AFTER, _new_reference
from app.services.platform.vault import Vault
from app.services.transfers.objection import StatisticsObjection, carry_objection
from tenants.context import TenantContext

Package = dict[str, Any]

# Marks a package whose refs are its own; a package sealed before that (no marker) used the
# sender's member ids, and is relabelled as it is opened (``open_offer``).
REFS_KEY, REFS_OWN = "refs", "package"
_REF_PURPOSE = "transfer_package_ref"
_REF_DIGITS = 16  # 64 bits: a few members per package never collide, and the ref stays short


class PackageRefs:
    """The package's own name for each of the sender's family members in one transfer."""

    def __init__(self, vault: Vault, sender_charity_id: uuid.UUID, transfer_id: uuid.UUID):
        self._vault = vault
        self._sender = sender_charity_id
        self._transfer = transfer_id

    def of(self, member_id: uuid.UUID | str) -> str:
        token = self._vault.keyed_token(
            self._sender, _REF_PURPOSE, f"{self._transfer}:{uuid.UUID(str(member_id))}"
        )
        return "m" + token[:_REF_DIGITS]

    def objection(self, objection: StatisticsObjection) -> StatisticsObjection:
        """``objection`` (read as the sender, naming the sender's members) in the package's
        terms, so that it lands on the member it was said by."""
        return dataclasses.replace(
            objection,
            member_ref=self.of(objection.member_ref) if objection.member_ref else None,
            given_by_ref=self.of(objection.given_by_ref) if objection.given_by_ref else None,
        )


_MEMBER_IDENTITY = ("name", "date_of_birth")
_MEMBER_CONTACT = ("phone", "email", "address")


def people_of(session: Session, case: Case) -> list[Person]:
    """Everyone whose data might go with ``case``: the person in custody and each member."""
    members = session.scalars(
        select(FamilyMember).where(FamilyMember.family_id == case.family_id)
    ).all()
    return [Person(PERSON_IN_CUSTODY)] + [
        Person(str(m.id), is_child=m.kind == MemberKind.CHILD.value) for m in members
    ]


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def cut_package(
    session: Session, vault: Vault, case: Case, gate: Gate, *, transfer_id: uuid.UUID
) -> Package:
    """The case as the receiver may see it: only what ``gate`` lets cross, its people named by
    the refs of ``transfer_id``'s package. Runs as the sender."""
    refs = PackageRefs(vault, case.charity_id, transfer_id)
    # A case always has its family, and a family its person in custody (foreign keys).
    family = session.execute(select(Family).where(Family.id == case.family_id)).scalar_one()
    person = session.execute(
        select(PersonInCustody).where(PersonInCustody.id == family.person_in_custody_id)
    ).scalar_one()
    allowed = gate.case_categories
    package: Package = {
        REFS_KEY: REFS_OWN,
        "categories": sorted(c.value for c in allowed),
        "case": {
            "reference": case.reference,
            "opened_on": _iso(case.opened_on),
            "referral_source": case.referral_source,
        },
        "person": {
            "name": vault.open(person, "name"),
            "prison_number": vault.open(person, "prison_number"),
            "date_of_birth": vault.open(person, "date_of_birth"),
            "expected_release_on": _iso(person.expected_release_on),
        },
        "members": [],
    }
    members = session.scalars(
        select(FamilyMember)
        .where(FamilyMember.family_id == family.id)
        .order_by(FamilyMember.created_at, FamilyMember.id)
    ).all()
    for member in members:
        key = str(member.id)
        if not gate.goes(key):
            continue
        own = gate.categories_for(key)
        entry: dict[str, Any] = {
            "ref": refs.of(member.id),
            "kind": member.kind,
            "relationship": member.relationship,
            "is_main_contact": member.is_main_contact,
            "age_band": member.age_band,
        }
        for field in _MEMBER_IDENTITY:
            entry[field] = vault.open(member, field)
        if DataCategory.CONTACT_DETAILS in own and member.kind == MemberKind.ADULT.value:
            for field in _MEMBER_CONTACT:
                entry[field] = vault.open(member, field)
        package["members"].append(entry)
    if DataCategory.NEEDS in allowed:
        package["case"]["safeguarding"] = case.safeguarding
        package["needs"] = sorted(
            session.scalars(select(CaseNeed.need).where(CaseNeed.case_id == case.id))
        )
    if DataCategory.CONTACTS in allowed:
        package["contacts"] = [
            {
                "kind": c.kind,
                "occurred_on": _iso(c.occurred_on),
                "first_time_visitor": c.first_time_visitor,
                "children_present": c.children_present,
                "children_count": c.children_count,
                "duration_minutes": c.duration_minutes,
                "summary": vault.open(c, "summary"),
                "recorded_by": str(c.recorded_by),
            }
            for c in session.scalars(
                select(Contact)
                .where(Contact.case_id == case.id)
                .order_by(Contact.occurred_on, Contact.id)
            )
        ]
    if DataCategory.ASSESSMENTS in allowed:
        assessments = session.scalars(
            select(OutcomeAssessment)
            .where(OutcomeAssessment.case_id == case.id)
            .order_by(OutcomeAssessment.assessed_on, OutcomeAssessment.id)
        ).all()
        scores: dict[uuid.UUID, dict[str, int]] = {a.id: {} for a in assessments}
        for score in session.scalars(
            select(OutcomeScore).where(OutcomeScore.assessment_id.in_(list(scores)))
        ):
            scores[score.assessment_id][score.area] = score.score
        package["assessments"] = [
            {
                "framework": a.framework,
                "assessed_on": _iso(a.assessed_on),
                "scores": scores[a.id],
                "recorded_by": str(a.recorded_by),
            }
            for a in assessments
        ]
    if DataCategory.ACTION_PLAN in allowed:
        package["actions"] = [
            {
                "description": vault.open(a, "description"),
                "owner": a.owner,
                "due_on": _iso(a.due_on),
                "status": a.status,
                "completed_on": _iso(a.completed_on),
                "recorded_by": str(a.recorded_by),
            }
            for a in session.scalars(
                select(ActionItem)
                .where(ActionItem.case_id == case.id)
                .order_by(ActionItem.created_at, ActionItem.id)
            )
        ]
    if DataCategory.NOTES in allowed:
        package["notes"] = [
            {
                "body": vault.open(n, "body"),
                "written_at": _iso(n.written_at),
                "written_by": str(n.written_by),
            }
            for n in session.scalars(
                select(CaseNote)
                .where(CaseNote.case_id == case.id)
                .order_by(CaseNote.written_at, CaseNote.id)
            )
        ]
    # The consents the offer rests on go with it, so the receiver holds what the family agreed.
    records = {
        r.id: r
        for r in session.scalars(
            select(ConsentRecord).where(ConsentRecord.id.in_(list(gate.consent_ids)))
        )
    }
    package["consents"] = [
        {
            "subject": records[c.id].subject,
            "ref": _ref_or_none(refs, records[c.id].family_member_id),
            "given_by_ref": _ref_or_none(refs, records[c.id].given_by_member_id),
            "categories": records[c.id].categories,
            "method": records[c.id].method,
            "verification": records[c.id].verification,
            "valid_from": _iso(records[c.id].valid_from),
            "expires_on": _iso(records[c.id].expires_on),
            "recorded_by": str(records[c.id].recorded_by),
            "recorded_at": _iso(records[c.id].recorded_at),
        }
        for c in sorted(gate.consents.values(), key=lambda c: str(c.id))
    ]
    return package


def _ref_or_none(refs: PackageRefs, member_id: uuid.UUID | None) -> str | None:
    return refs.of(member_id) if member_id else None


def seal_offer(vault: Vault, offer: TransferOffer, package: Package) -> None:
    vault.seal(offer, "package", json.dumps(package, sort_keys=True))


def open_offer(vault: Vault, offer: TransferOffer) -> Package | None:
    """The package of an offer, or None once it was voided or landed."""
    text = vault.open(offer, "package")
    return None if text is None else _with_own_refs(json.loads(text))


def _with_own_refs(package: Package) -> Package:
    """A package sealed before refs were its own named members by the sender's ids: rename them
    ``m1``, ``m2``... in the package's order, consistently in its consents, so no reader ever
    sees them. (Such a package lives only while its offer stands: 14 days by default.)"""
    if package.get(REFS_KEY) == REFS_OWN:
        return package
    renamed = {m["ref"]: f"m{n}" for n, m in enumerate(package.get("members", ()), start=1)}
    for member in package.get("members", ()):
        member["ref"] = renamed[member["ref"]]
    for consent in package.get("consents", ()):
        for key in ("ref", "given_by_ref"):
            consent[key] = renamed.get(consent.get(key) or "")
    package[REFS_KEY] = REFS_OWN
    return package


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def land_package(
    session: Session,
    context: TenantContext,
    vault: Vault,
    package: Package,
    *,
    transfer_id: uuid.UUID,
    prison_code: str,
    from_charity_id: uuid.UUID,
    from_prison_code: str,
    today: date,
    objection: StatisticsObjection | None = None,
) -> Case:
    """Write ``package`` as a new case of the receiving charity (the bound context) at
    ``prison_code``, with its provenance. Every field is sealed afresh under the receiver's key.
    The family's objection to statistical use, read as the sender at acceptance and put in the
    package's terms there (``PackageRefs.objection``), lands with it
    (app.services.transfers.objection)."""
    charity = context.charity_id

    def own(row: Any) -> Any:
        row.charity_id = charity
        row.prison_code = prison_code
        return row

    source = package["person"]
    person = own(PersonInCustody(id=new_id()))
    person.expected_release_on = _day(source.get("expected_release_on"))
    if source.get("prison_number"):
        person.prison_number_index = vault.prison_number_index(charity, source["prison_number"])
    for field in ("name", "prison_number", "date_of_birth"):
        vault.seal(person, field, source.get(field))
    session.add(person)
    session.flush()
    family = own(Family(id=new_id(), person_in_custody_id=person.id))
    session.add(family)
    session.flush()
    member_ids: dict[str, uuid.UUID] = {}
    for entry in package["members"]:
        member = own(
            FamilyMember(
                id=new_id(),
                family_id=family.id,
                kind=entry["kind"],
                relationship=entry["relationship"],
                is_main_contact=entry["is_main_contact"],
                age_band=entry.get("age_band"),
            )
        )
        for field in (*_MEMBER_IDENTITY, *_MEMBER_CONTACT):
            vault.seal(member, field, entry.get(field))
        member_ids[entry["ref"]] = member.id
        session.add(member)
    session.flush()
    details = package["case"]
    case = own(
        Case(
            id=new_id(),
            family_id=family.id,
            reference=_new_reference(prison_code, today),
            # The family agreed to this charity's support when they agreed to the transfer.
            status=CaseStatus.ACTIVE.value,
            opened_on=today,
            referral_source=details["referral_source"],
            safeguarding=bool(details.get("safeguarding", False)),
            key_worker_id=None,
            review_due_on=today + FIRST_REVIEW_AFTER,
            transfer_id=transfer_id,
            transferred_from_charity_id=from_charity_id,
            transferred_from_prison_code=from_prison_code,
            transferred_on=today,
        )
    )
    session.add(case)
    session.flush()
    for need in package.get("needs", ()):
        session.add(own(CaseNeed(case_id=case.id, need=need)))
    for entry in package.get("contacts", ()):
        contact = own(
            Contact(
                id=new_id(),
                case_id=case.id,
                kind=entry["kind"],
                occurred_on=_day(entry["occurred_on"]),
                first_time_visitor=entry["first_time_visitor"],
                children_present=entry["children_present"],
                children_count=entry.get("children_count"),
                duration_minutes=entry.get("duration_minutes"),
                recorded_by=uuid.UUID(entry["recorded_by"]),
            )
        )
        vault.seal(contact, "summary", entry.get("summary"))
        session.add(contact)
    for entry in package.get("assessments", ()):
        assessment = own(
            OutcomeAssessment(
                id=new_id(),
                case_id=case.id,
                framework=entry["framework"],
                assessed_on=_day(entry["assessed_on"]),
                recorded_by=uuid.UUID(entry["recorded_by"]),
            )
        )
        session.add(assessment)
        session.flush()
        for area, score in sorted(entry["scores"].items()):
            session.add(own(OutcomeScore(assessment_id=assessment.id, area=area, score=int(score))))
    for entry in package.get("actions", ()):
        action = own(
            ActionItem(
                id=new_id(),
                case_id=case.id,
                owner=entry["owner"],
                due_on=_day(entry.get("due_on")),
                status=entry["status"],
                completed_on=_day(entry.get("completed_on")),
                recorded_by=uuid.UUID(entry["recorded_by"]),
            )
        )
        vault.seal(action, "description", entry.get("description"))
        session.add(action)
    for entry in package.get("notes", ()):
        note = own(
            CaseNote(
                id=new_id(),
                case_id=case.id,
                written_at=_moment(entry["written_at"]),
                written_by=uuid.UUID(entry["written_by"]),
            )
        )
        vault.seal(note, "body", entry["body"])
        session.add(note)
    for entry in package.get("consents", ()):
        ref, given_by = entry.get("ref"), entry.get("given_by_ref")
        session.add(
            own(
                ConsentRecord(
                    id=new_id(),
                    case_id=case.id,
                    subject=entry["subject"],
                    family_member_id=member_ids.get(ref) if ref else None,
                    given_by_member_id=member_ids.get(given_by) if given_by else None,
                    purpose="transfer",
                    recipient_charity_id=charity,
                    categories=entry["categories"],
                    decision="given",
                    method=entry["method"],
                    verification=entry["verification"],
                    valid_from=_day(entry["valid_from"]),
                    expires_on=_day(entry.get("expires_on")),
                    recorded_by=uuid.UUID(entry["recorded_by"]),
                    recorded_at=_moment(entry["recorded_at"]),
                )
            )
        )
    if objection is not None:
        session.add(carry_objection(objection, case, member_ids))
    session.flush()
    return case
