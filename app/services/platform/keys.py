"""The keyring's database store, and setting up and rotating charities' data keys."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.clock import system_clock
from app.models import DataKeyRecord, Organisation
from app.security.key_cache import DATA_KEY_CACHE, CachedKeyring
from app.security.keyring import Keyring, RootKeyProvider, WrappedDataKey
from tenants.permissions import OrganisationKind


class SqlKeyStore:
    """Wrapped data keys in ``data_keys``, written in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def charity_ids(self) -> list[uuid.UUID]:
        return list(self._session.scalars(select(DataKeyRecord.charity_id).distinct()))

    def wrapped_keys(self, charity_id: uuid.UUID) -> list[WrappedDataKey]:
        rows = self._session.scalars(
            select(DataKeyRecord)
            .where(DataKeyRecord.charity_id == charity_id)
            .order_by(DataKeyRecord.version)
        )
        return [WrappedDataKey(r.charity_id, r.version, r.wrapped, r.created_at) for r in rows]

    def add(self, wrapped_key: WrappedDataKey) -> None:
        record = DataKeyRecord(
            charity_id=wrapped_key.charity_id,
            version=wrapped_key.version,
            wrapped=wrapped_key.wrapped,
        )
        if wrapped_key.created_at is not None:
            record.created_at = wrapped_key.created_at
        self._session.add(record)
        # The primary key refuses a duplicate version here, not at some later flush.
        self._session.flush()

    def replace(self, wrapped_key: WrappedDataKey) -> None:
        record = self._session.get_one(DataKeyRecord, (wrapped_key.charity_id, wrapped_key.version))
        record.wrapped = wrapped_key.wrapped
        self._session.flush()


def keyring(session: Session, root: RootKeyProvider) -> Keyring:
    clock = session.info.get("clock", system_clock)
    cache = session.info.get(DATA_KEY_CACHE)
    if cache is None:
        return Keyring(root, SqlKeyStore(session), clock)
    return CachedKeyring(root, SqlKeyStore(session), clock, cache)


def ensure_charity_keys(session: Session, root: RootKeyProvider) -> int:
    """Give every charity a first data key; returns how many were created. Commits."""
    ring = keyring(session, root)
    created = 0
    charities = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.CHARITY.value)
    )
    for charity in charities:
        if not SqlKeyStore(session).wrapped_keys(charity.id):
            ring.ensure_key(charity.id)
            created += 1
    session.commit()
    return created


def rotate_charity_key(session: Session, root: RootKeyProvider, charity_id: uuid.UUID) -> int:
    """Add the charity's next key version; new data is written under it. Commits."""
    version = keyring(session, root).rotate(charity_id).version
    session.commit()
    return version
