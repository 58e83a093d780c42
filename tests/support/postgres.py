"""A throwaway PostgreSQL server for the test suite.

Row-level security, roles and catalogue checks can only be tested against a real
PostgreSQL, and a developer laptop or CI runner rarely has one configured for us.
So, unless ``CONTINUUM_TEST_POSTGRES_URL`` points at a server someone already runs,
:func:`start_postgres` builds a private cluster in a temporary directory from the
locally installed server binaries, tuned for speed rather than durability, and
:meth:`PostgresServer.stop` throws it away again.

Each call makes an independent cluster on its own port and socket directory, so
pytest-xdist workers can each own one. Nothing is registered globally (no atexit
hooks, no environment changes): the caller, normally a session-scoped fixture,
decides how long the server lives.

Only the standard library and psycopg are used, so the module can be imported
before any application code.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg.rows import TupleRow

from tests.support.servers import free_port

__all__ = [
    "EXTERNAL_URL_ENV",
    "REQUIRE_ENV",
    "PostgresServer",
    "PostgresUnavailable",
    "postgres_required",
    "start_postgres",
]

EXTERNAL_URL_ENV = "CONTINUUM_TEST_POSTGRES_URL"
"""Superuser URL of an existing server to use instead of starting one."""

REQUIRE_ENV = "CONTINUUM_REQUIRE_POSTGRES"
"""Set to ``1`` to make a missing PostgreSQL a test failure rather than a skip."""

_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_SUPERUSER = "postgres"
_SYSTEM_USER = "postgres"
_START_TIMEOUT_SECONDS = 60
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 40

# Durability is pointless for a cluster that is deleted after the run, and turning
# it off is what keeps schema-heavy tests fast. max_connections leaves room for
# connection pools opened by many tests against one server.
_SERVER_SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started.

    Callers skip PostgreSQL-only tests on this error, unless
    :func:`postgres_required` says the environment promised a server.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PostgresServer:
    """A PostgreSQL server reachable over TCP with a passwordless superuser.

    Instances come from :func:`start_postgres`. A server this module started
    (``managed``) is destroyed by :meth:`stop`; an external one is left alone.
    The object is also a context manager that stops the server on exit.
    """

    host: str
    port: int
    superuser: str

    def __init__(
        self,
        host: str,
        port: int,
        superuser: str,
        *,
        superuser_password: str | None = None,
        _base_dir: Path | None = None,
        _pg_ctl: str | None = None,
        _run_as: tuple[str, ...] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.superuser = superuser
        self._superuser_password = superuser_password
        self._base_dir = _base_dir
        self._pg_ctl = _pg_ctl
        self._run_as = _run_as
        self._stopped = False

    @property
    def managed(self) -> bool:
        """Whether this module started the server, and so :meth:`stop` will destroy it."""
        return self._base_dir is not None

    def url(
        self,
        dbname: str,
        user: str | None = None,
        driver: str = "postgresql+psycopg",
        *,
        password: str | None = None,
    ) -> str:
        """Return a SQLAlchemy URL for ``dbname`` as ``user`` (the superuser by default).

        A managed server trusts every local TCP connection, so other roles need no
        password; ``password`` exists for external servers that do check them.
        The superuser's password from ``CONTINUUM_TEST_POSTGRES_URL`` is reused
        when connecting as the superuser.
        """
        role = self.superuser if user is None else user
        if password is None and role == self.superuser:
            password = self._superuser_password
        credentials = quote(role, safe="")
        if password is not None:
            credentials += ":" + quote(password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{driver}://{credentials}@{host}:{self.port}/{quote(dbname, safe='')}"

    def admin_connect(self, dbname: str = "postgres") -> psycopg.Connection[TupleRow]:
        """Connect as the superuser in autocommit, as CREATE DATABASE and role DDL need."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.superuser,
            password=self._superuser_password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def stop(self) -> None:
        """Shut a managed server down and delete its files; a no-op otherwise.

        Immediate shutdown skips the checkpoint, which is safe only because the
        data directory is deleted straight afterwards. Safe to call twice.
        """
        if self._stopped or self._base_dir is None:
            self._stopped = True
            return
        self._stopped = True
        data_dir = self._base_dir / "data"
        if self._pg_ctl is not None and (data_dir / "postmaster.pid").exists():
            try:
                _run(
                    [self._pg_ctl, "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
                    self._run_as,
                    cwd=self._base_dir,
                )
            except (OSError, subprocess.CalledProcessError):
                _kill_postmaster(data_dir)
        shutil.rmtree(self._base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        kind = "managed" if self.managed else "external"
        return f"<PostgresServer {kind} {self.superuser}@{self.host}:{self.port}>"


def postgres_required() -> bool:
    """Whether a missing PostgreSQL must fail the run instead of skipping tests.

    CI exists to run everything, so a skipped PostgreSQL suite there would be a
    silent hole in coverage rather than a convenience.
    """
    return _truthy(os.environ.get("CI")) or _truthy(os.environ.get(REQUIRE_ENV))


def start_postgres() -> PostgresServer:
    """Return a running server: the external one if configured, else a fresh private one.

    Raises :class:`PostgresUnavailable` with the reason (and the server log's
    tail, when there is one) if neither is possible.
    """
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        return _external_server(external)
    return _start_managed_server()


def _external_server(url: str) -> PostgresServer:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgresql", "postgres"}:
        raise PostgresUnavailable(f"{EXTERNAL_URL_ENV} is not a postgresql:// URL: {url!r}")
    try:
        port = parts.port or 5432
    except ValueError as error:
        raise PostgresUnavailable(f"{EXTERNAL_URL_ENV} has an invalid port: {error}") from None
    server = PostgresServer(
        host=parts.hostname or "127.0.0.1",
        port=port,
        superuser=unquote(parts.username) if parts.username else _SUPERUSER,
        superuser_password=unquote(parts.password) if parts.password is not None else None,
    )
    try:
        server.admin_connect().close()
    except psycopg.Error as error:
        raise PostgresUnavailable(
            f"cannot connect to {EXTERNAL_URL_ENV} server {server!r}: {error}"
        ) from error
    return server


def _start_managed_server() -> PostgresServer:
    bin_dir = _find_server_binaries()
    run_as = _run_as_prefix()
    # As root, $TMPDIR may sit under /root, which the postgres user cannot traverse;
    # mkdtemp still makes a private, unpredictable directory inside /tmp.
    shared_tmp = "/tmp" if run_as else None  # noqa: S108
    base_dir = Path(tempfile.mkdtemp(prefix="continuum-pg-", dir=shared_tmp))
    server: PostgresServer | None = None
    try:
        socket_dir = base_dir / "socket"
        socket_dir.mkdir()
        if run_as:
            _hand_over(base_dir, socket_dir)
        data_dir = base_dir / "data"
        log_file = base_dir / "postgres.log"
        _initdb(bin_dir / "initdb", data_dir, log_file, run_as)
        pg_ctl = str(bin_dir / "pg_ctl")
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = free_port()
            server = PostgresServer(
                "127.0.0.1", port, _SUPERUSER, _base_dir=base_dir, _pg_ctl=pg_ctl, _run_as=run_as
            )
            try:
                _pg_ctl_start(pg_ctl, data_dir, log_file, socket_dir, port, run_as)
            except subprocess.CalledProcessError:
                if attempt < _PORT_ATTEMPTS and _lost_port_race(log_file):
                    continue
                raise PostgresUnavailable("pg_ctl start failed" + _log_tail(log_file)) from None
            break
        assert server is not None
        _wait_until_accepting(server, log_file)
        return server
    except BaseException:
        if server is not None:
            server.stop()
        else:
            shutil.rmtree(base_dir, ignore_errors=True)
        raise


def _find_server_binaries() -> Path:
    """Prefer Debian's versioned install, newest first, because the PATH may hold only
    client tools (``postgresql-client``) or none at all."""
    candidates = sorted(
        (Path(path) for path in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda path: _version_key(path.parent.name),
        reverse=True,
    )
    for bin_dir in candidates:
        if all(os.access(bin_dir / name, os.X_OK) for name in _SERVER_BINARIES):
            return bin_dir
    found = {name: shutil.which(name) for name in _SERVER_BINARIES}
    initdb = found["initdb"]
    if initdb is not None and all(found.values()):
        return Path(initdb).parent
    missing = ", ".join(name for name, path in found.items() if path is None)
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or on PATH"
        f" (missing on PATH: {missing}); install the server (Debian: apt-get install"
        f" postgresql) or set {EXTERNAL_URL_ENV}"
    )


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def _run_as_prefix() -> tuple[str, ...] | None:
    """Return the command prefix that drops root privileges, or None when not root.

    initdb and postgres refuse to run as root, so as root (CI containers) the
    cluster belongs to the ``postgres`` system user instead.
    """
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, so PostgreSQL must run as the {_SYSTEM_USER!r} system user,"
            " but there is no such user (Debian's postgresql package creates it)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is not None:
        return (runuser, "-u", _SYSTEM_USER, "--")
    su = shutil.which("su")
    if su is not None:
        return (su, _SYSTEM_USER, "-s", "/bin/sh", "-c")
    raise PostgresUnavailable(
        f"running as root, but neither runuser nor su is available to switch to {_SYSTEM_USER!r}"
    )


def _hand_over(*paths: Path) -> None:
    account = pwd.getpwnam(_SYSTEM_USER)
    for path in paths:
        os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(0o700)


def _run(
    command: list[str], run_as: tuple[str, ...] | None, *, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a server tool, as the postgres user when needed, raising on failure.

    The working directory is one the postgres user can enter, which avoids
    "could not change directory" noise when the caller's cwd is private.
    """
    if run_as is None:
        argv = command
    elif run_as[-1] == "-c":
        argv = [*run_as, shlex.join(command)]
    else:
        argv = [*run_as, *command]
    return subprocess.run(  # noqa: S603 - argv is built from resolved binaries, not input
        argv,
        cwd=cwd,
        env=_server_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
        timeout=_START_TIMEOUT_SECONDS + 30,
    )


def _server_environment() -> dict[str, str]:
    """Return the caller's environment without libpq/server variables.

    A developer's PGDATA, PGPORT or PGHOST would otherwise steer pg_ctl or the
    readiness check towards their own server.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    return env


def _initdb(initdb: Path, data_dir: Path, log_file: Path, run_as: tuple[str, ...] | None) -> None:
    """Create the cluster, falling back to the C locale where C.UTF-8 does not exist."""
    base = [str(initdb), "-D", str(data_dir), "-U", _SUPERUSER, "--auth=trust", "--encoding=UTF8"]
    failures: list[str] = []
    for locale_option in ("--locale=C.UTF-8", "--no-locale"):
        try:
            _run([*base, locale_option, "--no-sync"], run_as, cwd=data_dir.parent)
            return
        except subprocess.CalledProcessError as error:
            failures.append(f"initdb {locale_option}:\n{error.stdout}{error.stderr}".rstrip())
            shutil.rmtree(data_dir, ignore_errors=True)
    log_file.write_text("\n\n".join(failures) + "\n")
    raise PostgresUnavailable("initdb failed" + _log_tail(log_file))


def _pg_ctl_start(
    pg_ctl: str,
    data_dir: Path,
    log_file: Path,
    socket_dir: Path,
    port: int,
    run_as: tuple[str, ...] | None,
) -> None:
    options = ["-c", "listen_addresses=127.0.0.1", "-p", str(port), "-k", str(socket_dir)]
    for setting in _SERVER_SETTINGS:
        options += ["-c", setting]
    _run(
        [
            pg_ctl,
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-w",
            "-t",
            str(_START_TIMEOUT_SECONDS),
            "-o",
            shlex.join(options),
            "start",
        ],
        run_as,
        cwd=data_dir.parent,
    )


def _lost_port_race(log_file: Path) -> bool:
    try:
        return "Address already in use" in log_file.read_text(errors="replace")
    except OSError:
        return False


def _wait_until_accepting(server: PostgresServer, log_file: Path) -> None:
    """Confirm TCP connections work, not just that pg_ctl saw the postmaster ready."""
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while True:
        try:
            server.admin_connect().close()
            return
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"server on port {server.port} is not accepting connections: {error}"
                    + _log_tail(log_file)
                ) from error
            time.sleep(0.05)


def _kill_postmaster(data_dir: Path) -> None:
    """Last resort when pg_ctl cannot stop the server it started."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)


def _log_tail(log_file: Path) -> str:
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    if not lines:
        return ""
    return f"\n--- last lines of {log_file.name} ---\n" + "\n".join(lines[-_LOG_TAIL_LINES:])


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in {"", "0", "false", "no", "off"}
