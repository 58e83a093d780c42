"""A charity admin manages the charity's own staff: accounts, prisons, and who may sign in.

Every function takes the acting admin (`StaffAdmin`), checks the one permission by name, and
finds users only inside the admin's own organisation, so another charity's user and a user that
does not exist are the same NotFound. Every change is one audit event in the charity's chain,
naming the user's id only, committed with the change.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import ApiToken, Organisation, Prison, User, UserPrison
from app.security.passwords import hash_password
from app.services.accounts import accounts
from app.services.platform import audit
from app.services.platform.audit import Origin
from app.services.platform.reference import prisons_ever_served
from tenants.permissions import Permission, Role, may
from tenants.roles import CASE_ROLES, CHARITY_ROLES, prison_rule

# What staff read for each role an admin may give (tenants.roles.CHARITY_ROLES).
ROLE_LABELS = {
    Role.CASEWORKER: "Caseworker",
    Role.SITE_MANAGER: "Site manager",
    Role.CHARITY_ADMIN: "Charity admin",
}
# A set-up password: 20 characters from an alphabet without look-alikes (100 bits), in groups
# of five so it can be read out over the phone.
_SET_UP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_SET_UP_GROUPS = 4


@dataclass(frozen=True)
class StaffAdmin:
    """Who is managing staff: the signed-in user, their organisation and role."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role


@dataclass(frozen=True)
class StaffMember:
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    prisons: tuple[Prison, ...]
    active: bool
    enrolled: bool
    locked: bool
    last_login_at: datetime | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role.value)

    @property
    def works_cases(self) -> bool:
        return self.role in CASE_ROLES


@dataclass(frozen=True)
class SetUp:
    """A new or reset account and its set-up password, shown to the admin once, never stored."""

    member: StaffMember
    password: str


@dataclass(frozen=True)
class StaffPage:
    member: StaffMember
    assignable: list[Prison]
    is_self: bool


def require_admin(admin: StaffAdmin) -> None:
    if not may(admin.role, Permission.USER_MANAGE):
        raise Forbidden(Permission.USER_MANAGE.value)


def new_set_up_password() -> str:
    groups = (
        "".join(secrets.choice(_SET_UP_ALPHABET) for _ in range(5)) for _ in range(_SET_UP_GROUPS)
    )
    return "-".join(groups)


def _member(user: User, now: datetime) -> StaffMember:
    return StaffMember(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role_enum,
        prisons=tuple(sorted((link.prison for link in user.prison_links), key=lambda p: p.name)),
        active=user.active,
        enrolled=user.totp_confirmed,
        locked=user.locked_until is not None and user.locked_until > now,
        last_login_at=user.last_login_at,
    )


def _user(session: Session, admin: StaffAdmin, user_id: uuid.UUID) -> User:
    """A user of the admin's own organisation; any other id is as missing as one never made."""
    user = session.scalar(
        select(User).where(User.id == user_id, User.organisation_id == admin.organisation_id)
    )
    if user is None:
        raise NotFound("user")
    return user


def _record(
    session: Session,
    admin: StaffAdmin,
    origin: Origin,
    action: str,
    record_ids: Iterable[uuid.UUID],
) -> None:
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=audit.chain_for(admin.organisation_id, is_charity=True),
            actor=admin.user_id,
            organisation=admin.organisation_id,
            action=action,
            record_type="user",
            record_ids=list(record_ids),
        ),
    )


def _not_self(admin: StaffAdmin, user: User, what: str) -> None:
    # An admin who locks themselves out needs another admin to get back in; say so instead.
    if user.id == admin.user_id:
        raise Conflict(f"you cannot {what} your own account: ask another admin")


def _check_prisons(
    session: Session, admin: StaffAdmin, role: Role, codes: Iterable[str]
) -> list[str]:
    wanted = sorted(set(codes))
    errors = prison_rule(role, wanted)
    if errors:
        raise InvalidInput(errors)
    outside = set(wanted) - prisons_ever_served(session, admin.organisation_id)
    if outside:
        raise InvalidInput(
            {"prisons": [f"your charity has never served {', '.join(sorted(outside))}"]}
        )
    return wanted


def assignable_prisons(session: Session, admin: StaffAdmin) -> list[Prison]:
    """The prisons the charity serves or has served, by name: the only ones staff may be given."""
    require_admin(admin)
    codes = prisons_ever_served(session, admin.organisation_id)
    if not codes:
        return []
    return list(session.scalars(select(Prison).where(Prison.code.in_(codes)).order_by(Prison.name)))


def list_staff(session: Session, admin: StaffAdmin, origin: Origin) -> list[StaffMember]:
    """Everyone in the admin's organisation, by name; one event names every user shown."""
    require_admin(admin)
    users = list(
        session.scalars(
            select(User)
            .where(User.organisation_id == admin.organisation_id)
            .order_by(User.display_name, User.username)
        )
    )
    _record(session, admin, origin, "user.list", [user.id for user in users])
    session.commit()
    now = origin.clock()
    return [_member(user, now) for user in users]


def staff_page(
    session: Session, admin: StaffAdmin, origin: Origin, user_id: uuid.UUID
) -> StaffPage:
    """One member of staff, with the prisons they could be given."""
    require_admin(admin)
    user = _user(session, admin, user_id)
    _record(session, admin, origin, "user.read", [user.id])
    session.commit()
    return StaffPage(
        member=_member(user, origin.clock()),
        assignable=assignable_prisons(session, admin),
        is_self=user.id == admin.user_id,
    )


def create_staff(
    session: Session,
    admin: StaffAdmin,
    origin: Origin,
    *,
    username: str,
    display_name: str,
    role: Role,
    prisons: Iterable[str] = (),
) -> SetUp:
    """A new member of the admin's own charity. They sign in with the set-up password, enrol
    their authenticator and choose their own password at that first sign-in."""
    require_admin(admin)
    organisation = session.get(Organisation, admin.organisation_id)
    if organisation is None or not organisation.is_charity:
        raise Forbidden(Permission.USER_MANAGE.value)
    codes = sorted(set(prisons))
    errors = prison_rule(role, codes)
    if role not in CHARITY_ROLES:
        errors["role"] = ["choose caseworker, site manager or charity admin"]
    password = new_set_up_password()
    try:
        # Checks the username, the role's organisation and that the charity served each prison.
        user = accounts.create_user(
            session,
            organisation,
            username=username,
            display_name=display_name,
            role=role,
            password=password,
            prison_codes=codes,
            must_change_password=True,
        )
    except InvalidInput as exc:
        raise InvalidInput({**exc.errors, **errors}) from exc
    if errors:
        session.rollback()
        raise InvalidInput(errors)
    _record(session, admin, origin, "user.create", [user.id])
    session.commit()
    return SetUp(_member(user, origin.clock()), password)


def assign_prisons(
    session: Session,
    admin: StaffAdmin,
    origin: Origin,
    user_id: uuid.UUID,
    prisons: Iterable[str],
) -> StaffMember:
    """Replace a caseworker's or site manager's prisons; their next request sees the change."""
    require_admin(admin)
    user = _user(session, admin, user_id)
    codes = _check_prisons(session, admin, user.role_enum, prisons)
    kept = [link for link in user.prison_links if link.prison_code in codes]
    added = [UserPrison(prison_code=code) for code in codes if code not in user.prison_codes]
    user.prison_links = kept + added
    _record(session, admin, origin, "user.prisons", [user.id])
    session.commit()
    return _member(user, origin.clock())


def deactivate_staff(
    session: Session, admin: StaffAdmin, origin: Origin, user_id: uuid.UUID
) -> StaffMember:
    """The user can no longer sign in; their sessions end and their API tokens are revoked, so
    reactivating the account later does not bring an old token back."""
    require_admin(admin)
    user = _user(session, admin, user_id)
    _not_self(admin, user, "deactivate")
    now = origin.clock()
    user.active = False
    user.session_epoch += 1
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now
    _record(session, admin, origin, "user.deactivate", [user.id])
    session.commit()
    return _member(user, now)


def reactivate_staff(
    session: Session, admin: StaffAdmin, origin: Origin, user_id: uuid.UUID
) -> StaffMember:
    """The user may sign in again with their own password and authenticator."""
    require_admin(admin)
    user = _user(session, admin, user_id)
    user.active = True
    _record(session, admin, origin, "user.reactivate", [user.id])
    session.commit()
    return _member(user, origin.clock())


def reset_second_factor(
    session: Session, admin: StaffAdmin, origin: Origin, user_id: uuid.UUID
) -> SetUp:
    """Forget the user's authenticator, end their sessions and clear any lockout; they enrol a new
    one at their next sign-in. The password is replaced with a set-up password too (which they
    must then change): otherwise anyone who knew the old password could enrol their own
    authenticator first."""
    require_admin(admin)
    user = _user(session, admin, user_id)
    _not_self(admin, user, "reset the sign-in of")
    password = new_set_up_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.totp_secret_sealed = None
    user.totp_confirmed = False
    user.totp_last_step = 0
    user.failed_attempts = 0
    user.locked_until = None
    user.session_epoch += 1
    _record(session, admin, origin, "user.reset_second_factor", [user.id])
    session.commit()
    return SetUp(_member(user, origin.clock()), password)
