"""Families and their casework for the demo's transfers (app.demo.transfer_stories), as plain
data: who the family is and what the sender recorded before the transfer began (contacts, notes,
assessments, the action plan), a few months of it, drawn with the caller's seeded generator;
and the walk-through family, Daniel Whitfield's at HMP Risley, written out in full.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from app.demo import words
from app.demo.families import Family, FamilyDrawer
from app.demo.histories import ActionPlan, AssessmentPlan, ContactPlan, NotePlan
from app.domain.outcomes import framework
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    ConsentMethod,
    ConsentVerification,
    ContactKind,
    MemberKind,
    Need,
    ReferralSource,
    Relationship,
)

# The first letter of the transfers' families' prison numbers: one the histories never draw
# (app.demo.families.HISTORY_LETTERS).
STORY_LETTERS = "B"


@dataclass(frozen=True)
class Casework:
    """A family's case at the sender's prison up to the day the transfer began."""

    family: Family
    opened_on: date
    referral_source: ReferralSource
    needs: frozenset[Need]
    # The main contact agreed to be contacted (the case is active) on this day, and how.
    agreed_on: date
    agreed_how: tuple[ConsentMethod, ConsentVerification]
    contacts: tuple[ContactPlan, ...]
    notes: tuple[NotePlan, ...]
    assessments: tuple[AssessmentPlan, ...] = ()
    actions: tuple[ActionPlan, ...] = ()


def _contact(
    kind: ContactKind, day: date, summary: str, *, first: bool = False, children: int = 0
) -> ContactPlan:
    minutes = {ContactKind.PHONE: 15, ContactKind.ONE_TO_ONE: 60, ContactKind.FAMILY_DAY: 240}
    present = children > 0
    count = children if present else None
    return ContactPlan(kind, day, first, present, count, minutes.get(kind), summary)


def _scores(rng: random.Random, low: int, high: int) -> dict[str, int]:
    return {area: rng.randint(low, high) for area in framework().area_codes()}


class CaseworkDrawer:
    """Families and a few months of casework for the stories (less than the histories hold)."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self._families = FamilyDrawer(rng, today, first_letters=STORY_LETTERS)

    def prison_number(self) -> str:
        return self._families.family(women=False).person.prison_number

    def casework(self, opened_days_ago: int, until: date) -> Casework:
        """A family referred ``opened_days_ago`` days ago and supported up to ``until``."""
        rng = self.rng
        family = self._families.family(women=False)
        opened = self.today - timedelta(days=opened_days_ago)
        first_visit = opened + timedelta(days=rng.randint(6, 14))
        contacts = [
            _contact(ContactKind.PHONE, opened, family.say(words.FIRST_CALL)),
            _contact(ContactKind.VISIT, first_visit, family.say(words.FIRST_VISIT), first=True),
        ]
        span = (until - opened).days - 1
        for day in sorted(opened + timedelta(days=rng.randint(15, span)) for _ in range(3)):
            kind = rng.choice((ContactKind.VISIT, ContactKind.PHONE, ContactKind.ONE_TO_ONE))
            options = [
                t for t in words.CONTACT_WORDS[kind] if family.children or "{child}" not in t
            ]
            contacts.append(_contact(kind, day, family.say(rng.choice(options))))
        children = f"{family.children} children" if family.children else "no children at home"
        first_note = family.say(words.FIRST_NOTE, source="the prison", children=children)
        return Casework(
            family=family,
            opened_on=opened,
            referral_source=rng.choice(list(ReferralSource)),
            needs=frozenset(rng.sample(sorted(words.AGENCIES), k=2)) | {Need.VISITS},
            agreed_on=opened + timedelta(days=1),
            agreed_how=rng.choice(words.CONSENT_WAYS),
            contacts=tuple(contacts),
            notes=(NotePlan(opened, first_note),),
            assessments=(AssessmentPlan(first_visit, _scores(rng, 3, 6)),),
        )


def carried_on(
    family: Family, accepted_on: date, today: date
) -> tuple[ContactPlan | NotePlan, ...]:
    """What the receiving worker records once the case is theirs: the history goes on."""
    return (
        NotePlan(accepted_on + timedelta(days=2), family.say(words.TRANSFERRED_IN_NOTE)),
        _contact(
            ContactKind.VISIT,
            accepted_on + timedelta(days=6),
            family.say(words.FIRST_VISIT),
            first=True,
        ),
        _contact(
            ContactKind.PHONE,
            today - timedelta(days=3),
            family.say(words.CONTACT_WORDS[ContactKind.PHONE][0]),
        ),
    )


# --- the walk-through family --------------------------------------------------------------


def walk_through_casework(today: date) -> Casework:
    """Daniel Whitfield at HMP Risley; Leanne, his partner and the main contact; Yvonne, his
    mother, who lives near Durham; and Ruby, their daughter, seven: seven months of support at
    Risley, written out in full so the walk-through reads the same every time."""
    opened = today - timedelta(days=214)

    def on(days: int) -> date:
        return opened + timedelta(days=days)

    lately = today - timedelta(days=10)
    said = words.WALK_THROUGH
    scores = _scores(random.Random("continuum-demo-walk-through"), 2, 5)  # noqa: S311 - demo
    return Casework(
        family=Family(
            person=PersonDetails(
                name="Daniel Whitfield",
                prison_number="B4821DW",
                date_of_birth=date(1991, 5, 14),
                expected_release_on=today + timedelta(days=430),
            ),
            members=(
                MemberDetails(
                    kind=MemberKind.ADULT,
                    relationship=Relationship.PARTNER,
                    name="Leanne Whitfield",
                    date_of_birth=date(1993, 2, 3),
                    phone="07700 900812",
                    email="leanne.whitfield@example.org",
                    is_main_contact=True,
                ),
                MemberDetails(
                    kind=MemberKind.ADULT,
                    relationship=Relationship.PARENT,
                    name="Yvonne Whitfield",
                    phone="07700 900655",
                ),
                MemberDetails(
                    kind=MemberKind.CHILD,
                    relationship=Relationship.CHILD,
                    name="Ruby Whitfield",
                    date_of_birth=today - timedelta(days=7 * 365 + 100),
                ),
            ),
            parent="dad",
        ),
        opened_on=opened,
        referral_source=ReferralSource.PRISON_STAFF,
        needs=frozenset({Need.VISITS, Need.FAMILY_CONTACT, Need.EMOTIONAL_WELLBEING, Need.FINANCE}),
        agreed_on=on(1),
        agreed_how=(ConsentMethod.WRITTEN, ConsentVerification.SIGNED_FORM),
        contacts=(
            _contact(ContactKind.PHONE, on(0), said["referral call"]),
            _contact(ContactKind.VISIT, on(9), said["first visit"], first=True, children=1),
            _contact(ContactKind.ONE_TO_ONE, on(23), said["one-to-one"]),
            _contact(ContactKind.FAMILY_DAY, on(58), said["family day"], children=1),
            _contact(ContactKind.PHONE, on(97), said["grandmother's call"]),
            _contact(ContactKind.VISIT, on(150), said["visit"], children=1),
            _contact(ContactKind.PHONE, lately, said["the move"]),
        ),
        notes=(
            NotePlan(on(0), said["referral note"]),
            NotePlan(on(97), said["travel note"]),
            NotePlan(today - timedelta(days=4), said["transfer note"]),
        ),
        assessments=(
            AssessmentPlan(on(20), scores),
            AssessmentPlan(on(120), {area: min(10, s + 2) for area, s in scores.items()}),
        ),
        actions=(
            ActionPlan(
                said["travel costs action"],
                ActionOwner.FAMILY,
                on(23),
                on(45),
                ActionStatus.DONE,
                on(40),
            ),
            ActionPlan(
                said["Durham action"],
                ActionOwner.WORKER,
                lately,
                today + timedelta(days=7),
                ActionStatus.OPEN,
                None,
            ),
        ),
    )
