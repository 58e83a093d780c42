"""The application factory: settings in, a Flask app with its walls, blueprints and CLI out."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from app.db import make_engine, make_session_factory
from app.domain.clock import Clock, system_clock
from app.extensions import Continuum, csrf, limiter, login_manager
from app.logs import init_logging
from app.security.keyring import LocalRootKey
from app.security.sealing import Sealer
from config import Settings, load_settings, refuse_unsafe_production


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> Flask:
    """The service, configured by ``settings`` and dated by ``clock`` (tests pass their own)."""
    settings = settings or load_settings()
    # Before anything is generated or bound: production never runs on a developer's settings.
    refuse_unsafe_production(settings)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        static_folder="web/static",
        template_folder="web/templates",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_NAME="continuum_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        # A form stays valid for the life of the session it was served in.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=1024 * 1024,
        RATELIMIT_STORAGE_URI=settings.rate_limit_storage_uri,
        API_TITLE="Continuum API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    # The instance folder holds the generated keys even when the database is elsewhere.
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    app.extensions["continuum"] = Continuum(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine, clock=clock),
        totp_sealer=Sealer(settings.secret_key, "totp"),
        root_key=LocalRootKey.from_file(settings.effective_root_key_file),
        clock=clock,
    )

    from app.api import init_api
    from app.http.errors import init_errors
    from app.http.gate import init_gate
    from app.http.headers import init_headers
    from app.http.health import PROBES
    from app.web import init_web
    from tenants import flask as tenant_binding

    tenant_binding.init_app(app)
    login_manager.init_app(app)
    # Who is asking is settled first (deny by default), then CSRF, then rate limits; the web
    # and the API each register their authenticator with the gate.
    init_gate(app)
    init_headers(app)
    init_web(app)
    csrf.init_app(app)
    limiter.init_app(app)
    init_api(app)
    # After flask-smorest (init_api), whose own handler would answer HTML pages with JSON and
    # drop headers.
    init_errors(app)

    from app.cli.groups import register_cli

    register_cli(app)
    _front(app, settings, engine)
    init_logging(app, probes=PROBES)
    return app


def _front(app: Flask, settings: Settings, engine: Engine) -> None:
    """What sits in front of the app: the probes first, then the trusted proxies' headers."""
    from app.http.health import HealthChecks, MigrationsAtHead
    from app.migrate import MIGRATIONS

    if settings.trusted_proxies:
        # Each trusted proxy appends the address it saw; the client is the one the nearest of
        # them names. Anything further left was written by the client and is not believed.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.wsgi_app = HealthChecks(app.wsgi_app, MigrationsAtHead(engine, MIGRATIONS))  # type: ignore[method-assign]
