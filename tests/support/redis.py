"""A throwaway Redis server for the test suite, as tests/support/postgres.py is for PostgreSQL.

Several app processes share their sign-in rate limits through Redis (docs/production.md), and
only a real server shows that they do. Unless ``CONTINUUM_TEST_REDIS_URL`` names a server someone
already runs, :func:`start_redis` starts Debian's ``redis-server`` on a free loopback port in a
temporary directory, with nothing persisted, and :meth:`RedisServer.stop` throws it away.

Each call makes an independent server, so pytest-xdist workers can each own one. Nothing is
registered globally: the caller, a session-scoped fixture, decides how long the server lives.
Only the standard library and the redis client are used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.support.postgres import postgres_required
from tests.support.servers import free_port

__all__ = [
    "EXTERNAL_URL_ENV",
    "RedisServer",
    "RedisUnavailable",
    "redis_required",
    "redis_server",
    "redis_url",
    "start_redis",
]

EXTERNAL_URL_ENV = "CONTINUUM_TEST_REDIS_URL"
"""URL of an existing Redis to use instead of starting one; the tests empty its database."""

_START_TIMEOUT_SECONDS = 20
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 20


class RedisUnavailable(RuntimeError):
    """No Redis server could be found or started; the reason says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class RedisServer:
    """A Redis the tests may empty: one they started (``managed``) or one they were given."""

    host: str
    port: int
    database: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _base_dir: Path | None = field(default=None, repr=False)

    @property
    def managed(self) -> bool:
        return self._process is not None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.database}"

    def ping(self) -> bool:
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            return bool(client.ping())

    def empty(self) -> None:
        """Forget every key of the test database, so no test sees another's counts."""
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            client.flushdb()

    def stop(self) -> None:
        """Stop a managed server and delete its directory; a no-op otherwise. Safe twice."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._base_dir is not None:
            shutil.rmtree(self._base_dir, ignore_errors=True)


def redis_required() -> bool:
    """CI (or a run that requires PostgreSQL) promised every server: missing Redis fails."""
    return postgres_required()


def start_redis() -> RedisServer:
    """A running server: the external one if configured, else a fresh private one."""
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        return _external_server(external)
    return _start_managed_server()


def _external_server(url: str) -> RedisServer:
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise RedisUnavailable(f"{EXTERNAL_URL_ENV} is not a redis:// URL: {url!r}")
    database = int(parts.path.strip("/") or 0)
    server = RedisServer(parts.hostname or "127.0.0.1", parts.port or 6379, database)
    try:
        server.ping()
    except redis.RedisError as error:
        raise RedisUnavailable(f"cannot reach {EXTERNAL_URL_ENV} {server!r}: {error}") from error
    return server


def _start_managed_server() -> RedisServer:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise RedisUnavailable(
            "redis-server not found on PATH; install it (Debian: apt-get install redis-server)"
            f" or set {EXTERNAL_URL_ENV}"
        )
    base_dir = Path(tempfile.mkdtemp(prefix="continuum-redis-"))
    log_file = base_dir / "redis.log"
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        # Loopback only, nothing written to disk, no unix socket: a server for one test run.
        argv = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(base_dir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(log_file),
        ]  # fmt: skip
        process = subprocess.Popen(  # noqa: S603 - argv is a resolved binary and our own options
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        server = RedisServer("127.0.0.1", port, 0, process, base_dir)
        if _wait_until_answering(server):
            return server
        server._base_dir = None
        server.stop()
        if attempt < _PORT_ATTEMPTS and "Address already in use" in _log_tail(log_file):
            continue
        tail = _log_tail(log_file)
        shutil.rmtree(base_dir, ignore_errors=True)
        raise RedisUnavailable(f"redis-server did not start on port {port}{tail}")
    raise RedisUnavailable("redis-server lost every port race")  # pragma: no cover


def _wait_until_answering(server: RedisServer) -> bool:
    assert server._process is not None
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server._process.poll() is not None:
            return False
        try:
            return server.ping()
        except redis.RedisError:
            pass
        time.sleep(0.05)
    return False


def _log_tail(log_file: Path) -> str:
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n--- redis.log ---\n" + "\n".join(lines[-_LOG_TAIL_LINES:]) if lines else ""


# --- fixtures (registered by tests/conftest.py) ----------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis for the test session (per xdist worker). Skipped locally when there is none;
    under CI or CONTINUUM_REQUIRE_POSTGRES a Redis that cannot start fails the run."""
    try:
        server = start_redis()
    except RedisUnavailable as exc:
        if redis_required():
            pytest.fail(f"Redis is required here and could not start: {exc.reason}")
        pytest.skip(
            f"Redis is not available ({exc.reason}); set CONTINUUM_REQUIRE_POSTGRES=1 to fail"
        )
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database, for ``CONTINUUM_RATE_LIMIT_STORAGE_URI``."""
    redis_server.empty()
    return redis_server.url
