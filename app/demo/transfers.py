"""Writing the demo's transfers (app.demo.transfer_stories) through the real use cases.

The histories (app.demo.records) write months of rows directly, for speed. Here every row is
written by the use case a member of staff would use, as that member of staff, at the moment the
story says: the family by ``referrals.open_case`` and ``family_file.add_member``, its casework
and consents by the casework and consent use cases, and every step of its transfer by
``app.services.transfers`` (the movement feed's proposal and the lapse of an unanswered offer as
the platform, a withdrawal through ``consent_withdrawal.withdraw_consent``). So the state machine
and the consent gate check each step, the walls check each row, both charities' audit chains
record it and the outbox holds its messages, exactly as in use. A dozen families: about a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.demo.casework import Casework
from app.demo.charities import CHARITIES
from app.demo.desk import Desk, Entry, Member, Settled, at, planned, record
from app.demo.transfer_stories import Story, plan_transfer_stories
from app.domain.transfers.machine import TransferOrigin, TransferState
from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    DataCategory,
)
from app.models import CaseTransfer, User
from app.security.keyring import RootKeyProvider
from app.services import transfers
from app.services.cases import cases, consent_withdrawal, consents, referrals
from app.services.transfers.movements import COLUMNS as MOVEMENT_COLUMNS
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role


@dataclass(frozen=True)
class SeededTransfers:
    """What one run wrote, by story key (all empty when the database had transfers already)."""

    transfers: dict[str, uuid.UUID]
    senders_cases: dict[str, uuid.UUID]
    receivers_cases: dict[str, uuid.UUID]  # the accepted stories' new cases


def seed_transfers(
    app_factory: sessionmaker[Session],
    root: RootKeyProvider,
    organisations: Mapping[str, uuid.UUID],
    today: date,
) -> SeededTransfers:
    """Take every step of every story. A database where POPS is already party to a transfer is
    left alone, so running the demo again adds nothing (and the reader's own steps stay)."""
    pops = next(spec for spec in CHARITIES if spec.slug == "pops")
    everywhere = frozenset(code for code, _, _ in pops.services)
    with app_factory() as session:
        bind_tenant(session, TenantContext(organisations["pops"], everywhere, Role.SITE_MANAGER))
        if session.scalar(select(CaseTransfer.id).limit(1)) is not None:
            return SeededTransfers({}, {}, {})
        staff = {
            f"{user.organisation.slug}/{user.username}": TenantContext(
                user.organisation_id, user.prison_codes, user.role_enum, user.id
            )
            for user in session.scalars(select(User))
        }
        engine = session.get_bind().engine
    seeded = SeededTransfers({}, {}, {})
    # One connection for every step (a session gives its connection back after each commit,
    # and on SQLite closing the last connection checkpoints the log: ~170 times otherwise).
    with engine.connect() as connection, app_factory(bind=connection) as session:
        if connection.dialect.name == "sqlite":
            # Demo data: in WAL mode NORMAL stays consistent after a crash, without a sync on
            # each of the steps' commits.
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            connection.commit()
        for story in plan_transfer_stories(today):
            _StoryWriter(session, root, staff, story).write(seeded)
    return seeded


def _categories(wanted: frozenset[DataCategory], children: int) -> frozenset[DataCategory]:
    """What a family's consent covers: children's details only where there are children."""
    return wanted if children else wanted - {DataCategory.CHILDREN}


class _StoryWriter:
    """One story, step by step, each by its actor on its day."""

    def __init__(
        self,
        session: Session,
        root: RootKeyProvider,
        staff: Mapping[str, TenantContext],
        story: Story,
    ) -> None:
        self.story = story
        self.sender = Desk(session, root, staff[story.route.sender])
        self.receiver = Desk(session, root, staff[story.route.receiver])
        self.carrier = Desk(session, root, staff[story.carried_on_by or story.route.receiver])
        # The movement feed and the offer clock act at the sender's prison, for no user.
        sender = staff[story.route.sender]
        self.platform = Desk(
            session,
            root,
            TenantContext(
                sender.charity_id, frozenset({story.route.prison_code}), Role.SITE_MANAGER
            ),
        )

    def write(self, seeded: SeededTransfers) -> None:
        story = self.story
        case_id = main_contact = None
        if story.casework is not None:
            case_id, main_contact = self._casework(story.casework)
            seeded.senders_cases[story.key] = case_id
        consent_id = None
        if story.consented_on is not None and story.consented_first:
            consent_id = self._consent(
                planned(case_id, "case"), planned(main_contact, "main contact"), story.consented_on
            )
        transfer_id = self._start(case_id)
        seeded.transfers[story.key] = transfer_id
        if story.consented_on is not None and not story.consented_first:
            consent_id = self._consent(
                planned(case_id, "case"), planned(main_contact, "main contact"), story.consented_on
            )
        if story.offered_on is not None:
            self.sender.do(at(story.offered_on, 14), transfers.offer_transfer, transfer_id)
        received = self._end(transfer_id, case_id, consent_id)
        if received is not None:
            seeded.receivers_cases[story.key] = received
            self._carry_on(received)

    # --- the family's case at the sender --------------------------------------------------

    def _casework(self, work: Casework) -> tuple[uuid.UUID, uuid.UUID]:
        desk, family = self.sender, work.family
        case = desk.do(
            at(work.opened_on, 9),
            referrals.open_case,
            prison_code=self.story.route.prison_code,
            person=family.person,
            referral_source=work.referral_source,
            opened_on=work.opened_on,
            main_contact=family.members[0],
            needs=work.needs,
            key_worker_id=desk.context.user_id,
        )
        main_contact = desk.main_contact(case.id)
        method, verification = work.agreed_how
        desk.do(
            at(work.agreed_on, 11, 30),
            consents.record_consent,
            case.id,
            subject=ConsentSubject.FAMILY_MEMBER,
            family_member_id=main_contact,
            purpose=ConsentPurpose.CONTACT,
            decision=ConsentDecision.GIVEN,
            method=method,
            verification=verification,
            categories=_categories(frozenset(DataCategory), family.children),
        )
        entries: list[Entry] = [
            *(Member(m, work.opened_on) for m in family.members[1:]),
            *work.contacts,
            *work.notes,
            *work.assessments,
        ]
        for n, action in enumerate(work.actions):
            entries.append(action)
            if action.settled_on is not None:
                entries.append(Settled(n, action))
        record(desk, case.id, entries)
        return case.id, main_contact

    def _consent(self, case_id: uuid.UUID, main_contact: uuid.UUID, on: date) -> uuid.UUID:
        """The person in custody's and the main contact's consent to this transfer, naming the
        receiving charity; returns the person in custody's."""
        story, work = self.story, planned(self.story.casework, "casework")
        shared = _categories(story.shares, work.family.children)
        given = {
            "purpose": ConsentPurpose.TRANSFER,
            "decision": ConsentDecision.GIVEN,
            "recipient_charity_id": self.receiver.context.charity_id,
        }
        person = self.sender.do(
            at(on, 11),
            consents.record_consent,
            case_id,
            subject=ConsentSubject.PERSON_IN_CUSTODY,
            method=ConsentMethod.WRITTEN,
            verification=ConsentVerification.SIGNED_FORM,
            categories=shared - {DataCategory.CONTACT_DETAILS},
            **given,
        )
        self.sender.do(
            at(on, 11, 20),
            consents.record_consent,
            case_id,
            subject=ConsentSubject.FAMILY_MEMBER,
            family_member_id=main_contact,
            method=ConsentMethod.VERBAL,
            verification=ConsentVerification.CALL_BACK,
            categories=shared,
            **given,
        )
        return person.id

    # --- the transfer ---------------------------------------------------------------------

    def _start(self, case_id: uuid.UUID | None) -> uuid.UUID:
        story = self.story
        work = story.casework
        if story.origin is TransferOrigin.RECEIVER_REQUEST:
            number = story.asked_for or (work.family.person.prison_number if work else "")
            row = self.receiver.do(
                at(story.begun_on, 10),
                transfers.request_transfer,
                prison_number=number,
                from_prison_code=story.route.prison_code,
                to_prison_code=story.route.to_prison_code,
                reason=story.reason,
            )
            return row.id
        if story.origin is TransferOrigin.MOVEMENT:
            # The feed says the person moved the day before; it is imported overnight.
            work = planned(work, "casework")
            moved = (
                work.family.person.prison_number,
                story.route.prison_code,
                story.route.to_prison_code,
                (story.begun_on - timedelta(days=1)).isoformat(),
            )
            (proposed,) = self.platform.import_movements(
                at(story.begun_on, 7), [",".join(MOVEMENT_COLUMNS), ",".join(moved)]
            )
            return proposed
        row = self.sender.do(
            at(story.begun_on, 10),
            transfers.propose_transfer,
            case_id,
            to_prison_code=story.route.to_prison_code,
            reason=story.reason,
        )
        return row.id

    def _end(
        self, transfer_id: uuid.UUID, case_id: uuid.UUID | None, consent_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        """The last step, if the story has one; the receiver's new case if it was accepted."""
        story = self.story
        if story.ending is None or story.ended_on is None:
            return None
        when = at(story.ended_on, 10)
        reason = {"reason": story.ending_reason} if story.ending_reason else {}
        if story.ending is TransferState.ACCEPTED:
            return self.receiver.do(when, transfers.accept_transfer, transfer_id).case_id
        if story.ending is TransferState.DECLINED:
            self.receiver.do(when, transfers.decline_transfer, transfer_id, **reason)
        elif story.ending is TransferState.CANCELLED:
            self.sender.do(when, transfers.cancel_transfer, transfer_id, **reason)
        elif story.ending is TransferState.REFUSED:
            self.sender.do(when, transfers.refuse_request, transfer_id, **reason)
        elif story.ending is TransferState.HALTED:
            # The person in custody rang to withdraw: the transfer halts in the same step.
            self.sender.do(
                when,
                consent_withdrawal.withdraw_consent,
                case_id,
                consent_id,
                method=ConsentMethod.VERBAL,
                verification=ConsentVerification.CALL_BACK,
            )
        elif story.ending is TransferState.EXPIRED:
            # The job that lapses unanswered offers, run early in the morning.
            self.platform.lapse_offers(at(story.ended_on, 6))
        return None

    def _carry_on(self, received: uuid.UUID) -> None:
        """The receiving manager names a key worker, who records the family's agreement to
        support here and carries the history on."""
        story = self.story
        ended_on = planned(story.ended_on, "end date")
        self.receiver.do(
            at(ended_on, 10, 30),
            cases.update_case,
            received,
            key_worker_id=self.carrier.context.user_id,
        )
        self.carrier.do(
            at(ended_on, 11),
            consents.record_consent,
            received,
            subject=ConsentSubject.FAMILY_MEMBER,
            family_member_id=self.carrier.main_contact(received),
            purpose=ConsentPurpose.CONTACT,
            decision=ConsentDecision.GIVEN,
            method=ConsentMethod.VERBAL,
            verification=ConsentVerification.IN_PERSON_ID_SEEN,
            categories=frozenset(DataCategory),
        )
        record(self.carrier, received, list(story.carried_on))
