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


class SettingsError(ValueError):
    """Raised when the environment names an unknown setting or gives a malformed value."""


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured with. Defaults suit a developer's machine."""

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
    rate_limit_storage_uri: str = "memory://"
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

    @property
    def sqlite_path(self) -> Path:
        return self.instance_path / "continuum.sqlite3"

    @property
    def effective_root_key_file(self) -> Path:
        return Path(self.root_key_file) if self.root_key_file else self.instance_path / "root.key"

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
    if not settings.secret_key:
        settings = replace(settings, secret_key=_instance_secret(settings.instance_path))
    return settings


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
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


__all__ = ["Settings", "SettingsError", "load_settings"]
