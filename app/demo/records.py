"""Writing the demo's case histories (app.demo.histories) as case records, then its transfers
between charities (app.demo.transfers, through the transfer use cases).

Each case is opened through the real use case (``referrals.open_case``: its checks, its encryption,
its audit event); the rest of a history, months of it, is written as rows built the way the
casework and consent use cases build them (the same vault, the same fields), without an audit
event each, so several hundred families take seconds rather than minutes. Each charity is
written in one transaction under its own tenant context, so the walls check every row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.demo.charities import CHARITIES, DEMO_USERS
from app.demo.histories import ConsentPlan, HistoryPlan, HistoryWriter, allocate
from app.demo.transfers import SeededTransfers, seed_transfers
from app.domain.outcomes import DEFAULT_FRAMEWORK
from app.domain.vocabulary import ConsentDecision, ConsentSubject
from app.models import (
    ActionItem,
    Case,
    CaseNote,
    ConsentRecord,
    Contact,
    EqualityMonitoring,
    Family,
    FamilyMember,
    OutcomeAssessment,
    OutcomeScore,
    Prison,
    User,
)
from app.models.base import new_id
from app.security.keyring import RootKeyProvider
from app.services.cases import referrals
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault, vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role

DEMO_FAMILIES = 600
# The demo caseworker's prison (HMP Liverpool) has the most families, so signing in as her shows
# a full caseload; the other prisons with demo staff have twice as many as the rest.
HOME_PRISON = ("pops", "LPI")
HOME_PRISON_WEIGHT = 8
STAFFED_PRISON_WEIGHT = 2
# Cases opened before their histories are added: open_case flushes, so nothing else may then be
# pending (case tables have no relationship() to order a mixed flush).
_BATCH = 50


def plan_demo_histories(
    today: date, families: int, women_prisons: frozenset[str]
) -> dict[str, list[HistoryPlan]]:
    """The histories the demo writes, by charity slug: the same arguments give the same plans."""
    staffed = {(user.organisation, code) for user in DEMO_USERS for code in user.prisons}
    services = [
        (spec.slug, code, starts_on, ends_on)
        for spec in CHARITIES
        for code, starts_on, ends_on in spec.services
        if starts_on <= today
    ]
    weights = [
        HOME_PRISON_WEIGHT
        if (slug, code) == HOME_PRISON
        else STAFFED_PRISON_WEIGHT
        if (slug, code) in staffed and ends_on is None
        else 1
        for slug, code, _, ends_on in services
    ]
    writers = {spec.slug: HistoryWriter(f"continuum-demo-{spec.slug}", today) for spec in CHARITIES}
    plans: dict[str, list[HistoryPlan]] = {spec.slug: [] for spec in CHARITIES}
    counts = allocate(weights, families)
    for (slug, code, starts_on, ends_on), count in zip(services, counts, strict=True):
        ended = ends_on is not None and ends_on <= today
        last_day = ends_on - timedelta(days=1) if ends_on is not None and ended else today
        women = code in women_prisons
        plans[slug] += [
            writers[slug].history(code, starts_on, last_day, ended, women) for _ in range(count)
        ]
    return plans


def women_prisons(session: Session) -> frozenset[str]:
    """Prisons for women only, where the person in custody is a mother rather than a father."""
    return frozenset(
        session.scalars(select(Prison.code).where(Prison.female, Prison.male.is_(False)))
    )


@dataclass(frozen=True)
class SeededHistories:
    created: int
    # The plans this run wrote, by charity slug (none for a charity that already had cases).
    plans: dict[str, list[HistoryPlan]]
    # The transfers between charities this run took through their steps (app.demo.transfers).
    transfers: SeededTransfers


class DemoStaff:
    """Who works a prison's demo cases: its caseworkers (the site manager takes every fourth
    case); at a prison without demo staff the case has no key worker and a colleague elsewhere
    in the charity records the work."""

    def __init__(self, users: Sequence[User]) -> None:
        working = sorted(
            (u for u in users if u.role in (Role.CASEWORKER, Role.SITE_MANAGER)),
            key=lambda u: (u.role != Role.CASEWORKER, u.username),
        )
        if not working:
            raise ValueError("the charity needs a caseworker or site manager for the demo")
        self._at: dict[str, list[uuid.UUID]] = {}
        for user in working:
            for code in user.prison_codes:
                self._at.setdefault(code, []).append(user.id)
        self._anyone = working[0].id

    def key_worker(self, prison_code: str, n: int) -> uuid.UUID | None:
        here = self._at.get(prison_code)
        if not here:
            return None
        return here[-1] if n % 4 == 3 else here[0]

    def recorder(self, prison_code: str, n: int) -> uuid.UUID:
        return self.key_worker(prison_code, n) or self._anyone


def seed_histories(
    app_factory: sessionmaker[Session],
    root: RootKeyProvider,
    organisations: Mapping[str, uuid.UUID],
    today: date,
    families: int = DEMO_FAMILIES,
) -> SeededHistories:
    """Write the demo's case histories, each charity in one transaction under its own context,
    then the transfers between charities (app.demo.transfers). A charity that already has cases
    is left alone, and so are transfers once there are any: running the demo again adds nothing."""
    with app_factory() as session:
        women = women_prisons(session)
        users = session.scalars(select(User)).all()
        staff = {
            spec.slug: DemoStaff(
                [u for u in users if u.organisation_id == organisations[spec.slug]]
            )
            for spec in CHARITIES
        }
    plans = plan_demo_histories(today, families, women)
    # The use cases check dates against the clock: the demo's "today", late in the working day.
    origin = Origin("demo", clock=lambda: datetime.combine(today, time(17), UTC))
    written: dict[str, list[HistoryPlan]] = {}
    for spec in CHARITIES:
        prisons = frozenset(code for code, _, _ in spec.services)
        context = TenantContext(organisations[spec.slug], prisons, Role.SITE_MANAGER)
        with app_factory() as session:
            bind_tenant(session, context)
            if session.scalar(select(Case.id).limit(1)) is not None:
                continue
            vault = vault_for(session, root)
            mine = plans[spec.slug]
            for first in range(0, len(mine), _BATCH):
                batch = mine[first : first + _BATCH]
                write_histories(session, context, origin, vault, staff[spec.slug], batch)
            session.commit()
        written[spec.slug] = mine
    moved = seed_transfers(app_factory, root, organisations, today)
    return SeededHistories(sum(len(p) for p in written.values()), written, moved)


@dataclass(frozen=True)
class _Opened:
    plan: HistoryPlan
    case: Case
    recorder: uuid.UUID


def write_histories(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    staff: DemoStaff,
    plans: Sequence[HistoryPlan],
) -> None:
    """Open each plan's case, then add its history; the caller commits."""
    opened = [_open(session, context, origin, vault, staff, n, p) for n, p in enumerate(plans)]
    main_contacts = dict(
        session.execute(
            select(FamilyMember.family_id, FamilyMember.id).where(
                FamilyMember.family_id.in_([o.case.family_id for o in opened]),
                FamilyMember.is_main_contact.is_(True),
            )
        )
        .tuples()
        .all()
    )
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    scored: list[tuple[OutcomeAssessment, dict[str, int]]] = []
    for o in opened:
        family = session.get_one(Family, o.case.family_id)
        others = [
            referrals.new_member(vault, context, family, m) for m in o.plan.family.members[1:]
        ]
        members[o.case.id] = [main_contacts[family.id], *(m.id for m in others)]
        assessments = [(_assessment(o, a.assessed_on), a.scores) for a in o.plan.assessments]
        scored += assessments
        session.add_all([*others, *(row for row, _ in assessments)])
        session.add_all([*_contacts(vault, o), *_actions(vault, o), *_notes(vault, o)])
    # Case tables have no relationship(), so each parent is flushed before its children.
    session.flush()
    session.add_all(
        OutcomeScore(
            charity_id=row.charity_id,
            prison_code=row.prison_code,
            assessment_id=row.id,
            area=area,
            score=score,
        )
        for row, scores in scored
        for area, score in sorted(scores.items())
    )
    withdrawals = []
    for o in opened:
        session.add_all(_equality(o, members[o.case.id]))
        for consent in o.plan.consents:
            record = _consent(o, consent, members[o.case.id])
            session.add(record)
            if consent.withdrawn_on is not None:
                withdrawals.append(_withdrawal(record, consent.withdrawn_on))
    session.flush()
    session.add_all(withdrawals)
    session.flush()


def _at(day: date, minute: int = 0) -> datetime:
    return datetime.combine(day, time(10), UTC) + timedelta(minutes=minute)


def _open(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    staff: DemoStaff,
    n: int,
    plan: HistoryPlan,
) -> _Opened:
    """The case through the use case, then set to where its history leaves it."""
    recorder = staff.recorder(plan.prison_code, n)
    case = referrals.open_case(
        session,
        replace(context, user_id=recorder),
        origin,
        vault,
        prison_code=plan.prison_code,
        person=plan.family.person,
        referral_source=plan.referral_source,
        opened_on=plan.opened_on,
        main_contact=plan.family.members[0],
        needs=plan.needs,
        safeguarding=plan.safeguarding,
        review_due_on=plan.review_due_on,
        commit=False,
    )
    case.reference = plan.reference
    case.status = plan.status.value
    case.closed_on = plan.closed_on
    case.closure_reason = plan.closure_reason.value if plan.closure_reason else None
    case.key_worker_id = staff.key_worker(plan.prison_code, n)
    case.created_at = case.updated_at = _at(plan.opened_on)
    return _Opened(plan, case, recorder)


def _owned(o: _Opened) -> dict[str, object]:
    """The columns every row of a case's history shares."""
    return {
        "id": new_id(),
        "charity_id": o.case.charity_id,
        "prison_code": o.case.prison_code,
        "case_id": o.case.id,
    }


def _assessment(o: _Opened, day: date) -> OutcomeAssessment:
    return OutcomeAssessment(
        **_owned(o),
        framework=DEFAULT_FRAMEWORK,
        assessed_on=day,
        recorded_by=o.recorder,
        created_at=_at(day),
        updated_at=_at(day),
    )


def _contacts(vault: Vault, o: _Opened) -> Iterator[Contact]:
    for i, contact in enumerate(o.plan.contacts):
        row = Contact(
            **_owned(o),
            kind=contact.kind.value,
            occurred_on=contact.occurred_on,
            first_time_visitor=contact.first_time_visitor,
            children_present=contact.children_present,
            children_count=contact.children_count,
            duration_minutes=contact.duration_minutes,
            recorded_by=o.recorder,
            created_at=_at(contact.occurred_on, i),
            updated_at=_at(contact.occurred_on, i),
        )
        vault.seal(row, "summary", contact.summary)
        yield row


def _actions(vault: Vault, o: _Opened) -> Iterator[ActionItem]:
    for action in o.plan.actions:
        item = ActionItem(
            **_owned(o),
            owner=action.owner.value,
            due_on=action.due_on,
            status=action.status.value,
            completed_on=action.settled_on,
            recorded_by=o.recorder,
            created_at=_at(action.agreed_on),
            updated_at=_at(action.settled_on or action.agreed_on),
        )
        vault.seal(item, "description", action.description)
        yield item


def _notes(vault: Vault, o: _Opened) -> Iterator[CaseNote]:
    for i, note in enumerate(o.plan.notes):
        row = CaseNote(**_owned(o), written_at=_at(note.written_on, 30 + i), written_by=o.recorder)
        vault.seal(row, "body", note.body)
        yield row


def _consent(o: _Opened, consent: ConsentPlan, members: list[uuid.UUID]) -> ConsentRecord:
    member = None if consent.member is None else members[consent.member]
    subject = ConsentSubject.PERSON_IN_CUSTODY if member is None else ConsentSubject.FAMILY_MEMBER
    return ConsentRecord(
        **_owned(o),
        subject=subject.value,
        family_member_id=member,
        purpose=consent.purpose.value,
        categories=",".join(sorted(c.value for c in consent.categories)),
        decision=consent.decision.value,
        method=consent.method.value,
        verification=consent.verification.value,
        valid_from=consent.valid_from,
        expires_on=consent.expires_on,
        recorded_by=o.recorder,
        recorded_at=_at(consent.valid_from, 5),
    )


def _equality(o: _Opened, members: list[uuid.UUID]) -> Iterator[EqualityMonitoring]:
    """The members' answers as equality.record_equality builds them, taken when the family
    first agreed to be contacted."""
    day = o.plan.consents[0].valid_from if o.plan.consents else o.plan.opened_on
    for member, answers in zip(members, o.plan.equality, strict=True):
        if answers is None:
            continue
        yield EqualityMonitoring(
            id=new_id(),
            charity_id=o.case.charity_id,
            prison_code=o.case.prison_code,
            family_member_id=member,
            ethnicity=answers.ethnicity.value,
            sex=answers.sex.value,
            disability=answers.disability.value,
            first_language=answers.first_language,
            created_at=_at(day, 10),
            updated_at=_at(day, 10),
        )


def _withdrawal(original: ConsentRecord, on: date) -> ConsentRecord:
    """The record that withdraws ``original`` from ``on``, as consents.record_withdrawal writes."""
    return ConsentRecord(
        id=new_id(),
        charity_id=original.charity_id,
        prison_code=original.prison_code,
        case_id=original.case_id,
        subject=original.subject,
        family_member_id=original.family_member_id,
        purpose=original.purpose,
        categories=original.categories,
        decision=ConsentDecision.WITHDRAWN.value,
        method=original.method,
        verification=original.verification,
        valid_from=on,
        withdraws_id=original.id,
        recorded_by=original.recorded_by,
        recorded_at=_at(on, 5),
    )
