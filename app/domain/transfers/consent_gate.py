"""The consent gate of a transfer (DESIGN.md sections 5 and 6), as a pure rule.

- The person in custody's transfer consent is required: their identity is what ties the family to
  the new prison. It must name the receiving charity, be in force on the day, and cover identity.
- Each adult family member goes only with their own such consent; an adult without one stays
  behind (their details never leave), without blocking the rest.
- A child goes with a consent given for them by a parent or carer, or when every consent that
  goes includes children's details.
- Records about the case as a whole (needs, contacts, assessments, action plan, notes) go only if
  every adult's consent that goes (the person in custody's included) includes them: the most
  cautious reading of the family's words.
- Contact details go per person, under that person's own consent.

Checked when the sender offers and again when the receiver accepts (``Gate.keeps``: the offer
still rests on consents in force), and whenever a consent is withdrawn while a transfer is live.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.domain.consent import ConsentFacts, valid_consent
from app.domain.vocabulary import ConsentPurpose, DataCategory

PERSON_IN_CUSTODY = "person_in_custody"
# Categories about the case as a whole, decided by the intersection of every consent that goes.
CASE_CATEGORIES = frozenset(
    {
        DataCategory.CHILDREN,
        DataCategory.NEEDS,
        DataCategory.CONTACTS,
        DataCategory.ASSESSMENTS,
        DataCategory.ACTION_PLAN,
        DataCategory.NOTES,
    }
)


@dataclass(frozen=True)
class Person:
    """Someone whose data might go: the person in custody, or a family member by id."""

    key: str  # PERSON_IN_CUSTODY or str(member id)
    is_child: bool = False


@dataclass(frozen=True)
class Gate:
    """What the family's consents let cross to one receiving charity on one day."""

    consents: dict[str, ConsentFacts]  # person key -> the consent they go under
    case_categories: frozenset[DataCategory]
    children_go: frozenset[str]  # child keys going under the case-level children category

    @property
    def open(self) -> bool:
        return PERSON_IN_CUSTODY in self.consents

    def goes(self, key: str) -> bool:
        return key in self.consents or key in self.children_go

    def categories_for(self, key: str) -> frozenset[DataCategory]:
        """What of this person's own details go: their consent's categories (a child going under
        the case-level category: identity only)."""
        consent = self.consents.get(key)
        if consent is not None:
            return consent.categories
        return frozenset({DataCategory.IDENTITY}) if key in self.children_go else frozenset()

    @property
    def consent_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(sorted((c.id for c in self.consents.values()), key=str))

    def keeps(
        self, consent_ids: Iterable[uuid.UUID], case_categories: Iterable[DataCategory]
    ) -> bool:
        """True while an offer cut under ``consent_ids`` to ``case_categories`` is still what the
        family says: the gate open, each of those consents still its person's word in force, and
        the case categories no narrower. Each person's details went under their own consent, so
        any one withdrawn, lapsed or replaced stops the transfer, not only the person in
        custody's."""
        return (
            self.open
            and frozenset(consent_ids) <= frozenset(self.consent_ids)
            and frozenset(case_categories) <= self.case_categories
        )


def transfer_gate(
    records: Iterable[ConsentFacts],
    people: Iterable[Person],
    *,
    receiver: uuid.UUID,
    on: date,
) -> Gate:
    records = list(records)
    people = list(people)

    def consent_of(key: str) -> ConsentFacts | None:
        return valid_consent(
            records,
            subject_key=key,
            purpose=ConsentPurpose.TRANSFER,
            on=on,
            categories=(DataCategory.IDENTITY,),
            recipient_charity_id=receiver,
        )

    consents: dict[str, ConsentFacts] = {}
    pic = consent_of(PERSON_IN_CUSTODY)
    if pic is None:
        return Gate({}, frozenset(), frozenset())
    consents[PERSON_IN_CUSTODY] = pic
    for person in people:
        if person.key == PERSON_IN_CUSTODY:
            continue
        found = consent_of(person.key)
        if found is not None:
            consents[person.key] = found
    children = {p.key for p in people if p.is_child}
    case_categories = frozenset(CASE_CATEGORIES)
    # A child's consent speaks for the child's own details, not for the case: adults decide that.
    for key, consent in consents.items():
        if key not in children:
            case_categories &= consent.categories
    children_go = (
        frozenset(p.key for p in people if p.is_child and p.key not in consents)
        if DataCategory.CHILDREN in case_categories
        else frozenset()
    )
    return Gate(consents, case_categories, children_go)
