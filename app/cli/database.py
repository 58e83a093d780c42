"""``continuum db`` and ``reference``: the schema and the reference data every organisation
shares, both written as the schema owner."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli.common import current_settings, migrate, owner_session

# --- db -------------------------------------------------------------------------------------


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to a revision (as the schema owner)."""
    from app.migrate import upgrade

    migrate(upgrade, current_settings(), revision)
    click.echo(f"database at {revision}")


@db_group.command("roles-sql")
def db_roles_sql() -> None:
    """Print what a PostgreSQL superuser runs once before the first migration, where the schema
    owner may not create roles: the readers' role (named after CONTINUUM_APP_DB_ROLE)."""
    from tenants.postgres import roles_sql

    click.echo(roles_sql(current_settings().app_db_role))


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to a revision."""
    from app.migrate import downgrade

    downgrade(current_settings(), revision)
    click.echo(f"database at {revision}")


# --- reference ------------------------------------------------------------------------------


@click.group("reference", cls=AppGroup)
def reference_group() -> None:
    """Reference data shared by every organisation."""


@reference_group.command("load")
def reference_load() -> None:
    """Load the prison register shipped with Continuum (add new prisons, update changed ones)."""
    from app.services.platform.reference import load_prisons

    with owner_session() as session:
        added, updated = load_prisons(session)
    click.echo(f"prisons: {added} added, {updated} updated")
