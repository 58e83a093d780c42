"""The mark of a tenant-owned table: a charity and a prison on every row.

Every model that carries case data inherits ``TenantOwned``. The ORM guard, the row-level
security policies and the catalogue tests all find tenant-owned tables through this mixin (and the
``tenant_owned`` flag it puts in each table's ``info``), so a new case table is walled in by
inheriting it, and a case table that forgets to inherit it fails the catalogue test.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import Boolean, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class TenantOwned:
    """Mixin for tables owned by one charity and, through ``prison_code``, one prison."""

    __tenant_owned__: ClassVar[bool] = True

    @declared_attr
    def charity_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False
        )

    @declared_attr
    def prison_code(cls) -> Mapped[str]:
        return mapped_column(
            String(8), ForeignKey("prisons.code", ondelete="RESTRICT"), nullable=False
        )

    @declared_attr.directive
    def __table_args__(cls) -> Any:
        extra = getattr(cls, "__tenant_table_args__", ())
        return (*extra, {"info": {"tenant_owned": True}})


def is_tenant_table(table: Any) -> bool:
    return bool(getattr(table, "info", {}).get("tenant_owned"))


class SharedTenancy:
    """Mixin for the few tables two charities share: a transfer and its steps.

    A row belongs to a sending side (charity and prison) and a receiving side; the sender sees it
    when its context covers the sending prison, the receiver when its context covers the
    receiving prison *and* the row is shared with it (``receiver_sees``: from the offer on, or from
    the receiver's own request; before the family's consent the receiver learns nothing). Neither
    side ever moves. Holds ids, states and dates only, never personal data. The ORM guard and
    the row-level security policy (``tenants.postgres.shared_policy_statements``) apply the same
    rule.
    """

    __shared_tenancy__: ClassVar[bool] = True

    @declared_attr
    def sender_charity_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False
        )

    @declared_attr
    def sender_prison_code(cls) -> Mapped[str]:
        return mapped_column(
            String(8), ForeignKey("prisons.code", ondelete="RESTRICT"), nullable=False
        )

    @declared_attr
    def receiver_charity_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False
        )

    @declared_attr
    def receiver_prison_code(cls) -> Mapped[str]:
        return mapped_column(
            String(8), ForeignKey("prisons.code", ondelete="RESTRICT"), nullable=False
        )

    @declared_attr
    def receiver_sees(cls) -> Mapped[bool]:
        return mapped_column(Boolean, nullable=False, default=False)

    @declared_attr.directive
    def __table_args__(cls) -> Any:
        extra = getattr(cls, "__shared_table_args__", ())
        return (*extra, {"info": {"shared_tenancy": True}})


SIDES = (
    ("sender_charity_id", "sender_prison_code"),
    ("receiver_charity_id", "receiver_prison_code"),
)


def is_shared_table(table: Any) -> bool:
    return bool(getattr(table, "info", {}).get("shared_tenancy"))
