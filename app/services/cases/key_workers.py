"""Who may be a case's key worker: the charity's own caseworkers and site managers at its prison.

The same rule `app.services.cases.referrals` checks when a key worker is set; this lists the
choices.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User, UserPrison
from app.services.cases.scope import require
from tenants.context import TenantContext
from tenants.permissions import Permission, Role

CASEWORKING_ROLES = (Role.CASEWORKER.value, Role.SITE_MANAGER.value)


@dataclass(frozen=True)
class KeyWorker:
    id: uuid.UUID
    name: str


def key_workers(session: Session, context: TenantContext, prison_code: str) -> list[KeyWorker]:
    """Active caseworkers and managers of the context's charity at one of its prisons, by name.
    A prison outside the context has none."""
    require(context, Permission.CASE_READ)
    if not context.sees_prison(prison_code):
        return []
    rows = session.execute(
        select(User.id, User.display_name)
        .join(UserPrison, UserPrison.user_id == User.id)
        .where(
            User.organisation_id == context.charity_id,
            User.active.is_(True),
            User.role.in_(CASEWORKING_ROLES),
            UserPrison.prison_code == prison_code,
        )
        .order_by(User.display_name, User.id)
    )
    return [KeyWorker(user_id, name) for user_id, name in rows]
