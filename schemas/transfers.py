"""Input schemas for transfers between charities: allowlists shared by the web forms and the API.

The receiving charity is never input: it is whoever serves the named prison today. Reasons are
codes (app.domain.transfers.machine.TransferReason), never free text, because both charities read
them.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.domain.transfers.machine import Party, TransferReason
from schemas.casework import PRISON_CODE, PRISON_NUMBER, _enum
from schemas.common import InputSchema

# The reasons each step may give, in the order the forms offer them.
PROPOSAL_REASONS = (
    TransferReason.PERSON_MOVED,
    TransferReason.FAMILY_ASKED,
    TransferReason.OTHER,
)
REQUEST_REASONS = PROPOSAL_REASONS
DECLINE_REASONS = (
    TransferReason.NO_CAPACITY,
    TransferReason.NOT_OUR_PRISON,
    TransferReason.PERSON_MOVED_AGAIN,
    TransferReason.FAMILY_DECLINED,
    TransferReason.OTHER,
)
CANCEL_REASONS = (
    TransferReason.FAMILY_DECLINED,
    TransferReason.PERSON_MOVED_AGAIN,
    TransferReason.SENT_IN_ERROR,
    TransferReason.OTHER,
)
REFUSAL_REASONS = (
    TransferReason.NO_MATCHING_CASE,
    TransferReason.FAMILY_DECLINED,
    TransferReason.PERSON_MOVED_AGAIN,
    TransferReason.OTHER,
)
# An idempotency key as clients make them (a UUID, or any opaque token of safe characters).
IDEMPOTENCY_KEY = validate.Regexp(
    r"^[A-Za-z0-9_.:-]{8,80}$", error="use 8 to 80 letters, digits, '-', '_', '.' or ':'"
)


def _reason(allowed: tuple[TransferReason, ...], **kwargs: object) -> fields.Enum:
    return _enum(
        TransferReason,
        validate=validate.OneOf(allowed, error="choose one of the reasons offered"),
        **kwargs,
    )


class TransferProposal(InputSchema):
    """The sender proposes moving a case to the charity serving ``to_prison_code``."""

    to_prison_code = fields.String(required=True, validate=PRISON_CODE)
    reason = _reason(PROPOSAL_REASONS, load_default=None)


class TransferRequestIn(InputSchema):
    """A receiving manager asks another charity for a family's case."""

    prison_number = fields.String(required=True, validate=PRISON_NUMBER)
    from_prison_code = fields.String(required=True, validate=PRISON_CODE)
    to_prison_code = fields.String(required=True, validate=PRISON_CODE)
    reason = _reason(REQUEST_REASONS, required=True)


class TransferDecline(InputSchema):
    reason = _reason(DECLINE_REASONS, required=True)


class TransferCancellation(InputSchema):
    reason = _reason(CANCEL_REASONS, required=True)


class TransferRefusal(InputSchema):
    reason = _reason(REFUSAL_REASONS, required=True)


class TransferStep(InputSchema):
    """A step that takes no answer but may be retried safely (offer, accept): the web form
    carries its idempotency key as a hidden field; the API takes the Idempotency-Key header."""

    idempotency_key = fields.String(load_default=None, validate=IDEMPOTENCY_KEY)


class TransferListQuery(InputSchema):
    side = _enum(Party, load_default=None, validate=validate.OneOf([Party.SENDER, Party.RECEIVER]))
    open_only = fields.Boolean(load_default=False)


class IdempotencyHeaders(Schema):
    """The API's ``Idempotency-Key`` header (offer, accept, a note, a contact): a retry with the
    same key answers as the first request did and changes nothing. Not an allowlist like
    ``InputSchema``: every request carries other headers (Authorization, Host...), so undeclared
    ones are ignored."""

    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        load_default=None,
        validate=IDEMPOTENCY_KEY,
        metadata={"description": "any token of your own making, new for each intended write"},
    )
