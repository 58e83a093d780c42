"""``continuum users``, ``tokens`` and ``clients``: who may reach Continuum.

The operator creates staff accounts here (each user replaces the password at first sign-in),
personal API tokens for them, and the ministry's OAuth2 clients; every secret is shown once
and stored only as a digest.
"""

from __future__ import annotations

import getpass
import secrets

import click
from flask.cli import AppGroup

from app.cli.common import app_sessions, current_settings, exit_invalid, owner_session
from app.domain.errors import InvalidInput, NotFound
from app.extensions import app_clock
from tenants.permissions import Role

# --- users and tokens -----------------------------------------------------------------------


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.option("--org", "org_slug", required=True, help="organisation slug, e.g. pops")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--prison", "prisons", multiple=True, help="prison code the user may see; repeat")
@click.option(
    "--password",
    "password_from",
    type=click.Choice(["prompt", "generate"]),
    default="generate",
    show_default=True,
)
def users_create(
    org_slug: str,
    username: str,
    display_name: str,
    role: str,
    prisons: tuple[str, ...],
    password_from: str,
) -> None:
    """Create a member of staff; at first sign-in they set up their authenticator app and
    choose their own password."""
    from app.services.accounts import accounts
    from app.services.platform.reference import organisation_by_slug

    if password_from == "prompt":  # noqa: S105 - an option value, not a password
        password = getpass.getpass("Password: ")
    else:
        password = secrets.token_urlsafe(15)
    with app_sessions()() as session:
        try:
            organisation = organisation_by_slug(session, org_slug)
            accounts.create_user(
                session,
                organisation,
                username=username,
                display_name=display_name,
                role=Role(role),
                password=password,
                prison_codes=prisons,
                # Whoever ran the command knows the password: the user replaces it at sign-in.
                must_change_password=True,
            )
            session.commit()
        except NotFound:
            raise click.BadParameter(f"no organisation {org_slug!r}", param_hint="--org") from None
        except InvalidInput as exc:
            exit_invalid(exc)
    click.echo(f"created {username} at {org_slug}")
    if password_from == "generate":  # noqa: S105 - an option value, not a password
        click.echo(f"password (shown once): {password}")


@click.group("tokens", cls=AppGroup)
def tokens_group() -> None:
    """Personal API tokens."""


@tokens_group.command("create")
@click.option("--org", "org_slug", required=True)
@click.option("--username", required=True)
@click.option("--name", "token_name", default="cli", show_default=True)
def tokens_create(org_slug: str, username: str, token_name: str) -> None:
    """Create a personal API token for a user. It is shown once and stored only as a digest."""
    from app.services.accounts import accounts
    from app.services.platform.reference import organisation_by_slug

    with app_sessions()() as session:
        try:
            organisation = organisation_by_slug(session, org_slug)
        except NotFound:
            raise click.BadParameter(f"no organisation {org_slug!r}", param_hint="--org") from None
        user = accounts.find_user(session, organisation.id, username)
        if user is None:
            raise click.BadParameter(f"no user {username!r} at {org_slug}", param_hint="--username")
        try:
            secret, token = accounts.create_api_token(
                session, user, token_name, app_clock()(), current_settings().api_token_days
            )
        except InvalidInput as exc:
            exit_invalid(exc)
    click.echo(
        f"token for {username}@{org_slug}, expires {token.expires_at:%Y-%m-%d} (shown once):"
    )
    click.echo(secret)


# --- the ministry's API clients -------------------------------------------------------------


@click.group("clients", cls=AppGroup)
def clients_group() -> None:
    """The ministry's API clients (OAuth2 client credentials, scope metrics:read)."""


@clients_group.command("create")
@click.option("--org", "org_slug", required=True, help="organisation slug: ministry")
@click.option("--name", "client_name", required=True, help='e.g. "BI system"')
def clients_create(org_slug: str, client_name: str) -> None:
    """Create a client; its secret is shown once and stored only as a digest. Written as the
    schema owner: the application itself may only read clients."""
    from app.services.accounts import oauth_clients
    from app.services.platform.audit import Origin
    from app.services.platform.reference import organisation_by_slug

    with owner_session() as session:
        try:
            organisation = organisation_by_slug(session, org_slug)
        except NotFound:
            raise click.BadParameter(f"no organisation {org_slug!r}", param_hint="--org") from None
        try:
            client, secret = oauth_clients.create_client(
                session, organisation, client_name, Origin("cli clients create", app_clock())
            )
        except InvalidInput as exc:
            exit_invalid(exc)
    click.echo(f"client {client.name!r} for {org_slug}")
    click.echo(f"client_id: {client.client_id}")
    click.echo(f"client_secret (shown once): {secret}")


@clients_group.command("list")
def clients_list() -> None:
    """Every client: id, organisation, name, created, revoked."""
    from app.services.accounts import oauth_clients

    with app_sessions()() as session:
        for client in oauth_clients.list_clients(session):
            revoked = f"revoked {client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "live"
            click.echo(
                f"{client.client_id}  {client.organisation.slug}  {client.name!r}  "
                f"created {client.created_at:%Y-%m-%d}  {revoked}"
            )


@clients_group.command("revoke")
@click.argument("client_id")
def clients_revoke(client_id: str) -> None:
    """Revoke a client: no new token, and the tokens it holds stop working at once."""
    from app.services.accounts import oauth_clients
    from app.services.platform.audit import Origin

    with owner_session() as session:
        try:
            client = oauth_clients.revoke_client(
                session, client_id, Origin("cli clients revoke", app_clock())
            )
        except NotFound:
            raise click.BadParameter(f"no client {client_id!r}", param_hint="CLIENT_ID") from None
        click.echo(f"client {client.client_id} revoked {client.revoked_at:%Y-%m-%d %H:%M} UTC")
