"""The tenant context: for whom a request or job works, fixed for its whole life."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenants.permissions import Permission, Role, may


class NoTenantContext(RuntimeError):
    """Raised when tenant-owned data is queried or written with no tenant context bound."""


class CrossTenantWrite(PermissionError):
    """Raised when a flush would write a row outside the bound charity or its permitted prisons."""


class AppendOnlyWrite(PermissionError):
    """Raised when a flush would change or delete a row of an append-only table (consents)."""


class TenantBulkStatement(PermissionError):
    """Raised when an ORM bulk UPDATE or DELETE touches tenant-owned rows without being reviewed."""


@dataclass(frozen=True, slots=True)
class TenantContext:
    """A charity, the prisons the actor may see there, and the actor's role."""

    charity_id: uuid.UUID
    prison_codes: frozenset[str]
    role: Role
    user_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.prison_codes, frozenset):
            raise TypeError("prison_codes must be a frozenset")

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)

    def sees_prison(self, prison_code: str) -> bool:
        return prison_code in self.prison_codes
