"""The roles a charity admin gives the charity's own staff, and which of them work at prisons.

Both the staff form (schemas/staff.py) and the staff use cases check these, so one post names
every problem at once and the use case refuses what the form missed.
"""

from __future__ import annotations

from collections.abc import Iterable

from tenants.permissions import Role

# The roles an admin may give: the charity's own; alliance and ministry staff are made elsewhere.
CHARITY_ROLES = (Role.CASEWORKER, Role.SITE_MANAGER, Role.CHARITY_ADMIN)
# Roles that work with cases, and so need at least one prison (decisions.md, issue 2).
CASE_ROLES = frozenset({Role.CASEWORKER, Role.SITE_MANAGER})


def prison_rule(role: Role, codes: Iterable[str]) -> dict[str, list[str]]:
    """Case roles need a prison to work at; a charity admin reads no cases, so has none."""
    if role in CASE_ROLES and not set(codes):
        return {"prisons": ["select at least one prison"]}
    if role not in CASE_ROLES and set(codes):
        return {"prisons": ["a charity admin does not work with cases, so has no prisons"]}
    return {}
