"""The day's work on a case: contacts, notes, outcome assessments and the action plan.

Each use case adds rows to one open case in scope and one audit event naming the case and the
new record, committed together.

A note or a contact may carry the API's ``Idempotency-Key``, kept on the row it wrote: a retry by
the same worker on the same case with the same key and the same content answers with that row
and writes nothing (no row, no audit event: the answer holds no personal data the caller did not
just send); the same key with other content is refused. Two requests racing with one key both
pass the look-up, and the unique key on the row stops the second insert: it rolls back and
answers as a retry. Another worker's or another case's use of the same key is a key of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.outcomes import DEFAULT_FRAMEWORK, frameworks
from app.domain.vocabulary import ActionOwner, ActionStatus, ContactKind
from app.models import ActionItem, Case, CaseNote, Contact, OutcomeAssessment, OutcomeScore
from app.models.base import new_id
from app.services.cases.scope import (
    READ_ONLY_STATUSES,
    case_for_work,
    case_in_scope,
    record_event,
    require,
)
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission

# Free text stays a note, not a file: long enough for a session's write-up.
LONGEST_TEXT = 5000
# The key reaches these use cases only as the API's header, so a refusal names the header.
KEY_FIELD = "Idempotency-Key"

Keyed = TypeVar("Keyed", CaseNote, Contact)


def _not_ahead(day: date, today: date, opened_on: date, field: str) -> dict[str, list[str]]:
    if day > today:
        return {field: ["the date cannot be in the future"]}
    if day < opened_on:
        return {field: ["the date cannot be before the case opened"]}
    return {}


def _case_to_add_to(session: Session, context: TenantContext, case_id: uuid.UUID) -> Case:
    """The case in scope, for a role that writes case work; open or not (a retry of a write made
    before the case closed still answers as it did)."""
    require(context, Permission.CASE_WRITE)
    return case_in_scope(session, case_id)


def _still_open(case: Case) -> None:
    if case.status in READ_ONLY_STATUSES:
        raise Conflict("this case is closed: reopen it or open a new case")


def _as_sealed(text: str | None) -> str | None:
    """What ``Vault.seal`` keeps of ``text``: stripped, and nothing for blank."""
    return text.strip() if text is not None and text.strip() else None


def _replay(row: Keyed, same: bool, what: str) -> Keyed:
    """The first answer to a retried request, or the refusal of a key reused for other content."""
    if not same:
        raise InvalidInput(
            {KEY_FIELD: [f"this key was already used for another {what}: send a new key"]}
        )
    return row


def _insert_once(session: Session, row: Keyed, earlier: Callable[[], Keyed | None]) -> Keyed | None:
    """Insert ``row`` (None), or find that a request with the same key committed first and
    return its row. The look-up before missed it (both were in flight), so the unique key
    refused this insert: the transaction is rolled back and ``earlier()`` must now find the
    winner's row, else the refusal was another and is raised."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        winner = earlier()
        if winner is None:
            raise
        return winner
    return None


def _keyed_contact(
    session: Session, case_id: uuid.UUID, user_id: uuid.UUID | None, key: str | None
) -> Contact | None:
    if key is None:
        return None
    return session.scalar(
        select(Contact).where(
            Contact.case_id == case_id,
            Contact.recorded_by == user_id,
            Contact.idempotency_key == key,
        )
    )


def add_contact(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    *,
    kind: ContactKind,
    occurred_on: date,
    first_time_visitor: bool = False,
    children_present: bool = False,
    children_count: int | None = None,
    duration_minutes: int | None = None,
    summary: str | None = None,
    idempotency_key: str | None = None,
) -> Contact:
    """Record a contact; with ``idempotency_key``, at most once (see the module's docstring)."""
    case = _case_to_add_to(session, context, case_id)
    # Plain values: a rolled-back race expires the loaded rows.
    case_id, user_id = case.id, context.user_id
    content = (
        ContactKind(kind).value,
        occurred_on,
        first_time_visitor,
        children_present,
        children_count,
        duration_minutes,
        _as_sealed(summary),
    )

    def earlier() -> Contact | None:
        return _keyed_contact(session, case_id, user_id, idempotency_key)

    def replay(row: Contact) -> Contact:
        stored = (
            row.kind,
            row.occurred_on,
            row.first_time_visitor,
            row.children_present,
            row.children_count,
            row.duration_minutes,
            vault.open(row, "summary"),
        )
        return _replay(row, stored == content, "contact")

    retried = earlier()
    if retried is not None:
        return replay(retried)
    _still_open(case)
    today = origin.clock().date()
    errors = _not_ahead(occurred_on, today, case.opened_on, "occurred_on")
    if first_time_visitor and kind is not ContactKind.VISIT:
        errors["first_time_visitor"] = ["only a visitor-centre visit has first-time visitors"]
    if children_count and not children_present:
        errors["children_count"] = ["say that children were present, or leave the count empty"]
    if summary is not None and len(summary) > LONGEST_TEXT:
        errors["summary"] = [f"keep the summary to {LONGEST_TEXT} characters"]
    if errors:
        raise InvalidInput(errors)
    contact = Contact(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        kind=ContactKind(kind).value,
        occurred_on=occurred_on,
        first_time_visitor=first_time_visitor,
        children_present=children_present,
        children_count=children_count,
        duration_minutes=duration_minutes,
        recorded_by=context.user_id,
        idempotency_key=idempotency_key,
    )
    vault.seal(contact, "summary", summary)
    winner = _insert_once(session, contact, earlier)
    if winner is not None:
        return replay(winner)
    record_event(session, context, origin, "contact.create", "contact", [case.id, contact.id])
    session.commit()
    return contact


def _keyed_note(
    session: Session, case_id: uuid.UUID, user_id: uuid.UUID | None, key: str | None
) -> CaseNote | None:
    if key is None:
        return None
    return session.scalar(
        select(CaseNote).where(
            CaseNote.case_id == case_id,
            CaseNote.written_by == user_id,
            CaseNote.idempotency_key == key,
        )
    )


def add_note(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    *,
    body: str,
    idempotency_key: str | None = None,
) -> CaseNote:
    """Add a note; with ``idempotency_key``, at most once (see the module's docstring)."""
    case = _case_to_add_to(session, context, case_id)
    case_id, user_id = case.id, context.user_id

    def earlier() -> CaseNote | None:
        return _keyed_note(session, case_id, user_id, idempotency_key)

    def replay(row: CaseNote) -> CaseNote:
        return _replay(row, vault.open(row, "body") == _as_sealed(body), "note")

    retried = earlier()
    if retried is not None:
        return replay(retried)
    _still_open(case)
    if not body.strip():
        raise InvalidInput({"body": ["write the note"]})
    if len(body) > LONGEST_TEXT:
        raise InvalidInput({"body": [f"keep a note to {LONGEST_TEXT} characters"]})
    note = CaseNote(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        written_at=origin.clock(),
        written_by=context.user_id,
        idempotency_key=idempotency_key,
    )
    vault.seal(note, "body", body)
    winner = _insert_once(session, note, earlier)
    if winner is not None:
        return replay(winner)
    record_event(session, context, origin, "note.create", "case_note", [case.id, note.id])
    session.commit()
    return note


def record_assessment(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    *,
    assessed_on: date,
    scores: Mapping[str, int],
    framework: str = DEFAULT_FRAMEWORK,
) -> OutcomeAssessment:
    """Scores for every area of the framework on one day."""
    case = case_for_work(session, context, case_id)
    errors = _not_ahead(assessed_on, origin.clock().date(), case.opened_on, "assessed_on")
    chosen = frameworks().get(framework)
    if chosen is None:
        errors["framework"] = ["choose an outcome framework"]
    else:
        errors.update({f"scores.{k}": v for k, v in chosen.score_errors(scores).items()})
    if errors:
        raise InvalidInput(errors)
    assessment = OutcomeAssessment(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        framework=framework,
        assessed_on=assessed_on,
        recorded_by=context.user_id,
    )
    session.add(assessment)
    session.flush()
    session.add_all(
        OutcomeScore(
            charity_id=case.charity_id,
            prison_code=case.prison_code,
            assessment_id=assessment.id,
            area=area,
            score=score,
        )
        for area, score in sorted(scores.items())
    )
    session.flush()
    record_event(
        session,
        context,
        origin,
        "assessment.create",
        "outcome_assessment",
        [case.id, assessment.id],
    )
    session.commit()
    return assessment


def add_action(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    *,
    description: str,
    owner: ActionOwner,
    due_on: date | None = None,
) -> ActionItem:
    case = case_for_work(session, context, case_id)
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = ["say what will be done"]
    elif len(description) > LONGEST_TEXT:
        errors["description"] = [f"keep it to {LONGEST_TEXT} characters"]
    if due_on is not None and due_on < case.opened_on:
        errors["due_on"] = ["the date cannot be before the case opened"]
    if errors:
        raise InvalidInput(errors)
    item = ActionItem(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        owner=ActionOwner(owner).value,
        due_on=due_on,
        status=ActionStatus.OPEN.value,
        recorded_by=context.user_id,
        # The timeline shows the day an action was agreed: the use case's day, not the row's.
        created_at=origin.clock(),
    )
    vault.seal(item, "description", description)
    session.add(item)
    session.flush()
    record_event(session, context, origin, "action.create", "action_item", [case.id, item.id])
    session.commit()
    return item


def settle_action(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    action_id: uuid.UUID,
    *,
    status: ActionStatus,
    settled_on: date | None = None,
) -> ActionItem:
    """Mark an open action done or dropped."""
    case = case_for_work(session, context, case_id)
    item = session.scalar(
        select(ActionItem).where(ActionItem.id == action_id, ActionItem.case_id == case.id)
    )
    if item is None:
        raise NotFound("action")
    if item.status != ActionStatus.OPEN.value:
        raise Conflict("this action is already settled")
    if status is ActionStatus.OPEN:
        raise InvalidInput({"status": ["choose done or dropped"]})
    today = origin.clock().date()
    settled_on = settled_on or today
    errors = _not_ahead(settled_on, today, case.opened_on, "settled_on")
    if errors:
        raise InvalidInput(errors)
    item.status = ActionStatus(status).value
    item.completed_on = settled_on
    session.flush()
    record_event(session, context, origin, "action.update", "action_item", [case.id, item.id])
    session.commit()
    return item
