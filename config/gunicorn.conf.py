"""Gunicorn's settings for serving Continuum in production (docs/production.md):

    uv run gunicorn -c config/gunicorn.conf.py 'app:create_app()'

Everything comes from Continuum's own settings (config/settings.py), read once from the
environment here as in every worker, so the address, the worker count and the rules production
refuses to start without are one set of ``CONTINUUM_*`` variables. Gunicorn's own command-line
options still win; ``on_starting`` then checks the worker count really started.
"""

from __future__ import annotations

import sys
from typing import Any

from app.logs import GUNICORN_LOGCONFIG
from config import SettingsError, UnsafeProductionSettings, load_settings, refuse_unsafe_production

try:
    _settings = load_settings()
except SettingsError as exc:
    # The operator's mistake, said plainly: no traceback to read past.
    sys.exit(f"continuum: {exc}")

bind = [_settings.bind]
workers = _settings.effective_workers
# Threads let one worker wait on the database for one request while serving another.
worker_class = "gthread"
threads = 4
# Each worker builds its own app after the fork: a database pool or a Redis connection opened in
# the master and shared by forked children would interleave their traffic on one socket.
preload_app = False
# A worker silent this long is killed and replaced (a request stuck on a lock, say).
timeout = 60
graceful_timeout = 30
# Requests go on being served while a worker restarts; long-lived keep-alives are the proxy's job.
keepalive = 5
# Only the app's ProxyFix (CONTINUUM_TRUSTED_PROXIES) decides which forwarded headers to believe;
# gunicorn's own default believes X-Forwarded-Proto from 127.0.0.1.
forwarded_allow_ips = ""
# Every line JSON (app/logs.py, docs/production.md "Logs"): the app writes one access line per
# request itself, with its request id; gunicorn's own access line would copy the decoded path,
# where %0a starts a forged line, and the query string, where search terms about people travel.
accesslog = None
errorlog = "-"
logconfig_dict = GUNICORN_LOGCONFIG


def on_starting(server: Any) -> None:
    """Refuse, before any worker starts, a production configuration unsafe for the number of
    workers really asked for (the command line's ``--workers`` included)."""
    try:
        refuse_unsafe_production(_settings, workers=server.cfg.workers)
    except UnsafeProductionSettings as exc:
        server.log.error("%s", exc)
        sys.exit(1)
