"""The platform's way into a transfer: a prison movement feed (``continuum movements import``).

A movement file says a person in custody moved from one prison to another on a day (the shape of
the prison service's movement feed; layout in docs/examples/movements.md). Every row is checked
before anything is written; one bad row and the whole file is refused, with a problem per row and
column. Then, for a move between prisons that two different member charities serve on that day,
the platform proposes the transfer of each of the person's open cases at the prison they left,
as a named system operation bound to the sending charity at that prison only.

The person is found by the sender's own blind index of the prison number, confirmed by
decrypting, so a number is never compared across charities: the same number held by two charities
matches only the sender's case. A proposal is the sender's alone (``receiver_sees`` is false):
the receiving charity learns nothing until the sender offers the case with the family's consent.
The whole file is one transaction, with one platform event for the import naming no person.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit_chain import PLATFORM_CHAIN, AuditDraft
from app.domain.transfers.machine import TransferOrigin, TransferReason
from app.models import Case, CaseTransfer, Family, PersonInCustody, Prison
from app.models.transfers import LIVE_STATES
from app.services.cases.imports import CaseRow, RowProblem, read_rows
from app.services.cases.referrals import PRISON_NUMBER, normalise_prison_number
from app.services.cases.scope import READ_ONLY_STATUSES
from app.services.platform import audit
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from app.services.transfers import PLATFORM, propose_transfer, serving_charity
from tenants.context import TenantContext
from tenants.permissions import Role
from tenants.system import acting_for

COLUMNS = ("prison_number", "from_prison", "to_prison", "date")
# One transaction holds the whole file; a longer feed is split into several files.
DATE_FORMAT = "%Y-%m-%d"


class MovementFileLayoutError(ValueError):
    """Raised when a movement file is not UTF-8 CSV, its header is not exactly the four columns
    (in any order), or it has more than MOST_ROWS rows."""


class MovementFileRejected(Exception):
    """Raised when any row of a movement file is refused; nothing was written."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = tuple(problems)


# A row of the file as a spreadsheet numbers it (the header is row 1), every column stripped.
MovementRow = CaseRow


@dataclass(frozen=True)
class Movement:
    row: int
    prison_number: str
    from_prison: str
    to_prison: str
    on: date


@dataclass
class MovementSummary:
    """What an import did. Counts only: the summary is printed, and names nobody."""

    rows: int = 0
    proposed: list[uuid.UUID] = field(default_factory=list)  # the new transfers' ids
    within_one_charity: int = 0  # rows: both prisons served by the same charity that day
    not_served: int = 0  # rows: no member charity served one of the prisons that day
    unmatched: int = 0  # rows: the sender holds no open case of that prison number there
    skipped: int = 0  # cases: a transfer is already under way


def read_movement_file(lines: Iterable[str]) -> list[MovementRow]:
    """The rows of a movement file, after checking its header. Blank rows are skipped."""
    return read_rows(
        lines,
        columns=COLUMNS,
        required=COLUMNS,
        layout_error=MovementFileLayoutError,
        fold_case=True,
    )


def check_movements(
    rows: Sequence[MovementRow], known_prisons: set[str], today: date
) -> list[Movement]:
    """Every row as a movement, or MovementFileRejected listing every problem of every row."""
    problems: list[RowProblem] = []
    movements: list[Movement] = []
    for row in rows:
        found = _row_problems(row, known_prisons, today)
        problems += found
        if not found:
            movements.append(
                Movement(
                    row.number,
                    normalise_prison_number(row.cells["prison_number"]),
                    row.cells["from_prison"].upper(),
                    row.cells["to_prison"].upper(),
                    datetime.strptime(row.cells["date"], DATE_FORMAT).date(),
                )
            )
    if problems:
        raise MovementFileRejected(problems)
    return movements


def _row_problems(row: MovementRow, known: set[str], today: date) -> list[RowProblem]:
    found = [
        RowProblem(row.number, column, "must not be empty")
        for column in COLUMNS
        if not row.cells[column]
    ]
    if row.overflowing:
        found.append(RowProblem(row.number, "(row)", "more cells than the header has columns"))
    number = row.cells["prison_number"]
    if number and not PRISON_NUMBER.match(normalise_prison_number(number)):
        found.append(RowProblem(row.number, "prison_number", "not a prison number like A1234BC"))
    for column in ("from_prison", "to_prison"):
        code = row.cells[column].upper()
        if code and code not in known:
            found.append(RowProblem(row.number, column, f"no prison has the code {code}"))
    moved_from, moved_to = row.cells["from_prison"].upper(), row.cells["to_prison"].upper()
    if moved_from and moved_from == moved_to:
        found.append(RowProblem(row.number, "to_prison", "the same prison as from_prison"))
    if text := row.cells["date"]:
        try:
            day = datetime.strptime(text, DATE_FORMAT).date()
        except ValueError:
            found.append(RowProblem(row.number, "date", f"not a date as YYYY-MM-DD: {text!r}"))
        else:
            if day > today:
                found.append(RowProblem(row.number, "date", "a movement cannot be in the future"))
    return found


def import_movements(
    session: Session,
    origin: Origin,
    vault: Vault,
    rows: Sequence[MovementRow],
    *,
    offer_days: int = 14,
) -> MovementSummary:
    """Check every row, then propose the transfers the movements call for, all in one
    transaction (committed here), or MovementFileRejected and nothing written."""
    known = set(session.scalars(select(Prison.code)))
    movements = check_movements(rows, known, origin.clock().date())
    summary = MovementSummary(rows=len(movements))
    # Held for the whole file: one import at a time, and its event lands after its proposals.
    audit.lock_chain(session, PLATFORM_CHAIN)
    for movement in movements:
        _propose_for(session, origin, vault, movement, summary, offer_days)
    audit.record(
        session,
        AuditDraft(
            chain=PLATFORM_CHAIN,
            occurred_at=origin.clock(),
            actor=PLATFORM,
            organisation=PLATFORM,
            action="movements.import",
            record_type="transfer",
            record_ids=tuple(str(i) for i in summary.proposed),
            source=origin.source,
            outcome="ok",
        ),
    )
    session.commit()
    return summary


def _propose_for(
    session: Session,
    origin: Origin,
    vault: Vault,
    movement: Movement,
    summary: MovementSummary,
    offer_days: int,
) -> None:
    sender = serving_charity(session, movement.from_prison, movement.on)
    receiver = serving_charity(session, movement.to_prison, movement.on)
    if sender is None or receiver is None:
        summary.not_served += 1
        return
    if sender == receiver:
        summary.within_one_charity += 1
        return
    # The sender's own context at the prison the person left: nothing else is in reach.
    sender_side = TenantContext(sender, frozenset({movement.from_prison}), Role.SITE_MANAGER)
    with acting_for(session, sender_side):
        case_ids = open_cases_of(session, vault, sender, movement.prison_number)
        if not case_ids:
            summary.unmatched += 1
            return
        for case_id in case_ids:
            if has_live_transfer(session, case_id):
                summary.skipped += 1
                continue
            row = propose_transfer(
                session,
                sender_side,
                origin,
                case_id,
                to_prison_code=movement.to_prison,
                reason=TransferReason.PERSON_MOVED,
                offer_days=offer_days,
                commit=False,
                platform=TransferOrigin.MOVEMENT,
                serving_on=movement.on,
            )
            summary.proposed.append(row.id)


def open_cases_of(
    session: Session, vault: Vault, charity_id: uuid.UUID, number: str
) -> list[uuid.UUID]:
    """The open cases, in the bound context, of the person with prison number ``number``:
    found by ``charity_id``'s blind index and confirmed by decrypting (the index is truncated,
    so it can collide). Oldest first."""
    index = vault.prison_number_index(charity_id, number)
    rows = session.execute(
        select(Case.id, PersonInCustody)
        .join(Family, (Family.id == Case.family_id) & (Family.charity_id == Case.charity_id))
        .join(
            PersonInCustody,
            (PersonInCustody.id == Family.person_in_custody_id)
            & (PersonInCustody.charity_id == Family.charity_id),
        )
        .where(
            PersonInCustody.prison_number_index == index,
            Case.status.not_in(list(READ_ONLY_STATUSES)),
        )
        .order_by(Case.opened_on, Case.id)
    ).all()
    return [case_id for case_id, person in rows if vault.open(person, "prison_number") == number]


def has_live_transfer(session: Session, case_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(CaseTransfer.id).where(
                CaseTransfer.sender_case_id == case_id,
                CaseTransfer.state.in_([s.value for s in LIVE_STATES]),
            )
        )
        is not None
    )
