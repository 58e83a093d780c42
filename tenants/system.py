"""Named system operations: the only code that works for two charities in one transaction.

Accepting a transfer writes the receiver's case and marks the sender's case transferred out, in
one transaction, so that a crash leaves both or neither. ``acting_for`` lets such a step switch
the session's tenant context for a block and back. Everything it does still passes both walls
for the context it acts for (the ORM guard, and on PostgreSQL row-level security, since the
context is set again with ``set_config(..., true)``, local to the transaction); it only changes
*whose* walls. Every caller is audited in both charities' chains (app.services.transfers).

On entering and leaving, pending writes are flushed under the context that made them and the
identity map is emptied, so no object loaded for one charity can be read or changed while
acting for the other (``Session.get`` would otherwise return it without a query).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from tenants.context import TenantContext
from tenants.guard import bind_tenant, current_tenant


@contextmanager
def acting_for(session: Session, context: TenantContext) -> Iterator[TenantContext]:
    """Work as ``context`` inside the caller's transaction, then return to the caller's own."""
    previous = current_tenant(session)
    session.flush()
    session.expunge_all()
    bind_tenant(session, context)
    try:
        yield context
        session.flush()
    finally:
        session.expunge_all()
        bind_tenant(session, previous)
