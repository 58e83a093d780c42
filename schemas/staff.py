"""Input schemas for a charity admin's staff pages: allowlists; ids come from the URL only."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from schemas.common import InputSchema
from tenants.permissions import Role
from tenants.roles import CHARITY_ROLES, prison_rule

PRISON_CODE = validate.Regexp(r"^[A-Z]{3}$", error="enter a three-letter prison code")
USERNAME = validate.Regexp(
    r"^[A-Za-z0-9._-]{1,80}$",
    error="enter a username of at most 80 letters, numbers, dots, dashes or underscores",
)


class PrisonsIn(InputSchema):
    prisons = fields.List(fields.String(validate=PRISON_CODE), load_default=list)


class StaffIn(PrisonsIn):
    username = fields.String(required=True, validate=USERNAME)
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.Enum(Role, by_value=True, required=True, validate=validate.OneOf(CHARITY_ROLES))

    @validates_schema(skip_on_field_errors=False)
    def _prisons_for_role(self, data: dict[str, Any], **_: Any) -> None:
        """Checked here as well as in the service, so one post names every problem at once."""
        if isinstance(data.get("role"), Role):
            errors = prison_rule(data["role"], data.get("prisons", []))
            if errors:
                raise ValidationError(errors["prisons"], "prisons")


class AccessLogQuery(InputSchema):
    case = fields.UUID(
        load_default=None, error_messages={"invalid_uuid": "Enter a case id like the example"}
    )
