"""Case schemas: separate input and output allowlists; ids and charity are output-only.

The request bodies that open, change and close a case are in ``schemas.casework`` (shared with
the web forms); this module holds the case list's query and what leaves about a case.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from marshmallow import fields, validate

from app.domain.vocabulary import ClosureReason, ReferralSource
from app.models.cases import CaseStatus
from schemas.common import InputSchema, OutputSchema, PageMeta, PaginationQuery

PRISON_CODE = validate.Regexp(r"^[A-Z]{3}$", error="enter a three-letter prison code")


def stored(kind: type[Enum], **kwargs: Any) -> fields.String:
    """An output field holding one stored value of ``kind``: the document lists the values.

    Rows keep these as plain strings, so the field dumps a string; the validator is never run on
    output, it only tells the OpenAPI document (and its readers) which values can appear.
    """
    return fields.String(validate=validate.OneOf([m.value for m in kind]), **kwargs)


class CaseCreate(InputSchema):
    """The web page's short form for opening a case (the API takes ``schemas.casework.CaseIn``)."""

    prison_code = fields.String(required=True, validate=PRISON_CODE)
    opened_on = fields.Date(load_default=None)


class CaseQuery(PaginationQuery):
    prison_code = fields.String(validate=PRISON_CODE)
    status = fields.Enum(CaseStatus, by_value=True)
    opened_from = fields.Date()
    opened_to = fields.Date()


class CaseOut(OutputSchema):
    """A case as a record: categories, dates and ids, never a name or prison number."""

    id = fields.UUID(dump_only=True)
    reference = fields.String(dump_only=True)
    prison_code = fields.String(dump_only=True)
    status = stored(CaseStatus, dump_only=True)
    referral_source = stored(ReferralSource, dump_only=True)
    safeguarding = fields.Boolean(dump_only=True)
    key_worker_id = fields.UUID(dump_only=True, allow_none=True)
    opened_on = fields.Date(dump_only=True)
    review_due_on = fields.Date(dump_only=True, allow_none=True)
    closed_on = fields.Date(dump_only=True, allow_none=True)
    closure_reason = stored(ClosureReason, dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class CasePage(OutputSchema):
    items = fields.List(fields.Nested(CaseOut))
    meta = fields.Nested(PageMeta)


class CaseSummaryOut(OutputSchema):
    """A search result: the case and the few words that tell a worker whose it is."""

    case = fields.Nested(CaseOut, dump_only=True)
    person_name = fields.String(dump_only=True, allow_none=True)
    prison_number = fields.String(dump_only=True, allow_none=True)
    main_contact = fields.String(dump_only=True, allow_none=True)


class SearchResults(OutputSchema):
    items = fields.List(fields.Nested(CaseSummaryOut), dump_only=True)
