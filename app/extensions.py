"""Flask extensions, created unbound here and bound in ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from limits.storage import Storage
from limits.strategies import RateLimiter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.domain.clock import Clock, system_clock
from app.security.keyring import RootKeyProvider
from app.security.sealing import Sealer
from config import Settings

# Where each app keeps its own rate-limit store and strategy (AppLimiter).
LIMIT_STORE = "continuum.limits"


class AppLimiter(Limiter):
    """flask-limiter's ``Limiter``, counting in the store of the app serving the request.

    ``Limiter`` keeps only the store of the last app bound to it, so two apps in one process
    counted together even with ``memory://``: two app instances standing for two servers could
    not show whether a limit holds across servers (docs/production.md). Each app now counts in
    the store its own settings name, as a process of its own does.
    """

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        app.extensions[LIMIT_STORE] = (self._storage, self._limiter)

    @property
    def storage(self) -> Storage:
        if has_app_context() and LIMIT_STORE in current_app.extensions:
            return current_app.extensions[LIMIT_STORE][0]  # type: ignore[no-any-return]
        return super().storage

    @property
    def limiter(self) -> RateLimiter:
        if has_app_context() and LIMIT_STORE in current_app.extensions:
            return current_app.extensions[LIMIT_STORE][1]  # type: ignore[no-any-return]
        return super().limiter


login_manager = LoginManager()
csrf = CSRFProtect()
# Keyed by request.remote_addr: the socket's peer, or the client a trusted proxy names
# (CONTINUUM_TRUSTED_PROXIES, werkzeug's ProxyFix in create_app).
limiter = AppLimiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


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
