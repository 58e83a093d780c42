"""The coordinator's and the charities' release steps for the release tests (test_releases,
test_release_one_family, the outsider's revisions): each step in a session of its own, as
requests are, on the figures' families (tests/support/figures.py) and twelve more at Liverpool."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from app.domain.figures.catalogue import Tally
from app.domain.figures.periods import Quarter
from app.domain.vocabulary import ContactKind, ReferralSource
from app.services.figures.metrics import quarter_figures
from app.services.figures.releases import (
    Builder,
    build_release,
    publish_release,
    rules_from,
)
from app.services.figures.sign_offs import reopen_quarter, sign_off_quarter
from app.services.platform.audit import Origin
from tests.support.cases import Desk
from tests.support.figures import Family, contact, open_family

Q3 = Quarter(2026, 3)
RULES = rules_from(10, 5)
CHARITIES = ("nepacs", "pact", "pops")
MORE_AT_LIVERPOOL = 12


def at(day: date, hour: int = 9) -> Origin:
    return Origin("test", lambda: datetime(day.year, day.month, day.day, hour, tzinfo=UTC))


AFTER = date(2026, 10, 21)


@dataclass(frozen=True)
class Built:
    id: uuid.UUID
    revision: int
    content: str
    sha256: str

    @property
    def document(self) -> dict:
        return json.loads(self.content)


@dataclass
class Releases:
    """The coordinator's and the admins' steps, each in a session of its own, as requests are."""

    sessions: sessionmaker[Session]
    world: object
    more: tuple[Family, ...] = ()

    def builder(self, day: date = AFTER, hour: int = 10) -> Builder:
        coordinator = self.world.actors["coordinator"].user_id  # type: ignore[attr-defined]
        alliance = self.world.organisations["alliance"]  # type: ignore[attr-defined]
        return Builder(coordinator, alliance, at(day, hour))

    def charity(self, slug: str) -> uuid.UUID:
        return self.world.organisations[slug]  # type: ignore[attr-defined,no-any-return]

    def sign_off(self, *slugs: str, day: date = AFTER) -> None:
        # pops_admin stands in for every charity's admin: the service takes the user the web
        # (or the command line) has already checked.
        admin = self.world.actors["pops_admin"].user_id  # type: ignore[attr-defined]
        with self.sessions() as session:
            for slug in slugs:
                sign_off_quarter(
                    session,
                    charity_id=self.charity(slug),
                    quarter=Q3,
                    user_id=admin,
                    origin=at(day),
                )
            session.commit()

    def reopen(self, slug: str, day: date = AFTER) -> None:
        builder = self.builder(day)
        with self.sessions() as session:
            reopen_quarter(
                session,
                charity_id=self.charity(slug),
                quarter=Q3,
                user_id=builder.user_id,  # type: ignore[arg-type]
                coordinator_org=builder.organisation_id,
                origin=at(day),
            )
            session.commit()

    def build(self, reason: str | None = None, **builder: object) -> Built:
        with self.sessions() as session:
            release = build_release(
                session,
                Q3,
                builder=self.builder(**builder),
                rules=RULES,
                reason=reason,  # type: ignore[arg-type]
            )
            session.commit()
            return Built(release.id, release.revision, release.content, release.sha256)

    def publish(self, release_id: uuid.UUID, hour: int = 11) -> None:
        with self.sessions() as session:
            publish_release(session, release_id, builder=self.builder(hour=hour))
            session.commit()

    def totals(self) -> dict[tuple[str, str, str], Tally]:
        with self.sessions() as session:
            return quarter_figures(session, Q3).total()


def more_families(worker: Desk, prison: str, count: int) -> tuple[Family, ...]:
    """Families new in 2026Q3, each with a child and a visit."""
    families = []
    for n in range(count):
        day = date(2026, 7, 1 + n)
        family = open_family(worker, prison, day, ReferralSource.SELF, children=1)
        contact(worker, family, ContactKind.VISIT, day)
        families.append(family)
    return tuple(families)


def values(document: dict) -> Iterator[tuple[dict, dict, str, object]]:
    """Every cell of the document: (table, row, column key, value)."""
    for table in document["tables"]:
        for row in table["rows"]:
            for key, value in row["values"].items():
                yield table, row, key, value
