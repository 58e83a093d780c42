"""The keyring's database store, and setting up and rotating charities' data keys."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.clock import system_clock
from app.models import DataKeyRecord, Organisation
from app.security.keyring import DataKey, Keyring, KeyStore, RootKeyProvider, WrappedDataKey
from tenants.permissions import OrganisationKind

# How long a process keeps an unwrapped data key it has read with: long enough that a busy
# worker unwraps each key a few times an hour, short enough that a key withdrawn at the KMS (or
# a version deleted from the database) stops opening fields here within minutes.
DATA_KEY_MAX_AGE = timedelta(minutes=5)


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


# Where a session factory keeps its DataKeyCache (app.db.make_session_factory puts one in
# every session's info); sessions without one unwrap per unit of work.
DATA_KEY_CACHE = "data_key_cache"


class DataKeyCache:
    """Unwrapped data keys, kept per process by the session factory, by root, charity and key
    version (issue 13): each read no longer fetches the charity's wrapped keys and unwraps one,
    a statement and (with a KMS) a call per request.

    Sound because a version's key material never changes: rotation adds a version, rewrapping
    changes only the wrapping. Only reads use it (``CachedKeyring.version``): writes still ask the
    database for the current version, so a rotation made by another process is written under at
    once. An entry lasts ``max_age`` by the app's clock, so a key withdrawn at the KMS stops
    opening fields here within that time; a rotation or rewrap made through this process drops
    the charity's entries at once (docs: bench/README.md, the load section)."""

    def __init__(self, max_age: timedelta = DATA_KEY_MAX_AGE) -> None:
        self._max_age = max_age
        self._keys: dict[tuple[RootKeyProvider, uuid.UUID, int], tuple[DataKey, datetime]] = {}
        self._lock = threading.Lock()

    def get(
        self, root: RootKeyProvider, charity_id: uuid.UUID, version: int, now: datetime
    ) -> DataKey | None:
        with self._lock:
            found = self._keys.get((root, charity_id, version))
        if found is None or now - found[1] >= self._max_age or found[1] > now:
            return None
        return found[0]

    def put(self, root: RootKeyProvider, data_key: DataKey, now: datetime) -> None:
        with self._lock:
            self._keys[(root, data_key.charity_id, data_key.version)] = (data_key, now)

    def forget(self, charity_id: uuid.UUID | None = None) -> None:
        """Drop ``charity_id``'s keys (every charity's, with None)."""
        with self._lock:
            for slot in [s for s in self._keys if charity_id is None or s[1] == charity_id]:
                del self._keys[slot]


class CachedKeyring(Keyring):
    """A keyring whose reads of older versions are served from a ``DataKeyCache``."""

    def __init__(
        self,
        root: RootKeyProvider,
        store: KeyStore,
        clock: Callable[[], datetime],
        cache: DataKeyCache,
    ) -> None:
        super().__init__(root, store, clock)
        self._root_key = root
        self._now = clock
        self._shared = cache

    def version(self, charity_id: uuid.UUID, version: int) -> DataKey:
        now = self._now()
        data_key = self._shared.get(self._root_key, charity_id, version, now)
        if data_key is None:
            data_key = super().version(charity_id, version)
            self._shared.put(self._root_key, data_key, now)
        return data_key

    def rotate(self, charity_id: uuid.UUID) -> DataKey:
        self._shared.forget(charity_id)
        return super().rotate(charity_id)

    def rewrap_all(self, new_root: RootKeyProvider) -> int:
        self._shared.forget()
        rewrapped = super().rewrap_all(new_root)
        self._root_key = new_root
        return rewrapped


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
