"""Who the demo's synthetic families are: a person in custody, the main contact, sometimes a
grandparent, and none to four children, drawn from small name lists with the caller's seeded
random generator, and the equality monitoring answers the members give. Contact details are
obviously fake: Ofcom's drama numbers and example.org.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from app.demo import words
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import AgeBand, Disability, Ethnicity, MemberKind, Relationship, Sex
from app.services.cases.equality import EqualityAnswers

# A prison number's suffix letters (the register avoids I and O).
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# A prison number's first letter in the histories (mostly A, as today's numbers are). The
# transfers' families take another (app.demo.casework), so a movement or a request for one of
# them can never match a history's family.
HISTORY_LETTERS = "AAAAAAGH"
# About 85 in 100 members answer equality monitoring. The main contact answers for the children,
# so a family that declines declines for all of them.
_FAMILY_DECLINES = 0.08
_MEMBER_DECLINES = 0.04
# Most of a family share the main contact's ethnic group; the others are drawn afresh, so the
# totals keep the census proportions (words.ETHNICITIES).
_SHARES_CONTACT_ETHNICITY = 0.7
_SEX_NOT_STATED = 0.02
_NO_FIRST_LANGUAGE = 0.05
# About one adult in five says they are disabled; fewer children.
_DISABILITY = {
    MemberKind.ADULT: {Disability.YES: 20, Disability.NO: 75, Disability.NOT_STATED: 5},
    MemberKind.CHILD: {Disability.YES: 7, Disability.NO: 89, Disability.NOT_STATED: 4},
}


@dataclass(frozen=True)
class Family:
    person: PersonDetails
    members: tuple[MemberDetails, ...]  # the main contact first
    parent: str  # what the children call the person in custody

    @property
    def children(self) -> int:
        return sum(m.kind is MemberKind.CHILD for m in self.members)

    def say(self, text: str, **extra: str) -> str:
        """One of words' sentences with this family's first names in it."""
        kids = [m.name.split()[0] for m in self.members if m.kind is MemberKind.CHILD]
        return text.format(
            contact=self.members[0].name.split()[0],
            child=kids[0] if kids else "the family",
            parent=self.parent,
            **extra,
        )


def born(rng: random.Random, today: date, age: int) -> date:
    return today - timedelta(days=age * 365 + rng.randint(0, 364))


def age_band(age: int) -> AgeBand:
    if age < 5:
        return AgeBand.UNDER_5
    if age < 11:
        return AgeBand.FROM_5_TO_10
    return AgeBand.FROM_11_TO_15 if age < 16 else AgeBand.FROM_16_TO_17


class FamilyDrawer:
    """Draws one charity's families; prison numbers are unique within the charity."""

    def __init__(
        self, rng: random.Random, today: date, first_letters: str = HISTORY_LETTERS
    ) -> None:
        self.rng = rng
        self.today = today
        self.first_letters = first_letters
        self._numbers: set[str] = set()
        self._phones = 0

    def family(self, women: bool) -> Family:
        """A family; ``women`` for a women's prison, where the person in custody is a mother."""
        rng = self.rng
        surname = rng.choice(words.SURNAMES)
        release = self.today + timedelta(days=rng.randint(-200, 1500))
        person = PersonDetails(
            name=f"{rng.choice(words.WOMEN if women else words.MEN)} {surname}",
            prison_number=self._prison_number(),
            date_of_birth=born(rng, self.today, rng.randint(19, 58)),
            expected_release_on=release if rng.random() < 0.9 else None,
        )
        relationships = (
            (Relationship.PARENT, Relationship.PARTNER, Relationship.CARER)
            if women
            else (Relationship.PARTNER, Relationship.PARENT, Relationship.SIBLING)
        )
        relationship = rng.choices(relationships, weights=(6, 3, 1))[0]
        contact_surname = surname if rng.random() < 0.6 else rng.choice(words.SURNAMES)
        contact = f"{rng.choice(words.WOMEN)} {contact_surname}"
        members = [self._adult(contact, relationship, main=True)]
        if rng.random() < 0.15:
            grandparent = f"{rng.choice(words.WOMEN + words.MEN)} {rng.choice(words.SURNAMES)}"
            members.append(self._adult(grandparent, Relationship.GRANDPARENT, main=False))
        count = rng.choices((0, 1, 2, 3, 4), weights=(2, 3, 3, 2, 1))[0]
        members += [self._child(rng.choice((surname, contact_surname))) for _ in range(count)]
        return Family(person, tuple(members), "mum" if women else "dad")

    def _prison_number(self) -> str:
        rng = self.rng
        while True:
            digits = f"{rng.randint(0, 9999):04d}"
            number = rng.choice(self.first_letters) + digits + "".join(rng.choices(_LETTERS, k=2))
            if number not in self._numbers:
                self._numbers.add(number)
                return number

    def _phone(self) -> str:
        # Ofcom keeps 07700 900000 to 900999 for drama: never a real line.
        self._phones += 1
        return f"07700 900{(self._phones * 389) % 1000:03d}"

    def _adult(self, name: str, relationship: Relationship, main: bool) -> MemberDetails:
        rng = self.rng
        first, surname = name.split()
        with_birthday = rng.random() < 0.5
        with_phone = main or rng.random() < 0.5
        with_email = rng.random() < 0.7
        return MemberDetails(
            kind=MemberKind.ADULT,
            relationship=relationship,
            name=name,
            date_of_birth=born(rng, self.today, rng.randint(20, 70)) if with_birthday else None,
            phone=self._phone() if with_phone else None,
            email=f"{first}.{surname}{rng.randint(1, 99)}@example.org".lower()
            if with_email
            else None,
            is_main_contact=main,
        )

    def _child(self, surname: str) -> MemberDetails:
        rng = self.rng
        age = rng.randint(0, 17)
        with_birthday = rng.random() < 0.65
        return MemberDetails(
            kind=MemberKind.CHILD,
            relationship=Relationship.CHILD,
            name=f"{rng.choice(words.CHILDREN)} {surname}",
            date_of_birth=born(rng, self.today, age) if with_birthday else None,
            age_band=None if with_birthday else age_band(age).value,
        )


class AnswerDrawer:
    """Draws the equality monitoring answers the members of a family give.

    A generator of its own (seeded alongside the families'), so adding the answers left every
    family and history the demo already drew exactly as it was.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def equality(self, family: Family) -> tuple[EqualityAnswers | None, ...]:
        """Each member's equality monitoring answers, in the family's order (None: gave none)."""
        rng = self.rng
        if rng.random() < _FAMILY_DECLINES:
            return (None,) * len(family.members)
        groups, weights = list(words.ETHNICITIES), list(words.ETHNICITIES.values())
        contact = rng.choices(groups, weights)[0]
        found: list[EqualityAnswers | None] = []
        for n, member in enumerate(family.members):
            if rng.random() < _MEMBER_DECLINES:
                found.append(None)
                continue
            shared = n == 0 or rng.random() < _SHARES_CONTACT_ETHNICITY
            ethnicity = contact if shared else rng.choices(groups, weights)[0]
            first_name = member.name.split()[0]
            sex = Sex.MALE if first_name in words.MEN or first_name in words.BOYS else Sex.FEMALE
            shares = _DISABILITY[member.kind]
            disability = rng.choices(list(shares), list(shares.values()))[0]
            found.append(
                EqualityAnswers(
                    ethnicity=ethnicity,
                    sex=Sex.NOT_STATED if rng.random() < _SEX_NOT_STATED else sex,
                    disability=disability,
                    first_language=self._first_language(ethnicity, member.kind),
                )
            )
        return tuple(found)

    def _first_language(self, ethnicity: Ethnicity, kind: MemberKind) -> str | None:
        rng = self.rng
        if rng.random() < _NO_FIRST_LANGUAGE:
            return None
        # Children, mostly born here, give a language other than English half as often.
        roll = rng.random() * (2 if kind is MemberKind.CHILD else 1)
        for language, share in words.OTHER_LANGUAGES.get(ethnicity, ()):
            if roll < share:
                return language
            roll -= share
        return words.ENGLISH
