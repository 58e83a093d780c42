"""Importing a charity's cases from a spreadsheet (``continuum import cases FILE --charity SLUG``).

The file is CSV in UTF-8 (a byte-order mark is fine), a header row first, then one row per
case; ``docs/examples/cases-import.csv`` is an example and README.md lists the columns. Every
row is checked before anything is kept: the same schema the web form and the API load
(``schemas.casework.CaseIn``), the prison against the charity's services, then the use case
itself (``referrals.open_case``, with its own checks, encryption and one audit event per case). One
bad row and the whole file is refused, with a problem per row and column; otherwise every case
commits in one transaction.

A row whose prison number the charity already holds is refused rather than merged: see
docs/decisions.md, "Case records".
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import InvalidInput
from app.domain.text import text_problem
from app.domain.vocabulary import Need
from app.models import Case, Family, PersonInCustody, Prison
from app.models.cases import OPEN_STATUSES
from app.services.cases import referrals
from app.services.cases.scope import require
from app.services.platform.audit import Origin
from app.services.platform.reference import prisons_ever_served
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission, Role

REQUIRED_COLUMNS = ("prison_code", "opened_on", "referral_source", "person_name", "prison_number")
OPTIONAL_COLUMNS = (
    "person_date_of_birth",
    "expected_release_on",
    "contact_name",
    "contact_relationship",
    "contact_phone",
    "contact_email",
    "needs",
    "safeguarding",
    "review_due_on",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# One transaction holds the whole file; a bigger migration is split into several files.
MOST_ROWS = 10_000
NEED_SEPARATOR = ";"
# Where each column goes in CaseIn, and so which column a schema or use-case error is about.
_FIELDS = {
    "prison_code": "prison_code",
    "opened_on": "opened_on",
    "referral_source": "referral_source",
    "person_name": "person.name",
    "prison_number": "person.prison_number",
    "person_date_of_birth": "person.date_of_birth",
    "expected_release_on": "person.expected_release_on",
    "contact_name": "main_contact.name",
    "contact_relationship": "main_contact.relationship",
    "contact_phone": "main_contact.phone",
    "contact_email": "main_contact.email",
    "needs": "needs",
    "safeguarding": "safeguarding",
    "review_due_on": "review_due_on",
}
_COLUMN_OF = {field: column for column, field in _FIELDS.items()}


class CaseFileLayoutError(ValueError):
    """Raised when a case file is not UTF-8 CSV, its header names an unknown column, repeats one
    or lacks a required one, or it has more than MOST_ROWS rows."""


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    reason: str


class CaseFileRejected(Exception):
    """Raised when any row of a case file is refused; nothing was written."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class CaseRow:
    number: int
    cells: Mapping[str, str]  # every column of the header, stripped; "" when empty
    overflowing: bool = False  # more cells than the header has columns


def read_rows(
    lines: Iterable[str],
    *,
    columns: Sequence[str],
    required: Sequence[str],
    layout_error: type[ValueError],
    fold_case: bool = False,
) -> list[CaseRow]:
    """The rows of a spreadsheet file (cases here, movements in app.services.transfers.movements),
    after checking its header against ``columns``; blank rows are skipped. Any fault of the file as
    a whole raises ``layout_error`` with every problem of the header named."""
    reader = csv.DictReader(iter(lines))
    try:
        header = [
            name.strip().lower() if fold_case else name.strip() for name in reader.fieldnames or ()
        ]
        unknown = [name for name in header if name not in columns]
        repeated = sorted({name for name in header if header.count(name) > 1})
        missing = [name for name in required if name not in header]
        problems = []
        if unknown:
            problems.append(f"unknown columns: {', '.join(unknown)}")
        if repeated:
            problems.append(f"repeated columns: {', '.join(repeated)}")
        if missing:
            what = "columns" if list(required) == list(columns) else "required columns"
            problems.append(f"missing {what}: {', '.join(missing)}")
        if problems:
            raise layout_error("; ".join(problems) + f" (the columns are: {', '.join(columns)})")
        reader.fieldnames = header
        rows = []
        for raw in reader:
            cells = {name: (raw.get(name) or "").strip() for name in header}
            if not any(cells.values()) and not raw.get(None):
                continue
            rows.append(CaseRow(reader.line_num, cells, bool(raw.get(None))))
            if len(rows) > MOST_ROWS:
                raise layout_error(f"more than {MOST_ROWS} rows: split the file")
    except UnicodeDecodeError:
        raise layout_error("the file is not UTF-8 text") from None
    except csv.Error as exc:
        raise layout_error(f"not a CSV file: {exc}") from None
    return rows


def read_case_file(lines: Iterable[str]) -> list[CaseRow]:
    """The rows of a case file, after checking its header. Blank rows are skipped."""
    return read_rows(
        lines, columns=COLUMNS, required=REQUIRED_COLUMNS, layout_error=CaseFileLayoutError
    )


def import_context(session: Session, charity_id: uuid.UUID) -> TenantContext:
    """An import works across every prison the charity serves or has served, as a manager
    would; it names no user, so the cases have no key worker until a manager allocates them."""
    prisons = frozenset(prisons_ever_served(session, charity_id))
    return TenantContext(charity_id, prisons, Role.SITE_MANAGER)


def import_cases(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    rows: Sequence[CaseRow],
    load_case: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> int:
    """Open a case for every row, all in one transaction, or none: CaseFileRejected lists every
    problem of every row. Returns the number of cases opened.

    ``load_case`` is the referral schema's ``load`` (``schemas.casework.CaseIn().load``, passed
    in by the command: use cases import no schema); it raises marshmallow's ValidationError."""
    require(context, Permission.CASE_WRITE)
    known = set(session.scalars(select(Prison.code)))
    first_seen: dict[str, int] = {}
    problems: list[RowProblem] = []
    for row in rows:
        found = _row_problems(row, known, context)
        reported = {problem.column for problem in found}
        data: dict[str, Any] | None = None
        try:
            data = load_case(_payload(row.cells))
        except ValidationError as exc:
            schema = _schema_problems(row, exc.messages)
            found += [problem for problem in schema if problem.column not in reported]
        number = referrals.normalise_prison_number(row.cells["prison_number"])
        if referrals.PRISON_NUMBER.match(number):
            if number in first_seen:
                found.append(_problem(row, "prison_number", f"also in row {first_seen[number]}"))
            elif held := _held(session, vault, context, number):
                found.append(_problem(row, "prison_number", held))
            first_seen.setdefault(number, row.number)
        if data is not None and not found:
            try:
                referrals.open_case(session, context, origin, vault, **data, commit=False)
            except InvalidInput as exc:
                found += _service_problems(row, exc.errors)
        problems += found
    if problems:
        session.rollback()
        raise CaseFileRejected(problems)
    session.commit()
    return len(rows)


def _problem(row: CaseRow, column: str, reason: str) -> RowProblem:
    return RowProblem(row.number, column, reason)


def _row_problems(row: CaseRow, known: set[str], context: TenantContext) -> list[RowProblem]:
    # A cell that is not text (a NUL) is named as such, and never echoed back in a message.
    not_text = {
        column: problem for column, cell in row.cells.items() if (problem := text_problem(cell))
    }
    found = [_problem(row, column, problem) for column, problem in not_text.items()]
    found += [
        _problem(row, column, "must not be empty")
        for column in REQUIRED_COLUMNS
        if not row.cells[column]
    ]
    if row.overflowing:
        found.append(_problem(row, "(row)", "more cells than the header has columns"))
    code = "" if "prison_code" in not_text else row.cells["prison_code"].upper()
    if code and code not in known:
        found.append(_problem(row, "prison_code", f"no prison has the code {code}"))
    elif code and not context.sees_prison(code):
        found.append(_problem(row, "prison_code", f"the charity has never served {code}"))
    return found


def _payload(cells: Mapping[str, str]) -> dict[str, Any]:
    """CaseIn's input from a row: empty cells left out, so the schema's defaults apply."""
    payload: dict[str, Any] = {}
    for column, text in cells.items():
        if not text:
            continue
        value: str | list[str] = text
        if column == "needs":
            value = [need.strip() for need in text.split(NEED_SEPARATOR) if need.strip()]
        elif column == "prison_code":
            value = text.upper()
        *parents, name = _FIELDS[column].split(".")
        target = payload
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
    return payload


def _schema_problems(row: CaseRow, messages: Any, path: str = "") -> list[RowProblem]:
    """Flatten marshmallow's nested messages to one problem per column."""
    if isinstance(messages, list):
        return [_problem(row, _column(path), str(message)) for message in messages]
    found = []
    for key, value in messages.items():
        if path == "needs":  # an index into the list of needs
            need = _payload(row.cells)["needs"][key]
            choices = ", ".join(n.value for n in Need)
            found.append(_problem(row, "needs", f"unknown need {need!r} (use: {choices})"))
        else:
            found += _schema_problems(row, value, f"{path}.{key}" if path else str(key))
    return found


def _service_problems(row: CaseRow, errors: Mapping[str, list[str]]) -> list[RowProblem]:
    return [
        _problem(row, _column(field), message)
        for field, messages in errors.items()
        for message in messages
    ]


def _column(field: str) -> str:
    return _COLUMN_OF.get(field, field)


def _held(session: Session, vault: Vault, context: TenantContext, number: str) -> str | None:
    """Why a prison number cannot be imported again: the charity already holds it (looked up
    by blind index and confirmed by decrypting, as search does)."""
    token = vault.prison_number_index(context.charity_id, number)
    people = session.scalars(
        select(PersonInCustody).where(PersonInCustody.prison_number_index == token)
    ).all()
    ids = [p.id for p in people if vault.open(p, "prison_number") == number]
    if not ids:
        return None
    held = session.scalars(
        select(Case)
        .join(Family, (Family.id == Case.family_id) & (Family.charity_id == Case.charity_id))
        .where(Family.person_in_custody_id.in_(ids))
        .order_by(Case.opened_on.desc())
    ).all()
    open_ones = [case for case in held if case.status in {s.value for s in OPEN_STATUSES}]
    if open_ones:
        return f"already has an open case ({open_ones[0].reference})"
    latest = f" (case {held[0].reference}, closed)" if held else ""
    return f"the charity already knows this person{latest}: open a new case in Continuum"
