"""The day's work on a case: contacts, notes, outcome assessments and the action plan.

Each use case adds rows to one open case in scope and one audit event naming the case and the
new record, committed together.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.outcomes import DEFAULT_FRAMEWORK, frameworks
from app.domain.vocabulary import ActionOwner, ActionStatus, ContactKind
from app.models import ActionItem, CaseNote, Contact, OutcomeAssessment, OutcomeScore
from app.models.base import new_id
from app.services.audit import Origin
from app.services.scope import case_for_work, record_event
from app.services.vault import Vault
from tenants.context import TenantContext

# Free text stays a note, not a file: long enough for a session's write-up.
LONGEST_TEXT = 5000


def _not_ahead(day: date, today: date, opened_on: date, field: str) -> dict[str, list[str]]:
    if day > today:
        return {field: ["the date cannot be in the future"]}
    if day < opened_on:
        return {field: ["the date cannot be before the case opened"]}
    return {}


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
) -> Contact:
    case = case_for_work(session, context, case_id)
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
    )
    vault.seal(contact, "summary", summary)
    session.add(contact)
    session.flush()
    record_event(session, context, origin, "contact.create", "contact", [case.id, contact.id])
    session.commit()
    return contact


def add_note(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    *,
    body: str,
) -> CaseNote:
    case = case_for_work(session, context, case_id)
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
    )
    vault.seal(note, "body", body)
    session.add(note)
    session.flush()
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
