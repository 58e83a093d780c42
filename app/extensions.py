"""Flask extensions, created unbound here and bound in ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.domain.clock import Clock, system_clock
from app.security.keyring import RootKeyProvider
from app.security.sealing import Sealer
from config import Settings

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


@dataclass(frozen=True)
class Continuum:
    """What the app holds for the life of the process, under ``app.extensions['continuum']``."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    totp_sealer: Sealer
    # Wraps the charities' data keys (app.security.keyring); a KMS in production.
    root_key: RootKeyProvider
    # The one clock of the service: requests, commands and jobs are dated by it (tests set it).
    clock: Clock = system_clock


def app_clock() -> Clock:
    """The running app's clock (inside an app context)."""
    from flask import current_app

    return current_app.extensions["continuum"].clock  # type: ignore[no-any-return]
