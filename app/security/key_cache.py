"""The process's cache of unwrapped data keys (issue 13), and the keyring that reads through it.

Below the database layer on purpose: app.db gives every session factory one ``DataKeyCache``,
and app.services.platform.keys builds a ``CachedKeyring`` on it for each unit of work.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from app.security.keyring import DataKey, Keyring, KeyStore, RootKeyProvider

# How long a process keeps an unwrapped data key it has read with: long enough that a busy
# worker unwraps each key a few times an hour, short enough that a key withdrawn at the KMS (or
# a version deleted from the database) stops opening fields here within minutes.
DATA_KEY_MAX_AGE = timedelta(minutes=5)


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
