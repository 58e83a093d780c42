"""The quarter lock: a charity's records dated in a quarter it has signed off stay as signed off
(DESIGN.md section 7, issue 5 item 3).

A ``before_flush`` hook on every session with the walls (``install_quarter_lock``) looks at the
dated case records a flush would insert or change, and refuses the whole flush with
``QuarterLocked`` (409) when a date, before or after the change, falls in a quarter whose latest
step for that charity is a sign-off. The signed-off quarters are read once per flush, for the
charities involved, and only when the flush holds such a record, so other flushes cost nothing.

What is locked, and why only that:

- contacts (``occurred_on``), outcome assessments (``assessed_on``) and consent records
  (``valid_from``): adding one, or changing one, dated in the quarter;
- cases: opening one (``opened_on``) in the quarter, moving its opening into or out of it, and
  setting or changing its closing day (``closed_on``) into or out of it. A case stays open across
  quarters, so its other attributes (status, review day, worker) can still change.
- Undated attributes (needs, family members, equality monitoring) are not locked: they have no
  day to belong to a quarter by. A release counts them as they stand when it is built; a
  correction after publication is published by a revision.
- The history a transferred case brings with it (rows dated before the received case opened) is
  not locked: the figures count a case's records from its opening, so those copies never count
  for the receiving charity (the sender counts them).
- Deleting is not locked: erasure is the law's to decide, and a published release never changes.

The coordinator reopens a charity's quarter (``sign_offs.reopen_quarter``) to allow a correction.

It sits with the sessions, below the use cases, because every session factory with the walls
installs it (app.db.make_session_factory); signing off and reopening are the figures' use cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import QuarterLocked
from app.domain.figures.periods import Quarter
from app.models.cases import Case
from app.models.casework import Contact, OutcomeAssessment
from app.models.consent import ConsentRecord
from app.models.releases import QuarterSignOff, SignOffAction

# The date that places each dated record in a quarter (a case has two; see the docstring).
DATED_RECORDS: dict[type, str] = {
    Contact: "occurred_on",
    OutcomeAssessment: "assessed_on",
    ConsentRecord: "valid_from",
}
CASE_DATES = ("opened_on", "closed_on")


def _values(obj: Any, name: str, *, only_changed: bool) -> Iterator[date]:
    """The attribute's value now and, for a change, what it was before."""
    history = inspect(obj).attrs[name].history
    if only_changed and not history.has_changes():
        return
    for value in (*history.added, *history.unchanged, *history.deleted):
        if isinstance(value, date):
            yield value


def _days(obj: Any, new: bool) -> list[date]:
    """The days a new or changed record places in a quarter; none for an untouched one."""
    if isinstance(obj, Case):
        return [day for name in CASE_DATES for day in _values(obj, name, only_changed=not new)]
    name = DATED_RECORDS.get(type(obj))
    if name is None:
        return []
    return list(_values(obj, name, only_changed=False))


def _dated_writes(session: Session) -> Iterator[tuple[Any, uuid.UUID, date]]:
    for obj in session.new:
        for day in _days(obj, True):
            yield obj, obj.charity_id, day
    for obj in session.dirty:
        if type(obj) in DATED_RECORDS and not session.is_modified(obj):
            continue
        for day in _days(obj, False):
            yield obj, obj.charity_id, day


def _copied_history(session: Session, obj: Any, day: date) -> bool:
    """A row a transfer copied with its case: dated before the received case opened."""
    if isinstance(obj, Case):
        return False
    case = session.get(Case, obj.case_id) if obj.case_id is not None else None
    return case is not None and case.transfer_id is not None and day < case.opened_on


def signed_off_quarters(
    session: Session, charity_ids: Iterable[uuid.UUID]
) -> set[tuple[uuid.UUID, str]]:
    """Every (charity id, quarter label) whose latest step is a sign-off."""
    ids = list(set(charity_ids))
    if not ids:
        return set()
    latest = (
        select(
            QuarterSignOff.charity_id,
            QuarterSignOff.quarter,
            func.max(QuarterSignOff.sequence).label("sequence"),
        )
        .where(QuarterSignOff.charity_id.in_(ids))
        .group_by(QuarterSignOff.charity_id, QuarterSignOff.quarter)
        .subquery()
    )
    rows = session.execute(
        select(QuarterSignOff.charity_id, QuarterSignOff.quarter)
        .join(
            latest,
            (latest.c.charity_id == QuarterSignOff.charity_id)
            & (latest.c.quarter == QuarterSignOff.quarter)
            & (latest.c.sequence == QuarterSignOff.sequence),
        )
        .where(QuarterSignOff.action == SignOffAction.SIGNED_OFF)
    )
    return {(charity_id, label) for charity_id, label in rows}


def _refuse_locked(session: Session, _flush_context: Any, _instances: Any) -> None:
    writes = [write for write in _dated_writes(session) if write[1] is not None]
    if not writes:
        return
    with session.no_autoflush:
        locked = signed_off_quarters(session, {charity_id for _, charity_id, _ in writes})
        if not locked:
            return
        for obj, charity_id, day in writes:
            label = Quarter.of(day).label
            if (charity_id, label) in locked and not _copied_history(session, obj, day):
                raise QuarterLocked(label)


def install_quarter_lock(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "before_flush", _refuse_locked)
