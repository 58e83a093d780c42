"""The words staff read for stored values: enum labels, status tags, dates and timeline headings.

Stored values stay machine words ("family_contact"); templates show their labels ("Maintaining
family contact") through the filters registered here, never the raw value.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from flask import Blueprint

from app.domain import vocabulary
from app.domain.consent import ConsentState
from app.domain.outcomes import Framework, frameworks
from app.domain.transfers.machine import Party, TransferReason, TransferState
from app.models.cases import CaseStatus
from app.services.cases.family_file import TimelineEntry
from app.services.cases.scope import READ_ONLY_STATUSES

bp = Blueprint("labels", __name__)

VOCABULARY: dict[str, type[vocabulary.Labelled]] = {
    kind.__name__: kind
    for kind in vars(vocabulary).values()
    if isinstance(kind, type)
    and issubclass(kind, vocabulary.Labelled)
    and kind is not vocabulary.Labelled
}
# Case status: the words and the GOV.UK tag colour for each.
CASE_STATUS: dict[str, tuple[str, str]] = {
    CaseStatus.REFERRED: ("Referred", "blue"),
    CaseStatus.AWAITING_CONSENT: ("Awaiting consent", "yellow"),
    CaseStatus.ACTIVE: ("Active", "green"),
    CaseStatus.TRANSFER_PENDING: ("Transfer pending", "purple"),
    CaseStatus.TRANSFERRED_OUT: ("Transferred out", "grey"),
    CaseStatus.CLOSED: ("Closed", "grey"),
}
CONSENT_STATE: dict[str, tuple[str, str]] = {
    ConsentState.ACTIVE: ("In force", "green"),
    ConsentState.NOT_YET_VALID: ("Not yet in force", "blue"),
    ConsentState.EXPIRED: ("Expired", "grey"),
    ConsentState.WITHDRAWN: ("Withdrawn", "red"),
    ConsentState.REFUSED: ("Refused", "orange"),
}
# Transfer state: the words and the GOV.UK tag colour for each.
TRANSFER_STATE: dict[str, tuple[str, str]] = {
    TransferState.REQUESTED: ("Requested", "light-blue"),
    TransferState.PROPOSED: ("Proposed", "blue"),
    TransferState.AWAITING_CONSENT: ("Awaiting consent", "yellow"),
    TransferState.OFFERED: ("Offered", "purple"),
    TransferState.ACCEPTED: ("Accepted", "green"),
    TransferState.DECLINED: ("Declined", "orange"),
    TransferState.REFUSED: ("Refused", "orange"),
    TransferState.CANCELLED: ("Cancelled", "grey"),
    TransferState.EXPIRED: ("Expired", "grey"),
    TransferState.HALTED: ("Halted: consent withdrawn", "red"),
}
# Who took a transfer step, as a byline: "by the sending charity".
PARTY: dict[str, str] = {
    Party.SENDER: "the sending charity",
    Party.RECEIVER: "the receiving charity",
    Party.PLATFORM: "Continuum",
}
_TIMELINE_HEADINGS = {
    "case_opened": "Case opened",
    "case_closed": "Case closed",
    "assessment": "Outcome assessment",
    "action": "Action agreed",
    "note": "Case note",
}
# What each audited action on a case means, for "who has viewed this family".
AUDIT_ACTIONS = {
    "case.list": "Saw the family in a list",
    "case.search": "Found the family by searching",
    "case.read": "Read the family page",
    "case.create": "Opened the case",
    "case.update": "Changed the case details",
    "case.close": "Closed the case",
    "case.access_log": "Looked at who has viewed the family",
    "member.create": "Added a family member",
    "contact.create": "Recorded a contact",
    "note.create": "Added a note",
    "assessment.create": "Recorded an outcome assessment",
    "action.create": "Added an action",
    "action.update": "Settled an action",
    "consent.create": "Recorded consent",
    "consent.withdraw": "Recorded a withdrawal of consent",
    "consent.receipt": "Read a consent receipt",
    "equality.read": "Read equality monitoring",
    "equality.write": "Recorded equality monitoring",
    "transfer.read": "Read a transfer of the family's case",
    "transfer.check": "Checked the family's consent to a transfer",
    "transfer.propose": "Proposed a transfer of the case",
    "transfer.offer": "Offered the case to another charity",
    "transfer.cancel": "Cancelled a transfer",
    "transfer.grant": "Agreed to another charity's request for the case",
    "transfer.refuse": "Refused another charity's request for the case",
    "transfer.request": "Asked another charity for the case",
    "transfer.accept": "Accepted a transfer of the case",
    "transfer.decline": "Declined a transfer of the case",
    "transfer.halt": "Transfer stopped: consent withdrawn",
    "transfer.expire": "Transfer offer lapsed",
    "access.refused": "Was refused access",
}


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action)


@bp.app_template_filter("label")
def label(value: object, kind: str) -> str:
    """``need | label('Need')``: the vocabulary's words for a stored value (itself if unknown)."""
    if value is None:
        return ""
    raw = value.value if isinstance(value, Enum) else str(value)
    try:
        return VOCABULARY[kind](raw).label
    except ValueError:
        return raw


@bp.app_template_filter("status_tag")
def status_tag(status: str) -> tuple[str, str]:
    return CASE_STATUS.get(status, (status, "grey"))


@bp.app_template_filter("consent_tag")
def consent_tag(state: str) -> tuple[str, str]:
    return CONSENT_STATE.get(state, (state, "grey"))


@bp.app_template_filter("transfer_tag")
def transfer_tag(state: str) -> tuple[str, str]:
    return TRANSFER_STATE.get(state, (str(state), "grey"))


@bp.app_template_filter("transfer_reason")
def transfer_reason(reason: str | None) -> str:
    """A transfer step's reason code in words (the code itself if unknown)."""
    if not reason:
        return ""
    try:
        return TransferReason(reason).label
    except ValueError:
        return str(reason)


@bp.app_template_filter("party")
def party(value: str) -> str:
    return PARTY.get(value, str(value))


@bp.app_template_filter("day")
def day(value: date | None, short: bool = False) -> str:
    if value is None:
        return ""
    return value.strftime("%-d %b %Y" if short else "%-d %B %Y")


@bp.app_template_filter("iso_day")
def iso_day(value: str | None, short: bool = False) -> str:
    """An ISO date or date-time as text (a transfer package holds its dates as ISO strings)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return day(moment.date(), short)


@bp.app_template_filter("timeline_heading")
def timeline_heading(entry: TimelineEntry) -> str:
    kind, _, sub = entry.kind.partition(":")
    if kind == "contact":
        return label(entry.title, "ContactKind")
    if kind == "consent":
        decision = label(sub, "ConsentDecision").lower()
        return f"Consent {decision}: {label(entry.title, 'ConsentPurpose').lower()}"
    if kind == "transfer":
        return f"Transfer to {entry.title}: {transfer_tag(sub)[0].lower()}"
    if kind == "transferred_in":
        return f"Transferred in from {entry.title}"
    return _TIMELINE_HEADINGS.get(entry.kind, entry.title)


@bp.app_template_filter("timeline_detail")
def timeline_detail(entry: TimelineEntry) -> str | None:
    if entry.kind == "case_closed":
        return label(entry.detail, "ClosureReason") if entry.detail else None
    if entry.kind.startswith("transfer:"):
        return transfer_reason(entry.detail) or None
    return entry.detail


@bp.app_template_test("read_only")
def read_only(status: str) -> bool:
    """A closed or transferred case is kept as it was: no buttons to add to it."""
    return status in READ_ONLY_STATUSES


@bp.app_template_global("framework_of")
def framework_of(code: str) -> Framework | None:
    return frameworks().get(code)


@bp.app_template_global("options")
def options(kind: str, *leave_out: str) -> list[tuple[str, str]]:
    """(value, label) for every value of a vocabulary, in its declared order, for radios,
    selects and checkboxes."""
    return [(item.value, item.label) for item in VOCABULARY[kind] if item.value not in leave_out]


@bp.app_template_global("date_parts")
def date_parts(**dates: date | None) -> dict[str, str]:
    """What a GOV.UK date input shows for a date already known: ``date_parts(due_on=today)``."""
    parts: dict[str, str] = {}
    for name, value in dates.items():
        if value is not None:
            parts |= {f"{name}-day": str(value.day), f"{name}-month": str(value.month)}
            parts[f"{name}-year"] = str(value.year)
    return parts
