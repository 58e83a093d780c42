"""Case schemas: separate input and output allowlists; ids and charity are output-only."""

from __future__ import annotations

from marshmallow import fields, validate

from app.models.cases import CaseStatus
from schemas.common import InputSchema, OutputSchema, PageMeta, PaginationQuery

PRISON_CODE = validate.Regexp(r"^[A-Z]{3}$", error="enter a three-letter prison code")


class CaseCreate(InputSchema):
    prison_code = fields.String(required=True, validate=PRISON_CODE)
    opened_on = fields.Date(load_default=None)


class CaseQuery(PaginationQuery):
    prison_code = fields.String(validate=PRISON_CODE)
    status = fields.Enum(CaseStatus, by_value=True)
    opened_from = fields.Date()
    opened_to = fields.Date()


class CaseOut(OutputSchema):
    id = fields.UUID(dump_only=True)
    reference = fields.String(dump_only=True)
    prison_code = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    opened_on = fields.Date(dump_only=True)
    closed_on = fields.Date(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class CasePage(OutputSchema):
    items = fields.List(fields.Nested(CaseOut))
    meta = fields.Nested(PageMeta)
