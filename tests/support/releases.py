"""A published release for tests: every serving charity signs off the quarter, the coordinator
builds and publishes it, each step committed on its own session as the real screens do; and
what a test reads back from a published release's document."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from app.domain.figures.periods import Quarter
from app.models.releases import Release
from app.services.figures.releases import Builder, build_release, publish_release, rules_from
from app.services.figures.sign_offs import charities_serving, is_signed_off, sign_off_quarter
from app.services.platform.audit import Origin
from tests.support.world import World

Q3 = Quarter(2026, 3)
# After 30 September 2026, so the quarter is over and may be signed off and built.
AFTER_Q3 = datetime(2026, 10, 21, 9, 0, tzinfo=UTC)
# Who signs off for each charity (the world has one charity admin, at POPS; the service does
# not ask for the role, the web screens do).
SIGNERS = {"pops": "pops_admin", "nepacs": "nepacs_manager", "pact": "pact_manager"}


def origin(when: datetime = AFTER_Q3) -> Origin:
    return Origin("test", lambda: when)


def sign_off_all(
    sessions: sessionmaker[Session], world: World, quarter: Quarter = Q3, when: datetime = AFTER_Q3
) -> None:
    """Every charity serving in the quarter signs it off (those already signed off are left)."""
    with sessions() as session:
        for charity in charities_serving(session, quarter):
            if is_signed_off(session, charity.id, quarter):
                continue
            signer = world.actors[SIGNERS.get(charity.slug, "pops_admin")].user_id
            sign_off_quarter(
                session,
                charity_id=charity.id,
                quarter=quarter,
                user_id=signer,
                origin=origin(when),
            )
        session.commit()


def build_quarter(
    sessions: sessionmaker[Session],
    world: World,
    quarter: Quarter = Q3,
    *,
    threshold: int = 10,
    base: int = 5,
    reason: str | None = None,
    when: datetime = AFTER_Q3,
) -> uuid.UUID:
    """The coordinator's draft of the quarter (everyone signed off first); its id."""
    sign_off_all(sessions, world, quarter, when)
    with sessions() as session:
        release = build_release(
            session,
            quarter,
            builder=_coordinator(world, when),
            rules=rules_from(threshold, base),
            reason=reason,
        )
        session.commit()
        return release.id


def publish_quarter(
    sessions: sessionmaker[Session],
    world: World,
    quarter: Quarter = Q3,
    *,
    threshold: int = 10,
    base: int = 5,
    reason: str | None = None,
    when: datetime = AFTER_Q3,
) -> Release:
    """Sign off, build and publish the quarter; the published release (detached, loaded)."""
    release_id = build_quarter(
        sessions, world, quarter, threshold=threshold, base=base, reason=reason, when=when
    )
    with sessions(expire_on_commit=False) as session:
        release = publish_release(session, release_id, builder=_coordinator(world, when))
        session.commit()
        return release


def release_table(release: Release, table_id: str) -> dict:
    """One table of a published release's document, by its id."""
    document = json.loads(release.content)
    return next(t for t in document["tables"] if t["id"] == table_id)  # type: ignore[no-any-return]


def figure_in_both(quarters: list[Release]) -> tuple[str, str, str]:
    """A prison figure suppressed in one quarter and published in the other: (table, row,
    column)."""
    older, newer = (release_table(r, "prison_activity") for r in quarters)
    before = {row["key"]: row["values"] for row in older["rows"]}
    for row in (r for r in newer["rows"] if r["key"] in before):
        for column in newer["columns"]:
            then, now = before[row["key"]][column["key"]], row["values"][column["key"]]
            if (then is None) != (now is None):
                return "prison_activity", row["key"], column["key"]
    raise AssertionError("no figure is suppressed in one quarter and published in the other")


def _coordinator(world: World, when: datetime) -> Builder:
    return Builder(
        world.actors["coordinator"].user_id, world.organisations["alliance"], origin(when)
    )
