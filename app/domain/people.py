"""What staff give about a case's people: the person in custody and each member of the family.

The web form, the API and a case file's rows load into these (schemas/casework.py); opening a
case and adding a family member take them (app.services.cases.referrals). Plain values, checked
there: nothing here is stored or sealed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.vocabulary import MemberKind, Relationship


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
