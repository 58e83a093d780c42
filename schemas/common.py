"""Schema bases: allowlists that reject unknown fields, and the one error envelope."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields


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
    fields = fields.Dict(
        keys=fields.String(), values=fields.Raw(), metadata={"description": "messages per field"}
    )


class ErrorEnvelope(OutputSchema):
    error = fields.Nested(ErrorDetail, required=True)


class PaginationQuery(InputSchema):
    page = fields.Integer(load_default=1, validate=lambda n: 1 <= n <= 100_000)
    per_page = fields.Integer(load_default=25, validate=lambda n: 1 <= n <= 100)


class PageMeta(OutputSchema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()
