"""The service's settings: one frozen dataclass, built from the environment once."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "CONTINUUM_"
DEFAULT_INSTANCE = Path.cwd() / "instance"
ENVIRONMENTS = ("development", "production")
# A floor that catches placeholders ("changeme"); 32 characters of secrets.token_urlsafe carry
# 192 random bits.
MIN_SECRET_LENGTH = 32
# The name of the signing key generated into the instance folder on first run (development).
GENERATED_SIGNING_KEY = "secret_key"
# The name of the root key generated into the instance folder on first run (development).
GENERATED_ROOT_KEY = "root.key"


class SettingsError(ValueError):
    """Raised when the environment names an unknown setting or gives a malformed value."""


class UnsafeProductionSettings(SettingsError):
    """Raised at app creation when ``CONTINUUM_ENV=production`` meets a developer's settings."""


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured with. Defaults suit a developer's machine."""

    # "production" refuses to start with a developer's settings (production_problems below).
    env: str = "development"
    # Where the SQLite file, the generated secret key and demo credentials live.
    instance_path: Path = DEFAULT_INSTANCE
    # The application's connection: on PostgreSQL a role that owns nothing and has no BYPASSRLS.
    database_url: str = ""
    # The owner's connection, used only by migrations; defaults to database_url.
    migration_database_url: str = ""
    # The PostgreSQL role the row-level security policies are written for.
    app_db_role: str = "continuum_app"
    secret_key: str = ""
    # HTTPS-only cookies and HSTS; off only for local development and tests.
    secure_cookies: bool = False
    # DESIGN.md section 9: idle and absolute session timeouts.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 10
    # Lockout after repeated wrong passwords or codes (counts failures, not requests).
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    # Requests per client address to the sign-in forms, on top of the per-account lockout.
    login_rate_limit: str = "20 per minute"
    # Where those counts live: memory:// is one process's own; several processes share Redis.
    rate_limit_storage_uri: str = "memory://"
    # How many reverse proxies in front of the app append to X-Forwarded-For. The client's
    # address is the one the nearest trusted proxy saw; 0 believes no forwarded header at all.
    trusted_proxies: int = 0
    # The production command (config/gunicorn.conf.py): where it listens, and how many worker
    # processes it runs (0: two per CPU this process may use, plus one).
    bind: str = "127.0.0.1:8000"
    workers: int = 0
    api_token_days: int = 90
    # DESIGN.md section 9: the life of an access token issued to a ministry API client (OAuth2
    # client credentials); short, as the client can always ask for another.
    oauth_token_seconds: int = 900
    # DESIGN.md section 7: disclosure control of the Ministry's figures, the ONS 10-5 rule by
    # default (fewer families than the threshold suppressed, other counts rounded to the base).
    disclosure_threshold: int = 10
    disclosure_base: int = 5
    # The root key that wraps every charity's data key: a file here, a KMS in production.
    root_key_file: str = ""
    # DESIGN.md section 6: an offer nobody answers lapses after this many days.
    transfer_offer_days: int = 14
    # Transfer notifications (the outbox) go by email only when a server is named; they never
    # carry personal data, only "sign in to see it". STARTTLS when smtp_starttls.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "continuum@localhost"
    # The address staff reach the service at, for links in notifications.
    public_url: str = "http://127.0.0.1:5000"
    testing: bool = False

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise SettingsError(
                f"CONTINUUM_ENV: one of {', '.join(ENVIRONMENTS)}, not {self.env!r}"
            )
        for name in ("trusted_proxies", "workers"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{PREFIX}{name.upper()}: not below 0")
        if not self.bind.strip():
            raise SettingsError(f"{PREFIX}BIND: an address to listen on, such as 127.0.0.1:8000")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def effective_workers(self) -> int:
        """The worker processes the production command runs: set, or from the CPU count."""
        # gunicorn's own starting point: (2 x CPUs) + 1, so one worker's wait on the database
        # leaves the CPUs busy with another's encryption and templates.
        return self.workers or 2 * _usable_cpus() + 1

    @property
    def sqlite_path(self) -> Path:
        return self.instance_path / "continuum.sqlite3"

    @property
    def effective_root_key_file(self) -> Path:
        if self.root_key_file:
            return Path(self.root_key_file)
        return self.instance_path / GENERATED_ROOT_KEY

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def effective_migration_url(self) -> str:
        return self.migration_database_url or self.effective_database_url

    @property
    def is_postgres(self) -> bool:
        return self.effective_database_url.startswith("postgresql")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_CONVERTERS: dict[type, Callable[[str], Any]] = {
    bool: lambda raw: _parse_bool(raw),
    int: int,
    str: str,
    Path: Path,
}


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _field_types() -> dict[str, type]:
    hints = {"bool": bool, "int": int, "str": str, "Path": Path}
    return {f.name: hints[str(f.type)] for f in fields(Settings)}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``CONTINUUM_*`` variables (and ``DATABASE_URL``), then overrides."""
    env = os.environ if environ is None else environ
    types = _field_types()
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name not in types:
            raise SettingsError(f"unknown setting {key}")
        try:
            values[name] = _CONVERTERS[types[name]](raw)
        except ValueError as exc:
            raise SettingsError(f"{key}: {exc}") from exc
    if "database_url" not in values and env.get("DATABASE_URL"):
        values["database_url"] = env["DATABASE_URL"]
    values.update(overrides)
    settings = Settings(**values)
    settings = _normalise_url(settings)
    # Production never makes its own signing key: a missing one is refused at app creation.
    if not settings.secret_key and not settings.is_production:
        settings = replace(settings, secret_key=_instance_secret(settings.instance_path))
    return settings


def production_problems(settings: Settings, workers: int | None = None) -> list[str]:
    """What stops ``settings`` from running in production, one line each (empty: nothing).

    ``workers`` is the number of processes really started, when the caller knows it (the
    production command's master); otherwise the settings' own count.
    """
    if not settings.is_production:
        return []
    problems = _secret_key_problems(settings)
    if not settings.secure_cookies:
        problems.append(
            f"{PREFIX}SECURE_COOKIES is false: production is served over HTTPS only, so session"
            " cookies must be Secure and HSTS sent (set it to true)"
        )
    processes = settings.effective_workers if workers is None else workers
    # A memory:// store is one process's own count: with several workers an address would get
    # the full sign-in limit once per worker.
    if settings.rate_limit_storage_uri.startswith("memory://") and processes > 1:
        problems.append(
            f"{PREFIX}RATE_LIMIT_STORAGE_URI is memory:// with {processes} workers: each process"
            " would count sign-in attempts on its own; use a shared store"
            " (redis://host:6379/0), or run one worker (CONTINUUM_WORKERS=1)"
        )
    problems += _root_key_problems(settings)
    return problems


def refuse_unsafe_production(settings: Settings, workers: int | None = None) -> None:
    """Raise `UnsafeProductionSettings` naming every problem `production_problems` finds."""
    problems = production_problems(settings, workers)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise UnsafeProductionSettings(f"refusing to start with {PREFIX}ENV=production:\n{lines}")


def _secret_key_problems(settings: Settings) -> list[str]:
    if not settings.secret_key:
        return [
            f"{PREFIX}SECRET_KEY is not set: production never generates its own signing key"
            " (give it at least 32 random characters from your secret store)"
        ]
    generated = settings.instance_path / GENERATED_SIGNING_KEY
    if generated.exists() and generated.read_text().strip() == settings.secret_key:
        return [
            f"{PREFIX}SECRET_KEY is the development key generated in {generated}: generate a"
            " new one for production"
        ]
    if len(settings.secret_key) < MIN_SECRET_LENGTH:
        return [f"{PREFIX}SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"]
    return []


def _root_key_problems(settings: Settings) -> list[str]:
    generated = settings.instance_path / GENERATED_ROOT_KEY
    if not settings.root_key_file:
        return [
            f"{PREFIX}ROOT_KEY_FILE is not set: the default, {generated}, is the development"
            " key the app generates on first run"
        ]
    path = Path(settings.root_key_file)
    if path.resolve() == generated.resolve():
        return [f"{PREFIX}ROOT_KEY_FILE {path} is the development key generated in {generated}"]
    if path.is_file() and generated.is_file() and path.read_bytes() == generated.read_bytes():
        return [f"{PREFIX}ROOT_KEY_FILE {path} holds the development key generated in {generated}"]
    if not path.is_file():
        # The app would otherwise generate a new root key, and every data key wrapped under the
        # real one would become unreadable to it.
        return [
            f"{PREFIX}ROOT_KEY_FILE {path} does not exist: production never generates its root"
            " key (docs/production.md says how to make one)"
        ]
    return []


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's share), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _normalise_url(settings: Settings) -> Settings:
    """Accept the common ``postgresql://`` spelling and use psycopg 3 for it."""
    changes = {}
    for name in ("database_url", "migration_database_url"):
        url = getattr(settings, name)
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                changes[name] = "postgresql+psycopg://" + url[len(prefix) :]
    return replace(settings, **changes) if changes else settings


def _instance_secret(instance_path: Path) -> str:
    """A signing key generated on first run into the instance folder, never into the repo."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / GENERATED_SIGNING_KEY
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


__all__ = [
    "Settings",
    "SettingsError",
    "UnsafeProductionSettings",
    "load_settings",
    "production_problems",
    "refuse_unsafe_production",
]
