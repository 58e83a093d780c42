"""What every command group shares: the settings, the app's and the schema owner's sessions, the
root key, the ``--charity`` lookup, input errors and migration steps."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from app.models import Organisation
    from app.security.keyring import LocalRootKey

from app.db import make_engine, make_session_factory
from app.domain.errors import InvalidInput, NotFound
from config import Settings


def current_settings() -> Settings:
    return current_app.extensions["continuum"].settings


def app_sessions() -> sessionmaker[Session]:
    """The app role's session factory."""
    return current_app.extensions["continuum"].session_factory


@contextmanager
def owner_session() -> Iterator[Session]:
    """Reference data is written by the schema owner; the app role may only read it."""
    settings = current_settings()
    if settings.effective_migration_url == settings.effective_database_url:
        with app_sessions()() as session:
            yield session
        return
    engine = make_engine(settings.effective_migration_url)
    try:
        with make_session_factory(engine, walls=False)() as session:
            yield session
    finally:
        engine.dispose()


def charity_named(session: Session, slug: str) -> Organisation:
    """The charity a ``--charity`` option names, or a usage error saying what is wrong."""
    from app.services.platform.reference import organisation_by_slug

    try:
        charity = organisation_by_slug(session, slug)
    except NotFound:
        raise click.BadParameter(f"no organisation {slug!r}", param_hint="--charity") from None
    if not charity.is_charity:
        raise click.BadParameter(f"{slug} is not a charity", param_hint="--charity")
    return charity


def exit_invalid(exc: InvalidInput) -> None:
    """Print each refused field's messages and exit 2 (a usage error)."""
    for field, messages in exc.errors.items():
        for message in messages:
            click.echo(f"error: {field}: {message}", err=True)
    sys.exit(2)


def root_key() -> LocalRootKey:
    """The root key the charities' data keys are wrapped under."""
    from app.security.keyring import LocalRootKey

    return LocalRootKey.from_file(current_settings().effective_root_key_file)


def migrate(step: Callable[..., None], *args: object) -> None:
    """Run a migration step; a role the owner may not create is the operator's to make, said
    plainly (the SQL to run), not a traceback."""
    from tenants.postgres import MissingRole

    try:
        step(*args)
    except MissingRole as exc:
        raise click.ClickException(str(exc)) from None
