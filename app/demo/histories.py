"""Synthetic case histories for the demo, as plain data: a family (app.demo.families) and what
happened at one prison from referral to today or to closure, in contacts, assessments, actions,
notes and consents, with short sentences from app.demo.words; and the equality monitoring answers
its members gave.

A seeded random generator makes it all up, so the same charity, day and size always give the
same histories; dates count back from the given "today" so the demo looks current. Nothing here
touches the database: ``app.demo.records.seed_histories`` writes the plans through the vault.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from app.demo import words
from app.demo.families import AnswerDrawer, Family, FamilyDrawer
from app.domain.consent import DEFAULT_VALIDITY
from app.domain.outcomes import framework
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    ClosureReason,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentVerification,
    ContactKind,
    DataCategory,
    Need,
    ReferralSource,
)
from app.models import CaseStatus
from app.services.cases.equality import EqualityAnswers
from app.services.cases.referrals import FIRST_REVIEW_AFTER

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Most open cases are under way; a few are referrals still waiting for the family to agree.
_SHARE_CLOSED = 0.3
_SHARE_NEW_REFERRALS = 0.07
_SHARE_REVIEW_OVERDUE = 0.2
# Reviews follow the first one (referrals.FIRST_REVIEW_AFTER) every twelve weeks.
_REVIEW_EVERY = timedelta(weeks=12)


@dataclass(frozen=True)
class ContactPlan:
    kind: ContactKind
    occurred_on: date
    first_time_visitor: bool
    children_present: bool
    children_count: int | None
    duration_minutes: int | None
    summary: str


@dataclass(frozen=True)
class AssessmentPlan:
    assessed_on: date
    scores: dict[str, int]


@dataclass(frozen=True)
class ActionPlan:
    description: str
    owner: ActionOwner
    agreed_on: date
    due_on: date
    status: ActionStatus
    settled_on: date | None


@dataclass(frozen=True)
class NotePlan:
    written_on: date
    body: str


@dataclass(frozen=True)
class ConsentPlan:
    """``member`` indexes the history's members; None is the person in custody."""

    member: int | None
    purpose: ConsentPurpose
    decision: ConsentDecision
    method: ConsentMethod
    verification: ConsentVerification
    categories: frozenset[DataCategory]
    valid_from: date
    expires_on: date | None
    withdrawn_on: date | None = None


@dataclass(frozen=True)
class HistoryPlan:
    """One family's case at one prison, from referral to today (or to closure)."""

    prison_code: str
    reference: str
    family: Family
    referral_source: ReferralSource
    opened_on: date
    needs: frozenset[Need]
    safeguarding: bool
    status: CaseStatus
    review_due_on: date
    closed_on: date | None
    closure_reason: ClosureReason | None
    contacts: tuple[ContactPlan, ...]
    assessments: tuple[AssessmentPlan, ...]
    actions: tuple[ActionPlan, ...]
    notes: tuple[NotePlan, ...]
    consents: tuple[ConsentPlan, ...]
    # One entry per family member, in the family's order; None for a member who gave none.
    equality: tuple[EqualityAnswers | None, ...]


@dataclass(frozen=True)
class Episode:
    """When a case ran and how it stands: what the rest of a history is drawn inside."""

    opened_on: date
    end: date  # the closing day, or today
    status: CaseStatus
    closure_reason: ClosureReason | None

    @property
    def engaged(self) -> bool:
        """The family agreed to support (a referral still waiting has not)."""
        return self.status not in (CaseStatus.REFERRED, CaseStatus.AWAITING_CONSENT)


def allocate(weights: Sequence[float], total: int) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), at least one each while
    there are enough to go round."""
    floor = 1 if total >= len(weights) else 0
    spare = total - floor * len(weights)
    shares = [spare * weight / sum(weights) for weight in weights]
    counts = [floor + int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (int(shares[i]) - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


class HistoryWriter:
    """Draws one charity's histories; prison numbers and case references are unique within it."""

    def __init__(self, seed: str, today: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not secrets
        self.today = today
        self._families = FamilyDrawer(self.rng, today)
        self._answers = AnswerDrawer(random.Random(f"{seed}/equality"))  # noqa: S311 - as above
        self._references: set[str] = set()

    def history(
        self, prison_code: str, first_day: date, last_day: date, ended: bool, women: bool
    ) -> HistoryPlan:
        """A case at ``prison_code`` inside the service's days; ``ended`` services' are closed."""
        rng = self.rng
        family = self._families.family(women)
        episode = self._episode(first_day, last_day, ended)
        if episode.closure_reason is ClosureReason.RELEASED:
            released = episode.end - timedelta(days=rng.randint(0, 14))
            family = replace(family, person=replace(family.person, expected_release_on=released))
        needs = self._needs(family, episode)
        safeguarding = rng.random() < (0.25 if Need.CHILD_CONCERN in needs else 0.04)
        assessments = self._assessments(episode) if episode.engaged else ()
        return HistoryPlan(
            prison_code=prison_code,
            reference=self._reference(prison_code, episode.opened_on),
            family=family,
            referral_source=rng.choices(list(ReferralSource), weights=(15, 25, 30, 10, 8, 12))[0],
            opened_on=episode.opened_on,
            needs=needs,
            safeguarding=safeguarding,
            status=episode.status,
            review_due_on=self._review_due(episode, assessments),
            closed_on=episode.end if episode.status is CaseStatus.CLOSED else None,
            closure_reason=episode.closure_reason,
            contacts=self._contacts(family, episode, needs),
            assessments=assessments,
            actions=self._actions(family, episode, needs) if episode.engaged else (),
            notes=self._notes(family, episode, safeguarding),
            consents=self._consents(family, episode) if episode.engaged else (),
            # Asked once the family has agreed to support, never of a referral still waiting.
            equality=self._answers.equality(family)
            if episode.engaged
            else (None,) * len(family.members),
        )

    # --- the case ---------------------------------------------------------------------------

    def _reference(self, prison_code: str, opened_on: date) -> str:
        while True:
            suffix = "".join(self.rng.choices(_REFERENCE_ALPHABET, k=6))
            reference = f"{prison_code}-{opened_on:%y}-{suffix}"
            if reference not in self._references:
                self._references.add(reference)
                return reference

    # --- when -----------------------------------------------------------------------------

    def _episode(self, first_day: date, last_day: date, ended: bool) -> Episode:
        rng, today = self.rng, self.today
        if ended or rng.random() < _SHARE_CLOSED:
            latest_start = max(first_day, last_day - timedelta(days=60))
            opened = _day(rng, max(first_day, latest_start - timedelta(days=840)), latest_start)
            closed = min(last_day, opened + timedelta(days=rng.randint(45, 360)))
            reasons = list(ClosureReason)
            reason = rng.choices(reasons, weights=(35, 8, 12, 20, 10, 8, 7))[0]
            return Episode(opened, closed, CaseStatus.CLOSED, reason)
        if rng.random() < _SHARE_NEW_REFERRALS:
            opened = today - timedelta(days=rng.randint(0, 20))
            status = rng.choice((CaseStatus.REFERRED, CaseStatus.AWAITING_CONSENT))
            return Episode(max(first_day, opened), today, status, None)
        # Skewed towards recent referrals, as a caseload is.
        opened = today - timedelta(days=int(430 * rng.random() ** 1.4) + 3)
        return Episode(max(first_day, opened), today, CaseStatus.ACTIVE, None)

    def _needs(self, family: Family, episode: Episode) -> frozenset[Need]:
        rng = self.rng
        weights = {
            Need.FAMILY_CONTACT: 8,
            Need.VISITS: 7,
            Need.EMOTIONAL_WELLBEING: 6,
            Need.FINANCE: 4,
            Need.HOUSING: 3,
            Need.COMMUNITY_LINKS: 2,
            Need.LICENCE_CONDITIONS: 1,
            Need.CHILD_CONCERN: 3 if family.children else 0,
            Need.RELEASE: 1,
        }
        release = family.person.expected_release_on
        if release is not None and release - episode.opened_on < timedelta(days=240):
            weights[Need.RELEASE] = 8
        chosen = rng.choices(list(weights), weights=list(weights.values()), k=rng.randint(1, 4))
        return frozenset(chosen)

    def _review_due(self, episode: Episode, assessments: Sequence[AssessmentPlan]) -> date:
        rng, today = self.rng, self.today
        if not episode.engaged:
            return episode.opened_on + FIRST_REVIEW_AFTER
        last = assessments[-1].assessed_on if assessments else episode.opened_on
        if episode.status is CaseStatus.CLOSED:
            return last + _REVIEW_EVERY
        if rng.random() < _SHARE_REVIEW_OVERDUE:
            return max(episode.opened_on, today - timedelta(days=rng.randint(1, 45)))
        return today + timedelta(days=rng.randint(3, 70))

    # --- what happened --------------------------------------------------------------------

    def _contacts(
        self, family: Family, episode: Episode, needs: frozenset[Need]
    ) -> tuple[ContactPlan, ...]:
        rng, opened, end = self.rng, episode.opened_on, episode.end
        first = ContactPlan(
            ContactKind.PHONE, opened, False, False, None, 10, family.say(words.FIRST_CALL)
        )
        if not episode.engaged:
            return (first,)
        count = min(18, max(2, round((end - opened).days / 30 * rng.uniform(0.8, 2.2))))
        days = sorted(_day(rng, opened, end) for _ in range(count - 1))
        if episode.status is CaseStatus.ACTIVE and rng.random() < 0.6:
            # Something in the last fortnight: the caseload's "recent contacts".
            days[-1] = max(opened, self.today - timedelta(days=rng.randint(0, 13)))
        kinds = {
            ContactKind.VISIT: 8,
            ContactKind.PHONE: 5,
            ContactKind.ONE_TO_ONE: 3,
            ContactKind.FAMILY_DAY: 2 if family.children else 0,
            ContactKind.REFERRAL_OUT: 2 if needs & set(words.AGENCIES) else 0,
        }
        agencies = sorted(needs & set(words.AGENCIES))
        contacts, visited = [first], rng.random() < 0.5
        for day in days:
            kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
            first_time = kind is ContactKind.VISIT and not visited
            visited = visited or kind is ContactKind.VISIT
            present = family.children > 0 and (
                kind is ContactKind.FAMILY_DAY or (kind is ContactKind.VISIT and rng.random() < 0.6)
            )
            if first_time:
                summary = family.say(words.FIRST_VISIT)
            elif kind is ContactKind.REFERRAL_OUT:
                summary = family.say(
                    words.REFERRAL_OUT, agency=words.AGENCIES[rng.choice(agencies)]
                )
            else:
                options = words.CONTACT_WORDS[kind]
                summary = family.say(
                    rng.choice([t for t in options if family.children or "{child}" not in t])
                )
            minutes = {
                ContactKind.PHONE: rng.randint(5, 30),
                ContactKind.ONE_TO_ONE: rng.choice((45, 60, 90)),
                ContactKind.FAMILY_DAY: 240,
            }.get(kind)
            contacts.append(
                ContactPlan(
                    kind=kind,
                    occurred_on=day,
                    first_time_visitor=first_time,
                    children_present=present,
                    children_count=rng.randint(1, family.children) if present else None,
                    duration_minutes=minutes,
                    summary=summary,
                )
            )
        return tuple(contacts)

    def _assessments(self, episode: Episode) -> tuple[AssessmentPlan, ...]:
        """One to four, weeks apart; most families move up, some stand still, a few slip back."""
        rng = self.rng
        scores = {area: rng.randint(2, 6) for area in framework().area_codes()}
        low, high = rng.choices(((0, 2), (-1, 1), (-2, 0)), weights=(7, 2, 1))[0]
        day = min(episode.end, episode.opened_on + timedelta(days=rng.randint(7, 28)))
        found: list[AssessmentPlan] = []
        while day <= episode.end and len(found) < 4:
            found.append(AssessmentPlan(day, dict(scores)))
            scores = {a: min(10, max(1, s + rng.randint(low, high))) for a, s in scores.items()}
            day += timedelta(days=rng.randint(60, 110))
        return tuple(found)

    def _actions(
        self, family: Family, episode: Episode, needs: frozenset[Need]
    ) -> tuple[ActionPlan, ...]:
        """Some done, some dropped, some still open (overdue when their day has passed); a
        closed case has settled every one."""
        rng, today = self.rng, self.today
        chosen = rng.sample(sorted(needs), k=min(len(needs), rng.randint(1, 4)))
        found = []
        for need in chosen:
            text, owner = words.ACTIONS.get(need, words.ACTIONS[Need.VISITS])
            agreed = _day(rng, episode.opened_on, episode.end)
            due = agreed + timedelta(days=rng.randint(7, 42))
            status, settled = ActionStatus.OPEN, None
            settle = (due < today and rng.random() < 0.7) or rng.random() < 0.15
            if episode.status is CaseStatus.CLOSED or settle:
                status = ActionStatus.DONE if rng.random() < 0.85 else ActionStatus.DROPPED
                settled = min(episode.end, agreed + timedelta(days=rng.randint(1, 50)))
            found.append(ActionPlan(family.say(text), owner, agreed, due, status, settled))
        return tuple(found)

    def _notes(self, family: Family, episode: Episode, safeguarding: bool) -> tuple[NotePlan, ...]:
        rng, opened = self.rng, episode.opened_on
        children = f"{family.children} children" if family.children else "no children at home"
        source = "the prison" if rng.random() < 0.5 else "the family"
        notes = [NotePlan(opened, family.say(words.FIRST_NOTE, source=source, children=children))]
        if episode.engaged:
            for text in rng.sample(words.NOTES, k=rng.randint(0, 2)):
                notes.append(NotePlan(_day(rng, opened, episode.end), family.say(text)))
        if safeguarding:
            notes.append(NotePlan(opened, family.say(words.SAFEGUARDING_NOTE)))
        if episode.closure_reason is not None:
            reason = episode.closure_reason.label.lower()
            notes.append(NotePlan(episode.end, family.say(words.CLOSING_NOTE, reason=reason)))
        return tuple(notes)

    def _consents(self, family: Family, episode: Episode) -> tuple[ConsentPlan, ...]:
        """The main contact agrees to contact (renewed yearly while the case is open) and most
        to statistics; a few refuse statistics or withdraw; some people in custody agree too."""
        rng = self.rng
        categories = frozenset(DataCategory) - (
            frozenset() if family.children else {DataCategory.CHILDREN}
        )
        start = min(episode.end, episode.opened_on + timedelta(days=rng.randint(0, 5)))
        method, verification = rng.choice(words.CONSENT_WAYS)

        def given(member: int | None, purpose: ConsentPurpose, day: date) -> ConsentPlan:
            kinds = categories if purpose is ConsentPurpose.CONTACT else words.STATISTICS
            return ConsentPlan(
                member,
                purpose,
                ConsentDecision.GIVEN,
                method,
                verification,
                kinds,
                day,
                day + DEFAULT_VALIDITY,
            )

        found = [given(0, ConsentPurpose.CONTACT, start)]
        while found[-1].valid_from + DEFAULT_VALIDITY <= episode.end:
            renewal = found[-1].valid_from + DEFAULT_VALIDITY - timedelta(days=rng.randint(5, 30))
            found.append(given(0, ConsentPurpose.CONTACT, renewal))
        if episode.closure_reason is ClosureReason.FAMILY_WITHDREW:
            found[-1] = replace(found[-1], withdrawn_on=max(found[-1].valid_from, episode.end))
        answer = rng.choices(("given", "refused", "none"), weights=(15, 3, 2))[0]
        if answer == "given":
            statistics = given(0, ConsentPurpose.STATISTICS, start)
            if rng.random() < 0.06 and episode.end > start:
                latest = min(episode.end, start + DEFAULT_VALIDITY)
                statistics = replace(statistics, withdrawn_on=_day(rng, start, latest))
            found.append(statistics)
        elif answer == "refused":
            found.append(
                ConsentPlan(
                    0,
                    ConsentPurpose.STATISTICS,
                    ConsentDecision.REFUSED,
                    method,
                    verification,
                    frozenset(),
                    start,
                    None,
                )
            )
        if rng.random() < 0.35:
            found.append(
                replace(
                    given(None, ConsentPurpose.CONTACT, start),
                    method=ConsentMethod.VERBAL,
                    verification=ConsentVerification.WITNESSED,
                )
            )
        return tuple(found)


def plaintexts(plans: Iterable[HistoryPlan]) -> set[str]:
    """Every name, prison number, phone, email and free text the plans hold: what must never
    be found in clear in the database."""
    found: set[str] = set()
    for plan in plans:
        found |= {plan.family.person.name, plan.family.person.prison_number}
        for member in plan.family.members:
            found |= {value for value in (member.name, member.phone, member.email) if value}
        found |= {c.summary for c in plan.contacts} | {n.body for n in plan.notes}
        found |= {a.description for a in plan.actions}
    return found
