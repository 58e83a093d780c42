"""``continuum demo`` and ``demo-code``: a working Continuum on a laptop, with synthetic data.

``demo`` migrates the database, loads reference data, demo users and synthetic family histories
with national-scale background families beside them (all in bulk with ``--national``), publishes
the last four finished quarters, prints the logins and serves the app; ``demo-code`` prints a demo
user's current authenticator code. Demo credentials only.
"""

from __future__ import annotations

import time
from datetime import date, datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.cli.common import app_sessions, current_settings, migrate, owner_session, root_key
from app.demo.national import BACKGROUND_FAMILIES
from app.demo.records import DEMO_FAMILIES
from app.domain.clock import today as utc_today
from app.extensions import app_clock

# --- demo -----------------------------------------------------------------------------------


HISTORIES_AT_MOST = 20_000


def _seed_national(families: int, today: date) -> int:
    """The national-scale families, written in bulk through the app role, each charity's under
    its own tenant context (app.demo.national)."""
    from app.demo.national import seed_national

    written = seed_national(app_sessions(), root_key(), families, today)
    _analyze()
    return sum(written.families.values())


def _seed_background(families: int, today: date) -> int:
    """The background beside the histories, in bulk as ``--national`` writes (app.demo.national),
    from half a year before the first quarter the demo publishes (app.demo.releases)."""
    from app.demo.national import seed_background
    from app.demo.releases import release_quarters

    first = release_quarters(today)[0]
    written = seed_background(app_sessions(), root_key(), families, today, first)
    if written.families:
        _analyze()
    return sum(written.families.values())


def _analyze() -> None:
    """Planner statistics for what was just bulk-loaded, as the tables' owner (only an owner may
    ANALYZE): autovacuum would gather them within minutes, but a release built before then is
    planned as if the tables were empty (27 s instead of a fraction of a second at 300
    families, bench/README.md)."""
    from sqlalchemy import text

    with owner_session() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()


@click.command("demo")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="set up the demo data and stop")
@click.option(
    "--families",
    default=DEMO_FAMILIES,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="how many synthetic family histories to write at first run (over 20,000: --national)",
)
@click.option(
    "--background",
    default=BACKGROUND_FAMILIES,
    show_default=True,
    type=click.IntRange(0, HISTORIES_AT_MOST * 5),
    help="national-scale families written in bulk beside the histories at first run, so most "
    "published figures are large enough to show (0: none; not added with --national)",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="the day the histories lead up to (default: today)",
)
@click.option(
    "--national",
    is_flag=True,
    help="write the families in bulk at national scale (app.demo.national), without transfers",
)
def demo(
    host: str,
    port: int,
    no_serve: bool,
    families: int,
    background: int,
    today: datetime | None,
    national: bool,
) -> None:
    """Create and migrate the database, load demo data, print the logins, and serve."""
    if families > HISTORIES_AT_MOST and not national:
        raise click.BadParameter(
            f"at most {HISTORIES_AT_MOST:,} full histories; add --national for more",
            param_hint="--families",
        )
    from app.demo import charities as demo_data
    from app.demo.records import seed_histories
    from app.migrate import upgrade

    settings = current_settings()
    migrate(upgrade, settings)
    with owner_session() as owner:
        organisations = demo_data.seed_reference(owner)
        organisation_ids = {slug: org.id for slug, org in organisations.items()}
    with app_sessions()() as session:
        from app.models import Organisation

        organisations = {
            slug: session.get_one(Organisation, oid) for slug, oid in organisation_ids.items()
        }
        credentials = demo_data.seed_users(
            session,
            organisations,
            current_app.extensions["continuum"].totp_sealer,
            demo_data.credentials_path(settings.instance_path),
        )
    from app.services.platform.keys import ensure_charity_keys

    with app_sessions()() as session:
        ensure_charity_keys(session, root_key())
    # The day the histories lead up to: --today, or today by the app's clock (a UTC day).
    day = today.date() if today else utc_today(app_clock())
    started = time.perf_counter()
    added = 0
    if national:
        created = _seed_national(families, day)
    else:
        seeded = seed_histories(app_sessions(), root_key(), organisation_ids, day, families)
        created = seeded.created
        added = _seed_background(background, day) if background else 0
    seconds = time.perf_counter() - started
    from app.demo.releases import seed_releases

    seed_releases(app_sessions(), owner_session, organisation_ids, day, settings)
    url = f"http://{host}:{port}"
    parts = [f"{created} case histories"] if created else []
    parts += [f"{added:,} background families"] if added else []
    added_now = f"added {' and '.join(parts)} in {seconds:.1f} s" if parts else "data reused"
    click.echo(f"\nContinuum demo ({added_now})")
    click.echo(f"database: {settings.effective_database_url}")
    click.echo(f"credentials file: {demo_data.credentials_path(settings.instance_path)}\n")
    click.echo(f"{'sign-in page':<44} {'username':<20} {'password':<24} TOTP secret")
    for entry in credentials.values():
        page = f"{url}/o/{entry['organisation']}/login"
        click.echo(
            f"{page:<44} {entry['username']:<20} {entry['password']:<24} {entry['totp_secret']}"
        )
    click.echo(
        "\nAdd a TOTP secret to an authenticator app, or print the current code with\n"
        "  uv run continuum demo-code ORG/USERNAME   (e.g. pops/liverpool.worker)\n"
    )
    if no_serve:
        return
    click.echo(f"Serving on {url}  (Ctrl+C to stop)")
    _serve(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


@click.command("demo-code")
@with_appcontext
@click.argument("who")
def demo_code(who: str) -> None:
    """Print the current TOTP code of a demo user (ORG/USERNAME); demo credentials only."""
    from app.demo import charities as demo_data

    credentials = demo_data._load_credentials(
        demo_data.credentials_path(current_settings().instance_path)
    )
    if who not in credentials:
        raise click.BadParameter(f"no demo user {who!r}; run `continuum demo` first")
    click.echo(demo_data.current_code(credentials[who], app_clock()().timestamp()))


def _serve(app: Flask, host: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    from app.logs import GUNICORN_LOGCONFIG

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            # JSON lines, the app's own access line per request (app/logs.py).
            self.cfg.set("accesslog", None)
            self.cfg.set("logconfig_dict", GUNICORN_LOGCONFIG)

        def load(self) -> Flask:
            return app

    _Server().run()
