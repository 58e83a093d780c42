"""Schema bases: allowlists that reject unknown fields, and the one error envelope."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class InputSchema(Schema):
    """Request bodies and query strings: anything not declared is refused."""

    class Meta:
        unknown = RAISE


class OutputSchema(Schema):
    """Responses: only the declared fields ever leave."""


class ErrorDetail(OutputSchema):
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "messages per field"},
    )


class ErrorEnvelope(OutputSchema):
    error = fields.Nested(ErrorDetail, required=True)


class PaginationQuery(InputSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class PageMeta(OutputSchema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    total_capped = fields.Boolean(
        metadata={"description": "true when there are more items than total (counting stops)"}
    )
    pages = fields.Integer()
