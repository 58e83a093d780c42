"""The application wall: every ORM query and flush on tenant-owned models is scoped or refused.

``install_orm_guard(session_factory)`` attaches two hooks to a ``sessionmaker``:

- ``do_orm_execute`` adds ``with_loader_criteria`` for the bound charity and its permitted prisons
  to every statement (selects, relationship loads, ``Session.get``) and raises
  ``NoTenantContext`` when a statement reaches a tenant-owned table with no context bound;
- ``before_flush`` refuses to insert, change or delete a row of another charity or of a prison
  outside the context, and refuses to move a row between charities at all.

The context lives in ``session.info`` and is bound with ``bind_tenant``; there is no other way to
see case rows through the ORM.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, func, inspect
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import Table

from tenants.context import (
    AppendOnlyWrite,
    CrossTenantWrite,
    NoTenantContext,
    TenantBulkStatement,
    TenantContext,
)
from tenants.model import SIDES, SharedTenancy, TenantOwned, is_shared_table, is_tenant_table

CONTEXT_KEY = "tenant_context"
# The loader criteria last built, with the context and dialect they were built for (_criteria).
CRITERIA_KEY = "tenant_criteria"
# Execution option for the few reviewed bulk statements (named system operations) that may
# touch tenant-owned rows in bulk; the row-level security policies still apply on PostgreSQL.
REVIEWED_BULK = "tenant_reviewed_bulk"


def bind_tenant(session: Session, context: TenantContext | None) -> None:
    """Bind (or, with None, clear) the tenant context of a session and its open transaction."""
    session.info[CONTEXT_KEY] = context
    for hook in session.info.get("on_bind", ()):
        hook(session, context)


def current_tenant(session: Session) -> TenantContext | None:
    return session.info.get(CONTEXT_KEY)


def require_tenant(session: Session) -> TenantContext:
    context = current_tenant(session)
    if context is None:
        raise NoTenantContext("no tenant context is bound to this session")
    return context


def _touches_tenant_table(statement: Any) -> bool:
    return any(
        isinstance(element, Table) and (is_tenant_table(element) or is_shared_table(element))
        for element in visitors.iterate(statement)
    )


# What the guard learns about a statement object, kept for as long as the object lives: whether
# it reaches a tenant-owned table, and its scoped form per criteria. A statement never changes
# once built (SQLAlchemy's statements are immutable; each method returns a copy), so a statement
# built once and run again and again (app.services.cases.family_records) is walked once, and its
# scoped form keeps its cache key, instead of both being worked out again on every run (issue 13).
_TOUCHES: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()
_SCOPED: WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = WeakKeyDictionary()
# Contexts whose scoped forms one statement keeps; past this, the oldest is dropped.
SCOPED_PER_STATEMENT = 64
# Request threads share both tables.
_LEARNT = threading.Lock()


def _touches(statement: Any) -> bool:
    with _LEARNT:
        try:
            known = _TOUCHES.get(statement)
        except TypeError:  # not weakly referenceable: worked out each time
            return _touches_tenant_table(statement)
    if known is None:
        known = _touches_tenant_table(statement)
        with _LEARNT:
            _TOUCHES[statement] = known
    return known


def _scoped(statement: Any, key: tuple[Any, ...], criteria: tuple[Any, ...]) -> Any:
    with _LEARNT:
        try:
            forms = _SCOPED.setdefault(statement, {})
        except TypeError:
            return statement.options(*criteria)
        scoped = forms.get(key)
        if scoped is None:
            if len(forms) >= SCOPED_PER_STATEMENT:
                del forms[next(iter(forms))]
            scoped = forms[key] = statement.options(*criteria)
    return scoped


def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load and not state.is_relationship_load:
        # Refreshing attributes of an object already loaded under this same scope.
        return
    context = current_tenant(state.session)
    touches = _touches(state.statement)
    if not touches:
        return
    if context is None:
        raise NoTenantContext("tenant-owned data queried with no tenant context bound")
    if (state.is_update or state.is_delete) and not state.execution_options.get(REVIEWED_BULK):
        raise TenantBulkStatement("bulk UPDATE or DELETE of tenant-owned rows is not allowed here")
    key, criteria = _criteria(state.session, context)
    state.statement = _scoped(state.statement, key, criteria)


def _criteria(session: Session, context: TenantContext) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What the criteria for ``context`` depend on, and the criteria, built once per session
    and context and reused by each statement until the context changes: building them (the
    lambdas' analysis and their bound values) was most of the guard's cost per statement
    (issue 13)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    key = (context.charity_id, tuple(sorted(context.prison_codes)), postgresql)
    cached = session.info.get(CRITERIA_KEY)
    if cached is not None and cached[0] == key:
        return cached  # type: ignore[no-any-return]
    charity_id = context.charity_id
    prisons = list(key[1])
    # On PostgreSQL row-level security applies the same prison rule. Written as IN there too, the
    # planner multiplies the two selectivities, underestimates the visible rows by the prisons'
    # share, and sorts every visible case instead of walking the newest-first index;
    # array_position(...) IS NOT NULL is the same test with a neutral estimate (bench/isolation.py).
    criteria = (
        (
            lambda cls: (
                (cls.charity_id == charity_id)
                & func.array_position(prisons, cls.prison_code).is_not(None)
            )
        )
        if postgresql
        else (lambda cls: (cls.charity_id == charity_id) & cls.prison_code.in_(prisons))
    )
    options = (
        with_loader_criteria(
            TenantOwned, criteria, include_aliases=True, track_closure_variables=False
        ),
        with_loader_criteria(
            SharedTenancy,
            shared_rows(charity_id, prisons),
            include_aliases=True,
            track_closure_variables=False,
        ),
    )
    session.info[CRITERIA_KEY] = (key, options)
    return key, options


def shared_rows(charity_id: uuid.UUID, prisons: list[str]) -> Callable[[Any], Any]:
    """The criterion for rows two charities share (a transfer): each side sees a row at its own
    prison, the receiver only once it is shared with it (``receiver_sees``), nobody else ever.
    Named, so the negative control (tests/integration/test_negative_controls.py) can show the
    tests notice when the receiver's half loses ``receiver_sees``."""
    return lambda cls: (
        ((cls.sender_charity_id == charity_id) & cls.sender_prison_code.in_(prisons))
        | (
            (cls.receiver_charity_id == charity_id)
            & cls.receiver_prison_code.in_(prisons)
            & cls.receiver_sees.is_(True)
        )
    )


def _check_shared(session: Session, obj: SharedTenancy, context: TenantContext | None) -> None:
    if context is None:
        raise NoTenantContext("shared row written with no tenant context bound")
    state = inspect(obj, raiseerr=True)
    for charity_column, prison_column in SIDES:
        for column in (charity_column, prison_column):
            if state.persistent and state.attrs[column].history.deleted:
                raise CrossTenantWrite("the sides of a shared row never change")
    if obj in session.deleted:
        raise AppendOnlyWrite(f"{type(obj).__name__} rows are never deleted")
    if getattr(obj, "__append_only__", False) and obj in session.dirty and session.is_modified(obj):
        raise AppendOnlyWrite(f"{type(obj).__name__} rows are never edited")
    as_sender = (
        obj.sender_charity_id == context.charity_id
        and obj.sender_prison_code in context.prison_codes
    )
    as_receiver = (
        obj.receiver_charity_id == context.charity_id
        and obj.receiver_prison_code in context.prison_codes
        and obj.receiver_sees
    )
    if not (as_sender or as_receiver):
        raise CrossTenantWrite("write refused: the context is neither side of this row")


def _check_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    context = current_tenant(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, SharedTenancy):
            _check_shared(session, obj, context)
            continue
        if not isinstance(obj, TenantOwned):
            continue
        if context is None:
            raise NoTenantContext("tenant-owned row written with no tenant context bound")
        state = inspect(obj, raiseerr=True)
        if state.persistent or state.deleted:
            for column in ("charity_id", "prison_code"):
                history = state.attrs[column].history
                for old in history.deleted:
                    if column == "charity_id" and old != obj.charity_id:
                        raise CrossTenantWrite("a row never moves between charities")
                    if column == "prison_code" and old not in context.prison_codes:
                        raise CrossTenantWrite("row moved from a prison outside the context")
        if getattr(obj, "__append_only__", False) and (
            obj in session.deleted or (obj in session.dirty and session.is_modified(obj))
        ):
            raise AppendOnlyWrite(f"{type(obj).__name__} rows are never edited or deleted")
        if obj.charity_id != context.charity_id:
            raise CrossTenantWrite("write refused: the row belongs to another charity")
        if obj.prison_code not in context.prison_codes:
            raise CrossTenantWrite("write refused: the row is at a prison outside the context")


def install_orm_guard(session_factory: sessionmaker[Session]) -> None:
    event.listen(session_factory, "do_orm_execute", _scope_statement)
    event.listen(session_factory, "before_flush", _check_flush)
