"""Schema bases: allowlists that reject unknown fields, and the one error envelope."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.domain.text import text_problem


def is_text(value: object) -> None:
    """Refuse a NUL or a lone surrogate (app.domain.text): never stored, never encrypted."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValidationError(problem)


def _require_text(field: fields.Field) -> None:
    """Give ``field``, and every string field inside it (list items, dict keys and values),
    the text rule, ahead of its own validators: it is the most precise thing to say."""
    if isinstance(field, fields.String) and is_text not in field.validators:
        field.validators.insert(0, is_text)
    inner: list[fields.Field] = []
    if isinstance(field, fields.List):
        inner = [field.inner]
    elif isinstance(field, fields.Tuple):
        inner = list(field.tuple_fields)
    elif isinstance(field, fields.Mapping):
        inner = [f for f in (field.key_field, field.value_field) if f is not None]
    for part in inner:
        _require_text(part)


class InputSchema(Schema):
    """Request bodies, form posts, imported rows and query strings: anything not declared is
    refused, and every string field holds text (a field declared tomorrow too)."""

    class Meta:
        unknown = RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _require_text(field_obj)


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
