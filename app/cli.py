"""The ``continuum`` command: Flask's CLI with the platform's own commands.

This module holds what every command group shares (the settings, the app's and the schema
owner's sessions, the root key, the ``--charity`` lookup, input errors), the ``db`` and
``reference`` groups, and ``register_cli``, which adds the groups of every ``app.cli_*`` module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from app.models import Organisation
    from app.security.keyring import LocalRootKey

from app.db import make_engine, make_session_factory
from app.domain.errors import InvalidInput, NotFound
from config import Settings, load_settings


def _settings() -> Settings:
    return current_app.extensions["continuum"].settings


def _app_factory() -> sessionmaker[Session]:
    return current_app.extensions["continuum"].session_factory


@contextmanager
def _owner_session() -> Iterator[Session]:
    """Reference data is written by the schema owner; the app role may only read it."""
    settings = _settings()
    if settings.effective_migration_url == settings.effective_database_url:
        with _app_factory()() as session:
            yield session
        return
    engine = make_engine(settings.effective_migration_url)
    try:
        with make_session_factory(engine, walls=False)() as session:
            yield session
    finally:
        engine.dispose()


def _charity(session: Session, slug: str) -> Organisation:
    """The charity a ``--charity`` option names, or a usage error saying what is wrong."""
    from app.services.reference import organisation_by_slug

    try:
        charity = organisation_by_slug(session, slug)
    except NotFound:
        raise click.BadParameter(f"no organisation {slug!r}", param_hint="--charity") from None
    if not charity.is_charity:
        raise click.BadParameter(f"{slug} is not a charity", param_hint="--charity")
    return charity


def _fail(exc: InvalidInput) -> None:
    for field, messages in exc.errors.items():
        for message in messages:
            click.echo(f"error: {field}: {message}", err=True)
    sys.exit(2)


def _root_key() -> LocalRootKey:
    """The root key the charities' data keys are wrapped under."""
    from app.security.keyring import LocalRootKey

    return LocalRootKey.from_file(_settings().effective_root_key_file)


# --- db -------------------------------------------------------------------------------------


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to a revision (as the schema owner)."""
    from app.migrate import upgrade

    migrate(upgrade, _settings(), revision)
    click.echo(f"database at {revision}")


@db_group.command("roles-sql")
def db_roles_sql() -> None:
    """Print what a PostgreSQL superuser runs once before the first migration, where the schema
    owner may not create roles: the readers' role (named after CONTINUUM_APP_DB_ROLE)."""
    from tenants.postgres import roles_sql

    click.echo(roles_sql(_settings().app_db_role))


def migrate(step: Callable[..., None], *args: object) -> None:
    """Run a migration step; a role the owner may not create is the operator's to make, said
    plainly (the SQL to run), not a traceback."""
    from tenants.postgres import MissingRole

    try:
        step(*args)
    except MissingRole as exc:
        raise click.ClickException(str(exc)) from None


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to a revision."""
    from app.migrate import downgrade

    downgrade(_settings(), revision)
    click.echo(f"database at {revision}")


# --- reference ------------------------------------------------------------------------------


@click.group("reference", cls=AppGroup)
def reference_group() -> None:
    """Reference data shared by every organisation."""


@reference_group.command("load")
def reference_load() -> None:
    """Load the prison register shipped with Continuum (add new prisons, update changed ones)."""
    from app.services.reference import load_prisons

    with _owner_session() as session:
        added, updated = load_prisons(session)
    click.echo(f"prisons: {added} added, {updated} updated")


def register_cli(app: Flask) -> None:
    # Imported here: each command module imports its helpers from this one.
    from app.cli_access import clients_group, tokens_group, users_group
    from app.cli_demo import demo, demo_code
    from app.cli_records import audit_group, import_group, keys_group
    from app.cli_releases import releases_group
    from app.cli_transfers import movements_group, outbox_group, services_group, transfers_group

    for command in (
        db_group,
        reference_group,
        users_group,
        tokens_group,
        clients_group,
        audit_group,
        keys_group,
        import_group,
        movements_group,
        services_group,
        outbox_group,
        transfers_group,
        releases_group,
        demo,
        demo_code,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from app import create_app

    return create_app(load_settings())


main = FlaskGroup(
    create_app=_create_app,
    add_default_commands=True,
    load_dotenv=False,
    help="Continuum: the Prison Family Support Alliance's data-sharing platform.",
)
