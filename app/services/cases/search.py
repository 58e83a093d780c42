"""Finding a family within scope: by prison number through the blind index, or by name.

Names are ciphertext, so a name search decrypts the names of the people the context may see and
matches them here; the scope (one worker's prisons) bounds it. A prison number never leaves the
database in clear: it is looked up by its blind index, and candidates are confirmed by
decrypting them (the index is truncated, so it can collide).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import InvalidInput
from app.models import Case, Family, FamilyMember, PersonInCustody
from app.services.cases.cases import CaseSummary, summarise
from app.services.cases.referrals import PRISON_NUMBER, normalise_prison_number
from app.services.cases.scope import record_event, require
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission

MOST_RESULTS = 50
SHORTEST_NAME = 2


def _families_by_number(
    session: Session, vault: Vault, context: TenantContext, number: str
) -> set[uuid.UUID]:
    token = vault.prison_number_index(context.charity_id, number)
    people = session.scalars(
        select(PersonInCustody).where(PersonInCustody.prison_number_index == token)
    ).all()
    ids = [p.id for p in people if vault.open(p, "prison_number") == number]
    if not ids:
        return set()
    return set(session.scalars(select(Family.id).where(Family.person_in_custody_id.in_(ids))))


def _families_by_name(session: Session, vault: Vault, words: list[str]) -> set[uuid.UUID]:
    def matches(name: str | None) -> bool:
        folded = (name or "").casefold()
        return all(word in folded for word in words)

    found: set[uuid.UUID] = set()
    people = session.scalars(select(PersonInCustody)).all()
    by_person = {p.id for p in people if matches(vault.open(p, "name"))}
    if by_person:
        found |= set(
            session.scalars(select(Family.id).where(Family.person_in_custody_id.in_(by_person)))
        )
    for member in session.scalars(select(FamilyMember)):
        if matches(vault.open(member, "name")):
            found.add(member.family_id)
    return found


def find_cases(
    session: Session, context: TenantContext, origin: Origin, vault: Vault, text: str
) -> list[CaseSummary]:
    """Cases of families whose prison number is ``text``, or whose person in custody or family
    member has every word of ``text`` in their name; newest first, at most MOST_RESULTS. One
    audit event names every case shown (the search words are not recorded)."""
    require(context, Permission.CASE_READ)
    text = text.strip()
    number = normalise_prison_number(text)
    if PRISON_NUMBER.match(number):
        family_ids = _families_by_number(session, vault, context, number)
    else:
        words = [word.casefold() for word in text.split()]
        if len("".join(words)) < SHORTEST_NAME:
            raise InvalidInput({"q": ["enter a prison number or at least two letters of a name"]})
        family_ids = _families_by_name(session, vault, words)
    cases: list[Case] = []
    if family_ids:
        cases = list(
            session.scalars(
                select(Case)
                .where(Case.family_id.in_(family_ids))
                .order_by(Case.opened_on.desc(), Case.id.desc())
                .limit(MOST_RESULTS)
            )
        )
    summaries = summarise(session, vault, cases)
    record_event(session, context, origin, "case.search", "case", [c.id for c in cases])
    session.commit()
    return summaries
