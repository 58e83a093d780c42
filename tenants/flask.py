"""The Flask binding: one database session per request, bound to the actor's tenant context.

The actor is whoever the request authenticated as (a signed-in member of staff on the web, a
personal token on the API). Views and services never build a context themselves: they ask for
``tenant_session()`` and ``require_context()`` here, so the context always matches the actor.
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import Forbidden
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Permission, Role, is_charity_role, may
from tenants.postgres import reader_role_for, use_readers_role


class Actor(Protocol):
    """What the binding needs to know about whoever is asking."""

    @property
    def organisation_id(self): ...
    @property
    def role_enum(self) -> Role: ...
    @property
    def prison_codes(self) -> frozenset[str]: ...
    @property
    def id(self): ...


def context_for(actor: Actor) -> TenantContext | None:
    """The context of a charity member of staff who may read cases; None for everyone else."""
    role = actor.role_enum
    if not is_charity_role(role) or not may(role, Permission.CASE_READ):
        return None
    return TenantContext(
        charity_id=actor.organisation_id,
        prison_codes=frozenset(actor.prison_codes),
        role=role,
        user_id=actor.id,
    )


def _factory() -> sessionmaker[Session]:
    return current_app.extensions["continuum"].session_factory


def db_session() -> Session:
    """The request's session, created on first use and closed at the end of the request."""
    if "db" not in g:
        g.db = _factory()()
        bind_tenant(g.db, None)
    return g.db


def set_actor(actor: Actor | None) -> None:
    """Called once per request by authentication; binds the actor's context to the session."""
    g.actor = actor
    g.tenant = context_for(actor) if actor is not None else None
    bind_tenant(db_session(), g.tenant)
    if actor is not None and not is_charity_role(actor.role_enum):
        # The alliance, the ministry and the platform never need a case table (PostgreSQL).
        mark_readers_session(db_session())


def mark_readers_session(session: Session) -> None:
    """Run every transaction of ``session`` as the readers' role (PostgreSQL only)."""
    use_readers_role(
        session, reader_role_for(current_app.extensions["continuum"].settings.app_db_role)
    )


def current_actor() -> Actor | None:
    return g.get("actor")


def require_context() -> TenantContext:
    """The charity context of this request, or Forbidden for staff with no case access."""
    context = g.get("tenant")
    if context is None:
        raise Forbidden("no case access")
    return context


def current_tenant_or_none() -> TenantContext | None:
    return g.get("tenant")


def tenant_session() -> Session:
    return db_session()


def builder_session() -> Session:
    """A session of its own for the one request that builds a release (a named system
    operation): no actor's context and never the readers' role, since building reads case
    tables through the walls charity by charity. Closed at the end of the request."""
    if "builder_db" not in g:
        g.builder_db = _factory()()
        bind_tenant(g.builder_db, None)
    return g.builder_db


def _close(_exc: BaseException | None) -> None:
    for name in ("db", "builder_db"):
        session = g.pop(name, None)
        if session is not None:
            session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
