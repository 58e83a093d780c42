"""What leaves the API about published releases (issue 5 item 5): every field dump-only.

The list (``ReleaseList``) is serialised by these schemas. A release's document and its tables
are sent as the stored canonical bytes instead (so the same request always gets the same bytes,
and the document's SHA-256 is its ETag); ``ReleaseDocumentOut`` and ``TableOut`` only describe
them in the OpenAPI document.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.domain.figures.catalogue import Dimension, Measure
from app.domain.figures.release.document import FORMAT
from schemas.common import InputSchema, OutputSchema

QUARTER = validate.Regexp(r"^\d{4}Q[1-4]$", error="give a quarter like 2026Q3")


class ReleaseListQuery(InputSchema):
    quarter = fields.String(
        validate=QUARTER, metadata={"description": "only this quarter's releases, e.g. 2026Q3"}
    )


# --- the list --------------------------------------------------------------------------------


class TableLinkOut(OutputSchema):
    id = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    href = fields.String(dump_only=True, metadata={"description": "the table alone"})


class ReleaseLinksOut(OutputSchema):
    document = fields.String(dump_only=True, metadata={"description": "the whole document"})
    tables = fields.List(fields.Nested(TableLinkOut), dump_only=True)


class ReleaseSummaryOut(OutputSchema):
    id = fields.UUID(dump_only=True)
    quarter = fields.String(dump_only=True, metadata={"example": "2026Q3"})
    revision = fields.Integer(dump_only=True, metadata={"description": "1, then 2, 3... "})
    published_at = fields.DateTime(dump_only=True)
    sha256 = fields.String(
        dump_only=True,
        metadata={"description": "hex SHA-256 of the document's bytes (its ETag, quoted)"},
    )
    supersedes = fields.UUID(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the release this revision replaces; null for revision 1"},
    )
    revision_reason = fields.String(dump_only=True, allow_none=True)
    links = fields.Nested(ReleaseLinksOut, dump_only=True)


class ReleaseList(OutputSchema):
    items = fields.List(fields.Nested(ReleaseSummaryOut), dump_only=True)


# --- the document, as stored -------------------------------------------------------------------


class RulesOut(OutputSchema):
    name = fields.String(dump_only=True)
    threshold = fields.Integer(
        dump_only=True, metadata={"description": "fewer families than this are suppressed"}
    )
    rounding_base = fields.Integer(
        dump_only=True, metadata={"description": "every other count is a multiple of this"}
    )
    averages_over_at_least = fields.Integer(dump_only=True)
    secondary_suppression = fields.String(dump_only=True)
    suppression_partners = fields.String(
        dump_only=True,
        metadata={
            "description": "what ties a cell suppressed to protect another to it: "
            "'declared-sums', 'declared-sums-and-definitions', or in a revision "
            "'declared-sums-definitions-and-revised-release' (docs/metrics.md); "
            "absent from releases built before the definitions were modelled",
            "example": "declared-sums-and-definitions",
        },
    )


class CharityOut(OutputSchema):
    slug = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class PeriodOut(OutputSchema):
    label = fields.String(dump_only=True, metadata={"example": "2026Q3"})
    start = fields.Date(dump_only=True)
    end = fields.Date(dump_only=True)


class ColumnOut(OutputSchema):
    key = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    measure = fields.String(dump_only=True, validate=validate.OneOf([m.value for m in Measure]))


class RowOut(OutputSchema):
    """A prison row names its region and the charities serving it; other rows do not."""

    key = fields.String(dump_only=True, metadata={"description": "prison code, region or nation"})
    label = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True)
    charities = fields.List(fields.String(), dump_only=True)
    no_member_service = fields.Boolean(
        dump_only=True,
        metadata={
            "description": "present and true on a region where no member charity serves a "
            "prison (the public service map): its counts are 0, not suppressed, and its "
            "averages null for want of families"
        },
    )
    values = fields.Dict(
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        dump_only=True,
        metadata={
            "description": "the figure by column key; null: suppressed (or, on a row with no "
            "member service, an average of nothing)"
        },
    )


class TableOut(OutputSchema):
    """One table of the catalogue, every row and column present."""

    id = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    dimension = fields.String(dump_only=True, validate=validate.OneOf([d.value for d in Dimension]))
    period = fields.Nested(PeriodOut, dump_only=True)
    columns = fields.List(fields.Nested(ColumnOut), dump_only=True)
    rows = fields.List(fields.Nested(RowOut), dump_only=True)
    excluded_families = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "families left out (objected to statistical use); null: few"},
    )
    definition = fields.String(dump_only=True)
    excluded = fields.String(dump_only=True)


class ReleaseDocumentOut(OutputSchema):
    """The published document, byte for byte as stored (canonical JSON, sorted keys)."""

    format = fields.String(dump_only=True, validate=validate.OneOf([FORMAT]))
    quarter = fields.String(dump_only=True)
    revision = fields.Integer(dump_only=True)
    supersedes = fields.String(dump_only=True, allow_none=True)
    revision_reason = fields.String(dump_only=True, allow_none=True)
    rules = fields.Nested(RulesOut, dump_only=True)
    charities = fields.List(fields.Nested(CharityOut), dump_only=True)
    tables = fields.List(fields.Nested(TableOut), dump_only=True)


class ConditionalHeaders(Schema):
    """``If-None-Match``: the ETag of the copy the client holds; 304 when it is still current.
    Not an allowlist: every request carries other headers, so undeclared ones are ignored."""

    class Meta:
        unknown = EXCLUDE

    if_none_match = fields.String(
        data_key="If-None-Match",
        load_default=None,
        metadata={"description": 'an ETag you hold, e.g. "<sha256>"'},
    )
