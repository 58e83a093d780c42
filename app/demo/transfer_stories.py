"""The demo's transfers between charities, as plain data (DESIGN.md section 6): a handful of
families whose case went, or is going, from one charity to another, one in every state a
transfer can reach, and the walk-through family whose transfer the reader finishes in the
browser (README, "Transfer walk-through").

Each story is a family's case at the sender's prison (app.demo.casework) and the days on which
each step of its transfer was taken, counted back from the given "today" as the histories' are
(app.demo.histories); a seeded generator draws the families, so the same day always gives the
same stories. Nothing here touches the database:
``app.demo.transfers.seed_transfers`` takes every step through the real use cases.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from app.demo.casework import Casework, CaseworkDrawer, carried_on, walk_through_casework
from app.demo.families import Family
from app.demo.histories import ContactPlan, NotePlan
from app.domain.transfers.machine import TransferOrigin, TransferReason, TransferState
from app.domain.vocabulary import DataCategory

# What most families agree to share with the receiving charity: everything but the sender's
# case notes, which are written for the sender's own team.
SHARED = frozenset(DataCategory) - {DataCategory.NOTES}
# The walk-through family's story, for the README and the tests.
WALK_THROUGH = "walk_through"
# Each charity's receiving manager and sending workers, as demo users
# (app.demo.charities.DEMO_USERS).
POPS_MANAGER = "pops/nw.manager"
NEPACS_MANAGER = "nepacs/ne.manager"


@dataclass(frozen=True)
class Route:
    """Who sends from which prison and who receives at which: demo users
    (app.demo.charities.DEMO_USERS), the sender a worker who works the case, the receiver a manager
    who answers."""

    sender: str
    prison_code: str
    receiver: str
    to_prison_code: str

    @property
    def sending_charity(self) -> str:
        return self.sender.split("/")[0]

    @property
    def receiving_charity(self) -> str:
        return self.receiver.split("/")[0]


@dataclass(frozen=True)
class Story:
    """One transfer, from its start to where it stands today."""

    key: str
    route: Route
    origin: TransferOrigin
    reason: TransferReason
    begun_on: date
    # None: a request for a prison number (``asked_for``) the sender holds no open case for.
    casework: Casework | None
    asked_for: str | None = None
    consented_on: date | None = None
    shares: frozenset[DataCategory] = SHARED
    offered_on: date | None = None
    ending: TransferState | None = None
    ended_on: date | None = None
    ending_reason: TransferReason | None = None
    # The receiver's worker who carries the case on after acceptance, and what they record.
    carried_on_by: str | None = None
    carried_on: tuple[ContactPlan | NotePlan, ...] = ()

    @property
    def consented_first(self) -> bool:
        """The family agreed before the transfer was proposed, so the proposal stands ready to
        offer; otherwise it waits for their consent from the moment it is made."""
        return self.consented_on is not None and self.consented_on < self.begun_on

    @property
    def state(self) -> TransferState:
        """Where the transfer stands once every step is taken."""
        if self.ending is not None:
            return self.ending
        if self.offered_on is not None:
            return TransferState.OFFERED
        if self.origin is TransferOrigin.RECEIVER_REQUEST:
            return TransferState.REQUESTED
        return TransferState.PROPOSED if self.consented_first else TransferState.AWAITING_CONSENT


LIVERPOOL_DURHAM = Route("pops/liverpool.worker", "LPI", NEPACS_MANAGER, "DMI")
LIVERPOOL_FRANKLAND = Route("pops/liverpool.worker", "LPI", NEPACS_MANAGER, "FKI")
RISLEY_DURHAM = Route("pops/risley.worker", "RSI", NEPACS_MANAGER, "DMI")
RISLEY_FRANKLAND = Route("pops/risley.worker", "RSI", NEPACS_MANAGER, "FKI")
WAKEFIELD_DURHAM = Route("pops/wakefield.worker", "WDI", NEPACS_MANAGER, "DMI")
HINDLEY_DURHAM = Route(POPS_MANAGER, "HII", NEPACS_MANAGER, "DMI")
DURHAM_RISLEY = Route("nepacs/durham.worker", "DMI", POPS_MANAGER, "RSI")
DURHAM_LIVERPOOL = Route("nepacs/durham.worker", "DMI", POPS_MANAGER, "LPI")


def plan_transfer_stories(today: date) -> tuple[Story, ...]:
    """The demo's transfers: the same ``today`` gives the same stories."""
    rng = random.Random("continuum-demo-transfers")  # noqa: S311 - synthetic demo data
    draw = CaseworkDrawer(rng, today)

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    moved, asked = TransferReason.PERSON_MOVED, TransferReason.FAMILY_ASKED
    worker, feed = TransferOrigin.SENDER, TransferOrigin.MOVEMENT
    request = TransferOrigin.RECEIVER_REQUEST
    accepted = draw.casework(330, until=ago(47))
    return (
        Story(
            "accepted",
            LIVERPOOL_DURHAM,
            worker,
            moved,
            ago(47),
            accepted,
            consented_on=ago(46),
            offered_on=ago(46),
            ending=TransferState.ACCEPTED,
            ended_on=ago(42),
            carried_on_by="nepacs/durham.worker",
            carried_on=carried_on(accepted.family, ago(42), today),
        ),
        Story(
            "offered",
            RISLEY_FRANKLAND,
            feed,
            moved,
            ago(6),
            draw.casework(240, ago(6)),
            consented_on=ago(4),
            offered_on=ago(3),
        ),
        # Offered more than an offer's life (14 days) ago and not yet answered: overdue.
        Story(
            "overdue",
            WAKEFIELD_DURHAM,
            worker,
            asked,
            ago(20),
            draw.casework(180, ago(20)),
            consented_on=ago(19),
            offered_on=ago(18),
        ),
        Story(
            "declined",
            LIVERPOOL_FRANKLAND,
            worker,
            moved,
            ago(33),
            draw.casework(150, ago(33)),
            consented_on=ago(31),
            shares=frozenset({DataCategory.IDENTITY, DataCategory.NEEDS}),
            offered_on=ago(31),
            ending=TransferState.DECLINED,
            ended_on=ago(28),
            ending_reason=TransferReason.PERSON_MOVED_AGAIN,
        ),
        Story(
            "cancelled",
            WAKEFIELD_DURHAM,
            worker,
            asked,
            ago(60),
            draw.casework(400, ago(60)),
            ending=TransferState.CANCELLED,
            ended_on=ago(52),
            ending_reason=TransferReason.FAMILY_DECLINED,
        ),
        # The person in custody withdrew their consent after the offer: nothing crossed.
        Story(
            "halted",
            LIVERPOOL_DURHAM,
            feed,
            moved,
            ago(15),
            draw.casework(260, ago(15)),
            consented_on=ago(13),
            offered_on=ago(12),
            ending=TransferState.HALTED,
            ended_on=ago(9),
        ),
        Story("awaiting_consent", HINDLEY_DURHAM, feed, moved, ago(5), draw.casework(120, ago(5))),
        Story("requested", LIVERPOOL_DURHAM, request, asked, ago(2), draw.casework(200, ago(2))),
        # NEPACS asked for a family POPS holds no open case for; POPS refused.
        Story(
            "refused",
            LIVERPOOL_FRANKLAND,
            request,
            asked,
            ago(26),
            None,
            asked_for=draw.prison_number(),
            ending=TransferState.REFUSED,
            ended_on=ago(24),
            ending_reason=TransferReason.NO_MATCHING_CASE,
        ),
        # The other way: NEPACS offers POPS a family whose person in custody moved to Risley.
        Story(
            "incoming",
            DURHAM_RISLEY,
            worker,
            moved,
            ago(8),
            draw.casework(210, ago(8)),
            consented_on=ago(7),
            offered_on=ago(7),
        ),
        # Offered to POPS and never answered: the platform lapsed it after its 14 days.
        Story(
            "expired",
            DURHAM_LIVERPOOL,
            worker,
            moved,
            ago(27),
            draw.casework(300, ago(27)),
            consented_on=ago(26),
            offered_on=ago(26),
            ending=TransferState.EXPIRED,
            ended_on=ago(11),
        ),
        # The person in custody moved to Durham; the movement feed proposed the transfer and the
        # family has not agreed yet: the reader records their consent and offers the case.
        Story(WALK_THROUGH, RISLEY_DURHAM, feed, moved, ago(3), walk_through_casework(today)),
        # The family asked to move and agreed to it first: the worker's proposal is ready to
        # offer. (Drawn last, so the stories above keep their families.)
        Story(
            "proposed",
            LIVERPOOL_DURHAM,
            worker,
            asked,
            ago(1),
            draw.casework(160, ago(1)),
            consented_on=ago(2),
        ),
    )


def families_held_by(stories: Iterable[Story], slug: str) -> list[Family]:
    """The stories' families with a case at charity ``slug``: the ones it sent (or is sending)
    and the ones it accepted."""
    return [
        story.casework.family
        for story in stories
        if story.casework is not None
        and (
            story.route.sending_charity == slug
            or (story.route.receiving_charity == slug and story.state is TransferState.ACCEPTED)
        )
    ]


def story_plaintexts(stories: Iterable[Story]) -> set[str]:
    """Every name, prison number, phone, email and free text the stories hold: what must never
    be found in clear in the database (as app.demo.histories.plaintexts for the histories)."""
    found: set[str] = set()
    for story in stories:
        work = story.casework
        if work is None:
            continue
        found |= {work.family.person.name, work.family.person.prison_number}
        for member in work.family.members:
            found |= {value for value in (member.name, member.phone, member.email) if value}
        found |= {c.summary for c in work.contacts} | {n.body for n in work.notes}
        found |= {a.description for a in work.actions}
        found |= {c.summary if isinstance(c, ContactPlan) else c.body for c in story.carried_on}
    return found
