"""Who may do what: every role's permissions in one place, denied unless granted here."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SITE_MANAGER = "site_manager"
    CHARITY_ADMIN = "charity_admin"
    ALLIANCE_COORDINATOR = "alliance_coordinator"
    MINISTRY_ANALYST = "ministry_analyst"
    PLATFORM_OPERATOR = "platform_operator"


class OrganisationKind(StrEnum):
    CHARITY = "charity"
    ALLIANCE = "alliance"
    MINISTRY = "ministry"


class Permission(StrEnum):
    CASE_READ = "case:read"
    CASE_WRITE = "case:write"
    CASE_APPROVE = "case:approve"
    USER_MANAGE = "user:manage"
    FIGURES_SIGN_OFF = "figures:sign_off"
    PRISON_MANAGE = "prison:manage"
    RELEASE_PUBLISH = "release:publish"
    METRICS_READ = "metrics:read"
    PLATFORM_OPERATE = "platform:operate"


_CASEWORK = frozenset({Permission.CASE_READ, Permission.CASE_WRITE})

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: _CASEWORK,
    Role.SITE_MANAGER: _CASEWORK | {Permission.CASE_APPROVE},
    # A charity admin manages people and signs off figures; reading families is not their job.
    Role.CHARITY_ADMIN: frozenset({Permission.USER_MANAGE, Permission.FIGURES_SIGN_OFF}),
    Role.ALLIANCE_COORDINATOR: frozenset(
        {Permission.PRISON_MANAGE, Permission.RELEASE_PUBLISH, Permission.METRICS_READ}
    ),
    Role.MINISTRY_ANALYST: frozenset({Permission.METRICS_READ}),
    Role.PLATFORM_OPERATOR: frozenset({Permission.PLATFORM_OPERATE}),
}

# Which kind of organisation each role belongs to; a user of another kind is refused at creation.
ROLE_ORGANISATION: dict[Role, OrganisationKind] = {
    Role.CASEWORKER: OrganisationKind.CHARITY,
    Role.SITE_MANAGER: OrganisationKind.CHARITY,
    Role.CHARITY_ADMIN: OrganisationKind.CHARITY,
    Role.ALLIANCE_COORDINATOR: OrganisationKind.ALLIANCE,
    Role.MINISTRY_ANALYST: OrganisationKind.MINISTRY,
    # The operator runs the service for the alliance and sees no case data.
    Role.PLATFORM_OPERATOR: OrganisationKind.ALLIANCE,
}


def may(role: Role, permission: Permission) -> bool:
    """True only when the role is granted the permission by name."""
    return permission in GRANTS.get(role, frozenset())


def is_charity_role(role: Role) -> bool:
    return ROLE_ORGANISATION[role] is OrganisationKind.CHARITY
