"""One synthetic family's rows at national scale, as dictionaries ready for a Core
``executemany`` insert (app.demo.national writes them in batches): the person in custody, the
family and its members, a case and its needs, about twenty contacts, outcome assessments,
consents (some refused, a few withdrawn) and equality answers. Personal fields are sealed as the
vault seals them (``encrypt_field``, bound to charity, table, column and row), prison numbers get
the vault's blind index, and every row passes the schema's checks and tenant foreign keys. Every
choice, ids included, comes from one seeded generator (ciphertexts differ: fresh nonces).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.demo import words
from app.domain.consent import DEFAULT_VALIDITY
from app.domain.outcomes import DEFAULT_FRAMEWORK, framework
from app.domain.vocabulary import (
    AgeBand,
    ClosureReason,
    ConsentDecision,
    ConsentPurpose,
    ConsentSubject,
    ContactKind,
    DataCategory,
    Disability,
    MemberKind,
    Need,
    ReferralSource,
    Relationship,
    Sex,
)
from app.models.cases import CaseStatus
from app.security.keyring import Keyring, blind_index, encrypt_field
from app.services.cases.referrals import FIRST_REVIEW_AFTER
from app.services.platform.vault import PRISON_NUMBER_INDEX

Rows = dict[str, list[dict[str, Any]]]

# The cases run over about five quarters before "today", more of them recent, as a caseload is.
WINDOW_DAYS = 480
_SHARE_CLOSED = 0.3
# A case lasts a month and a half to a year (app.demo.histories draws the same).
_CASE_DAYS = (45, 360)
_SHARE_WAITING = 0.05
# About twenty contacts a family: a contact every week or two while the case is open.
_CONTACTS_PER_30_DAYS = (1.7, 4.9)
_MAX_CONTACTS = 60
_STATISTICS_ANSWER = {"given": 78, "refused": 12, "none": 10}
_STATISTICS_WITHDRAWN = 0.05
_ANSWERS_EQUALITY = 0.85
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_REFERENCE = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_KINDS = (ContactKind.VISIT, ContactKind.PHONE, ContactKind.ONE_TO_ONE, ContactKind.FAMILY_DAY)
_ETHNICITIES = list(words.ETHNICITIES)
_ETHNICITY_WEIGHTS = list(words.ETHNICITIES.values())


class Charity:
    """One charity's sealing and numbering while its families are drawn."""

    def __init__(self, charity_id: uuid.UUID, ring: Keyring, users: list[uuid.UUID]) -> None:
        if not users:
            raise ValueError("the charity needs a user to record the work")
        self.id = charity_id
        self.ring = ring
        self.users = users
        self.number = 0

    def seal(self, table: str, column: str, row_id: uuid.UUID, value: str | None) -> bytes | None:
        """As Vault.seal: nothing for a blank value, else the stripped text sealed."""
        if value is None or not value.strip():
            return None
        return encrypt_field(self.ring, self.id, table, column, row_id, value.strip())


@dataclass(frozen=True)
class Episodes:
    """When the drawn cases run. The default is the national benchmark's caseload: referrals over
    the last ``window_days``, more of them recent (``skew`` above 1), and most cases still open
    today. A steady caseload (every case closing when its time is up, ``share_closed`` 1) keeps
    each quarter of the window about as busy as the next once the first year has passed."""

    window_days: int = WINDOW_DAYS
    share_closed: float = _SHARE_CLOSED
    skew: float = 1.2


@dataclass(frozen=True)
class Served:
    """The days a charity's service at a prison gives its families, within the window: no case
    opens before ``first_day`` and none outlasts ``last_day`` (the service's last day, or today)."""

    first_day: date
    last_day: date

    def ended(self, today: date) -> bool:
        return self.last_day < today


class Drawer:
    """Draws one family's rows at one prison; every random choice comes from ``rng``."""

    def __init__(self, rng: random.Random, today: date, episodes: Episodes = Episodes()) -> None:
        self.rng = rng
        self.today = today
        self.episodes = episodes
        self.areas = framework().area_codes()

    def window(self) -> Served:
        """The whole window, for a service that runs through it."""
        return Served(self.today - timedelta(days=self.episodes.window_days), self.today)

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def _episode(self, served: Served) -> tuple[date, date, str, str | None]:
        """Opened, last day, status and closure reason: opened in the window, skewed recent;
        some closed; a few still waiting (never at a service that has ended)."""
        rng, today, episodes = self.rng, self.today, self.episodes
        first, last = served.first_day, served.last_day
        ended = served.ended(today)
        waiting = rng.random() < _SHARE_WAITING and not ended
        if waiting:
            opened = max(first, today - timedelta(days=rng.randint(0, 20)))
            return opened, today, rng.choice(("referred", "awaiting_consent")), None
        span = (last - first).days
        opened = max(first, last - timedelta(days=int(span * rng.random() ** episodes.skew) + 3))
        closes = opened + timedelta(days=rng.randint(*_CASE_DAYS))
        closed = rng.random() < episodes.share_closed and closes < last
        if closed or ended:
            # A service that ended closed its cases by its last day.
            reason = rng.choice(list(ClosureReason)).value
            return opened, min(closes, last), CaseStatus.CLOSED.value, reason
        return opened, today, CaseStatus.ACTIVE.value, None

    def family(
        self, charity: Charity, prison: str, rows: Rows, served: Served | None = None
    ) -> None:
        """One family at ``prison``, its case inside ``served`` (default: the whole window)."""
        rng, today = self.rng, self.today
        n = charity.number
        charity.number += 1
        user = charity.users[n % len(charity.users)]
        owned = {"charity_id": charity.id, "prison_code": prison}
        opened, end, status, reason = self._episode(served or self.window())
        waiting = status in ("referred", "awaiting_consent")
        stamp = _at(opened)
        # The person in custody and the family.
        surname = rng.choice(words.SURNAMES)
        person_id, family_id, case_id = self.uid(), self.uid(), self.uid()
        number = prison_number(n)
        born = date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28))
        seal = charity.seal
        rows["people_in_custody"].append(
            {
                **owned,
                "id": person_id,
                "name_enc": seal(
                    "people_in_custody", "name", person_id, f"{rng.choice(words.MEN)} {surname}"
                ),
                "prison_number_enc": seal("people_in_custody", "prison_number", person_id, number),
                "date_of_birth_enc": seal(
                    "people_in_custody", "date_of_birth", person_id, born.isoformat()
                ),
                "prison_number_index": blind_index(
                    charity.ring, charity.id, PRISON_NUMBER_INDEX, number
                ),
                "expected_release_on": today + timedelta(days=rng.randint(30, 1500)),
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        rows["families"].append(
            {**owned, "id": family_id, "person_in_custody_id": person_id, **_stamps(stamp)}
        )
        # Members: the main contact, then none to three children.
        contact_name = f"{rng.choice(words.WOMEN)} {surname}"
        children = rng.choices((0, 1, 2, 3), weights=(30, 30, 25, 15))[0]
        members = [self.uid() for _ in range(1 + children)]
        relationship = rng.choices(
            (Relationship.PARTNER, Relationship.PARENT, Relationship.SIBLING), weights=(7, 2, 1)
        )[0]
        rows["family_members"].append(
            {
                **owned,
                **_stamps(stamp),
                "id": members[0],
                "family_id": family_id,
                "kind": MemberKind.ADULT.value,
                "relationship": relationship.value,
                "is_main_contact": True,
                "age_band": None,
                "name_enc": seal("family_members", "name", members[0], contact_name),
                "phone_enc": seal(
                    "family_members", "phone", members[0], f"07700 900{rng.randint(0, 999):03d}"
                ),
                "date_of_birth_enc": None,
                "email_enc": None,
                "address_enc": None,
            }
        )
        kids = [rng.choice(words.CHILDREN) for _ in range(children)]
        for member, kid in zip(members[1:], kids, strict=True):
            rows["family_members"].append(
                {
                    **owned,
                    **_stamps(stamp),
                    "id": member,
                    "family_id": family_id,
                    "kind": MemberKind.CHILD.value,
                    "relationship": Relationship.CHILD.value,
                    "is_main_contact": False,
                    "age_band": rng.choice(list(AgeBand)).value,
                    "name_enc": seal("family_members", "name", member, f"{kid} {surname}"),
                    "phone_enc": None,
                    "date_of_birth_enc": None,
                    "email_enc": None,
                    "address_enc": None,
                }
            )
        # The case and its needs.
        yy = opened.year % 100
        suffix = "".join(_REFERENCE[n // 32**i % 32] for i in range(6))
        rows["cases"].append(
            {
                **owned,
                **_stamps(stamp),
                "id": case_id,
                "reference": f"{prison}-{yy:02d}-{suffix}",
                "status": status,
                "opened_on": opened,
                "closed_on": end if status == CaseStatus.CLOSED.value else None,
                "family_id": family_id,
                "referral_source": rng.choices(
                    list(ReferralSource), weights=(15, 25, 30, 10, 8, 12)
                )[0].value,
                "key_worker_id": None,
                "safeguarding": rng.random() < 0.05,
                "review_due_on": opened + FIRST_REVIEW_AFTER,
                "closure_reason": reason,
                "transfer_id": None,
                "transferred_from_charity_id": None,
                "transferred_from_prison_code": None,
                "transferred_on": None,
            }
        )
        case_owned = {**owned, "case_id": case_id}
        needs = {rng.choice(list(Need)) for _ in range(rng.randint(1, 4))}
        rows["case_needs"] += [{**case_owned, "need": need.value} for need in sorted(needs)]
        self._contacts(charity, case_owned, opened, end, waiting, kids, user, contact_name, rows)
        if waiting:
            return
        self._assessments(case_owned, opened, end, user, rows)
        self._consents(case_owned, members[0], opened, end, bool(kids), user, rows)
        for member in members:
            if rng.random() < _ANSWERS_EQUALITY:
                rows["equality_monitoring"].append(
                    {
                        **owned,
                        **_stamps(_at(opened, 10)),
                        "id": self.uid(),
                        "family_member_id": member,
                        "ethnicity": rng.choices(_ETHNICITIES, _ETHNICITY_WEIGHTS)[0].value,
                        "sex": rng.choices(list(Sex), weights=(60, 38, 2))[0].value,
                        "disability": rng.choices(list(Disability), weights=(15, 80, 5))[0].value,
                        "first_language": words.ENGLISH if rng.random() < 0.9 else None,
                    }
                )

    def _contacts(
        self,
        charity: Charity,
        case_owned: dict[str, Any],
        opened: date,
        end: date,
        waiting: bool,
        kids: list[str],
        user: uuid.UUID,
        contact_name: str,
        rows: Rows,
    ) -> None:
        rng = self.rng
        days = [opened]
        if not waiting:
            rate = rng.uniform(*_CONTACTS_PER_30_DAYS)
            count = min(_MAX_CONTACTS, max(2, round((end - opened).days / 30 * rate)))
            days += sorted(self.day(opened, end) for _ in range(count - 1))
        weights = (8, 5, 3, 2 if kids else 0)
        visited = rng.random() < 0.5
        first_name = contact_name.split()[0]
        child = kids[0] if kids else "the family"
        for i, day in enumerate(days):
            kind = ContactKind.PHONE if i == 0 else rng.choices(_KINDS, weights=weights)[0]
            first_time = kind is ContactKind.VISIT and not visited
            visited = visited or kind is ContactKind.VISIT
            present = bool(kids) and (
                kind is ContactKind.FAMILY_DAY or (kind is ContactKind.VISIT and rng.random() < 0.6)
            )
            text = words.FIRST_VISIT if first_time else rng.choice(words.CONTACT_WORDS[kind])
            row_id = self.uid()
            summary = text.format(contact=first_name, child=child, parent="their dad")
            rows["contacts"].append(
                {
                    **case_owned,
                    **_stamps(_at(day, i)),
                    "id": row_id,
                    "kind": kind.value,
                    "occurred_on": day,
                    "first_time_visitor": first_time,
                    "children_present": present,
                    "children_count": rng.randint(1, len(kids)) if present else None,
                    "duration_minutes": {
                        ContactKind.PHONE: rng.randint(5, 30),
                        ContactKind.ONE_TO_ONE: rng.choice((45, 60, 90)),
                        ContactKind.FAMILY_DAY: 240,
                    }.get(kind),
                    "summary_enc": charity.seal("contacts", "summary", row_id, summary),
                    "recorded_by": user,
                }
            )

    def _assessments(
        self,
        case_owned: dict[str, Any],
        opened: date,
        end: date,
        user: uuid.UUID,
        rows: Rows,
    ) -> None:
        """One to four, weeks apart; most families move up, some stand still, a few slip back."""
        rng = self.rng
        scores = {area: rng.randint(2, 6) for area in self.areas}
        low, high = rng.choices(((0, 2), (-1, 1), (-2, 0)), weights=(7, 2, 1))[0]
        day = min(end, opened + timedelta(days=rng.randint(7, 28)))
        for _ in range(4):
            if day > end:
                break
            assessment = self.uid()
            rows["outcome_assessments"].append(
                {
                    **case_owned,
                    **_stamps(_at(day)),
                    "id": assessment,
                    "framework": DEFAULT_FRAMEWORK,
                    "assessed_on": day,
                    "recorded_by": user,
                }
            )
            rows["outcome_scores"] += [
                {
                    "charity_id": case_owned["charity_id"],
                    "prison_code": case_owned["prison_code"],
                    "assessment_id": assessment,
                    "area": area,
                    "score": score,
                }
                for area, score in scores.items()
            ]
            scores = {a: min(10, max(1, s + rng.randint(low, high))) for a, s in scores.items()}
            day += timedelta(days=rng.randint(60, 110))

    def _consents(
        self,
        case_owned: dict[str, Any],
        member: uuid.UUID,
        opened: date,
        end: date,
        children: bool,
        user: uuid.UUID,
        rows: Rows,
    ) -> None:
        """The main contact agrees to contact; most agree to statistics, some refuse, a few
        withdraw later (app.demo.histories draws the same)."""
        rng = self.rng
        start = min(end, opened + timedelta(days=rng.randint(0, 5)))
        method, verification = rng.choice(words.CONSENT_WAYS)
        every = frozenset(DataCategory) - (frozenset() if children else {DataCategory.CHILDREN})

        def record(purpose: ConsentPurpose, decision: ConsentDecision, kinds: Any) -> dict:
            return {
                **case_owned,
                "id": self.uid(),
                "subject": ConsentSubject.FAMILY_MEMBER.value,
                "family_member_id": member,
                "given_by_member_id": None,
                "purpose": purpose.value,
                "recipient_charity_id": None,
                "categories": ",".join(sorted(c.value for c in kinds)),
                "decision": decision.value,
                "method": method.value,
                "verification": verification.value,
                "valid_from": start,
                "expires_on": start + DEFAULT_VALIDITY
                if decision is ConsentDecision.GIVEN
                else None,
                "withdraws_id": None,
                "recorded_by": user,
                "recorded_at": _at(start, 5),
            }

        rows["consents"].append(record(ConsentPurpose.CONTACT, ConsentDecision.GIVEN, every))
        answer = rng.choices(list(_STATISTICS_ANSWER), weights=list(_STATISTICS_ANSWER.values()))[0]
        if answer == "refused":
            rows["consents"].append(
                record(ConsentPurpose.STATISTICS, ConsentDecision.REFUSED, frozenset())
            )
        elif answer == "given":
            given = record(ConsentPurpose.STATISTICS, ConsentDecision.GIVEN, words.STATISTICS)
            rows["consents"].append(given)
            if rng.random() < _STATISTICS_WITHDRAWN and end > start:
                on = self.day(start, min(end, start + DEFAULT_VALIDITY))
                rows["withdrawals"].append(
                    {
                        **given,
                        "id": self.uid(),
                        "decision": ConsentDecision.WITHDRAWN.value,
                        "valid_from": on,
                        "expires_on": None,
                        "withdraws_id": given["id"],
                        "recorded_at": _at(on, 5),
                    }
                )


def prison_number(n: int) -> str:
    """The prison number of a charity's ``n``th bulk family (from 0): N0000AA, N0001AA, ...; the
    detailed histories' numbers never start with N (app.demo.families)."""
    return f"N{n % 10_000:04d}{_LETTERS[n // 10_000 % 24]}{_LETTERS[n // 240_000 % 24]}"


def _at(day: date, minute: int = 0) -> datetime:
    return datetime.combine(day, time(10), UTC) + timedelta(minutes=minute)


def _stamps(moment: datetime) -> dict[str, datetime]:
    return {"created_at": moment, "updated_at": moment}
