"""The ``continuum`` command: Flask's CLI with the platform's own commands."""

from __future__ import annotations

import getpass
import json
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from app.models import Organisation
    from app.security.keyring import LocalRootKey

from app.db import make_engine, make_session_factory
from app.demo_records import DEMO_FAMILIES
from app.domain.clock import system_clock
from app.domain.errors import InvalidInput, NotFound
from config import Settings, load_settings
from tenants.permissions import Role


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


# --- db -------------------------------------------------------------------------------------


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to a revision (as the schema owner)."""
    from app.migrate import upgrade

    upgrade(_settings(), revision)
    click.echo(f"database at {revision}")


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
    from app.services import accounts
    from app.services.reference import organisation_by_slug

    if password_from == "prompt":  # noqa: S105 - an option value, not a password
        password = getpass.getpass("Password: ")
    else:
        password = secrets.token_urlsafe(15)
    with _app_factory()() as session:
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
            _fail(exc)
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
    from app.services import accounts
    from app.services.reference import organisation_by_slug

    with _app_factory()() as session:
        try:
            organisation = organisation_by_slug(session, org_slug)
        except NotFound:
            raise click.BadParameter(f"no organisation {org_slug!r}", param_hint="--org") from None
        user = accounts.find_user(session, organisation.id, username)
        if user is None:
            raise click.BadParameter(f"no user {username!r} at {org_slug}", param_hint="--username")
        try:
            secret, token = accounts.create_api_token(
                session, user, token_name, system_clock(), _settings().api_token_days
            )
        except InvalidInput as exc:
            _fail(exc)
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
    from app.services import oauth_clients
    from app.services.audit import Origin
    from app.services.reference import organisation_by_slug

    with _owner_session() as session:
        try:
            organisation = organisation_by_slug(session, org_slug)
        except NotFound:
            raise click.BadParameter(f"no organisation {org_slug!r}", param_hint="--org") from None
        try:
            client, secret = oauth_clients.create_client(
                session, organisation, client_name, Origin("cli clients create", system_clock)
            )
        except InvalidInput as exc:
            _fail(exc)
    click.echo(f"client {client.name!r} for {org_slug}")
    click.echo(f"client_id: {client.client_id}")
    click.echo(f"client_secret (shown once): {secret}")


@clients_group.command("list")
def clients_list() -> None:
    """Every client: id, organisation, name, created, revoked."""
    from app.services import oauth_clients

    with _app_factory()() as session:
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
    from app.services import oauth_clients
    from app.services.audit import Origin

    with _owner_session() as session:
        try:
            client = oauth_clients.revoke_client(
                session, client_id, Origin("cli clients revoke", system_clock)
            )
        except NotFound:
            raise click.BadParameter(f"no client {client_id!r}", param_hint="CLIENT_ID") from None
        click.echo(f"client {client.client_id} revoked {client.revoked_at:%Y-%m-%d %H:%M} UTC")


# --- audit ----------------------------------------------------------------------------------


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """The audit log's hash chains."""


def _signing_key_path() -> Path:
    return _settings().instance_path / "audit-signing.key"


@audit_group.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the signed checkpoints here (default: standard output)",
)
def audit_checkpoint(out: Path | None) -> None:
    """Sign the head of every chain; keep the output somewhere the database's admins cannot edit."""
    from app.domain.audit_chain import sign_checkpoint
    from app.security.signing import key_id, load_or_create_signing_key, public_key_text
    from app.services import audit

    key = load_or_create_signing_key(_signing_key_path())
    kid = key_id(key.public_key())
    with _app_factory()() as session:
        heads = [audit.last_event(session, chain) for chain in audit.chains(session)]
    checkpoints = [
        sign_checkpoint(head, key, kid, system_clock()).to_dict() for head in heads if head
    ]
    document = json.dumps(
        {"public_key": public_key_text(key.public_key()), "checkpoints": checkpoints}, indent=2
    )
    if out is None:
        click.echo(document)
    else:
        out.write_text(document + "\n")
        click.echo(f"{len(checkpoints)} checkpoints written to {out}")


def _checkpoint_failures(session: Session, path: Path) -> list[str]:
    """Every checkpoint in the file that is not signed by our key or no longer holds."""
    from app.domain.audit_chain import Checkpoint, verify_checkpoint
    from app.security.signing import load_or_create_signing_key
    from app.services import audit

    public = load_or_create_signing_key(_signing_key_path()).public_key()
    failures = []
    for entry in json.loads(path.read_text())["checkpoints"]:
        checkpoint = Checkpoint.from_dict(entry)
        if not verify_checkpoint(checkpoint, public):
            failures.append(f"BAD SIGNATURE {checkpoint.chain} at sequence {checkpoint.sequence}")
        elif not audit.checkpoint_holds(session, checkpoint):
            failures.append(
                f"REWRITTEN {checkpoint.chain}: sequence {checkpoint.sequence} no longer has "
                "the signed hash"
            )
    return failures


@audit_group.command("verify")
@click.option("--chain", "only", default=None, help="one chain: a charity's id, or platform")
@click.option(
    "--checkpoints",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="also check signed checkpoints from `audit checkpoint`",
)
def audit_verify(only: str | None, checkpoints: Path | None) -> None:
    """Check every chain (or one) from its first event; exit 1 if any is broken."""
    from app.services import audit

    broken = False
    # The app role may read the audit log; it may not change it (SELECT and INSERT only).
    with _app_factory()() as session:
        chains = [only] if only else audit.chains(session)
        if not chains:
            click.echo("no audit events yet")
        for chain in chains:
            result = audit.verify(session, chain)
            if result.ok:
                click.echo(f"ok {chain} {result.checked} events")
            else:
                broken = True
                click.echo(
                    f"BROKEN {chain} at sequence {result.first_bad_sequence}: {result.reason}"
                )
        if checkpoints is not None:
            for failure in _checkpoint_failures(session, checkpoints):
                broken = True
                click.echo(failure)
    if broken:
        sys.exit(1)


# --- keys -----------------------------------------------------------------------------------


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Charities' data keys (wrapped under the root key; no key material is ever printed)."""


def _root_key() -> LocalRootKey:
    from app.security.keyring import LocalRootKey

    return LocalRootKey.from_file(_settings().effective_root_key_file)


@keys_group.command("rotate")
@click.option("--charity", "slug", required=True, help="charity slug, e.g. pops")
def keys_rotate(slug: str) -> None:
    """Add a charity's next data key version: new data is written under it, old stays readable."""
    from app.services.keys import rotate_charity_key

    with _app_factory()() as session:
        charity = _charity(session, slug)
        version = rotate_charity_key(session, _root_key(), charity.id)
    click.echo(f"{slug}: data key version {version} is now current")


@keys_group.command("status")
def keys_status() -> None:
    """Each charity's data key versions and when they were made."""
    from app.services.keys import SqlKeyStore
    from app.services.reference import charities

    with _app_factory()() as session:
        store = SqlKeyStore(session)
        for charity in charities(session):
            versions = store.wrapped_keys(charity.id)
            if not versions:
                click.echo(f"{charity.slug}: no data key")
                continue
            latest = versions[-1]
            made = f"{latest.created_at:%Y-%m-%d}" if latest.created_at else "?"
            click.echo(
                f"{charity.slug}: version {latest.version} current (made {made}), "
                f"{len(versions)} in all"
            )


# --- import ---------------------------------------------------------------------------------


@click.group("import", cls=AppGroup)
def import_group() -> None:
    """Bring a charity's records in from other systems."""


@import_group.command("cases")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--charity", "slug", required=True, help="charity slug, e.g. pops")
def import_cases(path: Path, slug: str) -> None:
    """Open a case for every row of a CSV file (columns: README.md), all or nothing.

    Exits 1, writing nothing, if any row is refused; every problem is listed."""
    from app.services import imports
    from app.services.audit import Origin
    from app.services.vault import vault_for
    from tenants.guard import bind_tenant

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = imports.read_case_file(handle)
    except imports.CaseFileLayoutError as exc:
        raise click.UsageError(f"{path.name}: {exc}") from None
    with _app_factory()() as session:
        charity = _charity(session, slug)
        context = imports.import_context(session, charity.id)
        bind_tenant(session, context)
        try:
            count = imports.import_cases(
                session,
                context,
                Origin("cli import", system_clock),
                vault_for(session, _root_key()),
                rows,
            )
        except imports.CaseFileRejected as exc:
            for problem in exc.problems:
                click.echo(f"row {problem.row}, {problem.column}: {problem.reason}", err=True)
            bad_rows = len({problem.row for problem in exc.problems})
            click.echo(
                f"{len(exc.problems)} problems in {bad_rows} of {len(rows)} rows: "
                "nothing was imported",
                err=True,
            )
            sys.exit(1)
    click.echo(f"imported {count} cases for {slug}")


# --- transfers: movements, contract changes, the outbox, expiry ------------------------------


@click.group("movements", cls=AppGroup)
def movements_group() -> None:
    """Prison movement feeds: the platform's way into a transfer."""


@movements_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def movements_import(path: Path) -> None:
    """Propose a transfer for each open case whose person in custody moved to a prison another
    member charity serves (columns: docs/examples/movements.md), all rows or none.

    Exits 1, writing nothing, if any row is refused; every problem is listed."""
    from app.services import movements
    from app.services.audit import Origin
    from app.services.vault import vault_for

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = movements.read_movement_file(handle)
    except movements.MovementFileLayoutError as exc:
        raise click.UsageError(f"{path.name}: {exc}") from None
    with _app_factory()() as session:
        try:
            summary = movements.import_movements(
                session,
                Origin("cli movements import", system_clock),
                vault_for(session, _root_key()),
                rows,
                offer_days=_settings().transfer_offer_days,
            )
        except movements.MovementFileRejected as exc:
            for problem in exc.problems:
                click.echo(f"row {problem.row}, {problem.column}: {problem.reason}", err=True)
            bad_rows = len({problem.row for problem in exc.problems})
            click.echo(
                f"{len(exc.problems)} problems in {bad_rows} of {len(rows)} rows: "
                "nothing was imported",
                err=True,
            )
            sys.exit(1)
    click.echo(f"rows read: {summary.rows}")
    click.echo(f"transfers proposed: {len(summary.proposed)}")
    click.echo(f"moves within one charity: {summary.within_one_charity}")
    click.echo(f"moves to or from a prison no member serves: {summary.not_served}")
    click.echo(f"rows matching no open case: {summary.unmatched}")
    click.echo(f"cases skipped, a transfer already under way: {summary.skipped}")


@click.group("services", cls=AppGroup)
def services_group() -> None:
    """Which charity serves which prison."""


@services_group.command("transfer-prison")
@click.option("--prison", "prison_code", required=True, help="prison code, e.g. LPI")
@click.option("--to", "slug", required=True, help="the charity taking the service over")
@click.option(
    "--on",
    "on",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="the new charity's first day (YYYY-MM-DD)",
)
def services_transfer_prison(prison_code: str, slug: str, on: datetime) -> None:
    """Move a prison's service to another charity on a day, and offer it every open case of
    the old charity there, each only with the family's consent; the cases without it are listed
    for follow-up and stay with the old charity. Safe to run again."""
    from app.services import contract_change
    from app.services.audit import Origin
    from app.services.reference import organisation_by_slug
    from app.services.vault import vault_for

    prison_code = prison_code.strip().upper()
    origin = Origin("cli services transfer-prison", system_clock)
    with _owner_session() as owner, _app_factory()() as session:
        try:
            # Looked up by the owner: the app's session starts only after the service changed.
            charity = organisation_by_slug(owner, slug)
        except NotFound:
            raise click.BadParameter(f"no organisation {slug!r}", param_hint="--to") from None
        try:
            result = contract_change.transfer_prison(
                owner,
                session,
                origin,
                vault_for(session, _root_key()),
                prison_code=prison_code,
                to_charity_id=charity.id,
                on=on.date(),
                offer_days=_settings().transfer_offer_days,
            )
        except InvalidInput as exc:
            _fail(exc)
    change = result.service
    done = "moved" if change.changed else "had already moved"
    click.echo(f"{prison_code}: the service {done} to {slug} from {change.on.isoformat()}")
    click.echo(f"cases offered to {slug}: {len(result.offered)}")
    if result.awaiting_consent:
        click.echo(
            f"cases waiting for the family's consent to {slug} (follow up): "
            f"{len(result.awaiting_consent)}"
        )
        for reference in result.awaiting_consent:
            click.echo(f"  {reference}")
    if result.under_way:
        click.echo(f"cases with another transfer already under way: {len(result.under_way)}")
        for reference in result.under_way:
            click.echo(f"  {reference}")
    if result.failed:
        for reference, why in result.failed:
            click.echo(f"error: {reference}: {why}", err=True)
        sys.exit(1)


@click.group("outbox", cls=AppGroup)
def outbox_group() -> None:
    """Transfer notifications waiting to be emailed."""


@outbox_group.command("send")
def outbox_send() -> None:
    """Email every unsent notification to its charity's transfers inbox (no personal data is
    in them). Exits 1 if any could not be sent; they stay in the outbox for the next run."""
    from app.services import outbox

    settings = _settings()
    if not settings.smtp_host:
        click.echo("no mail server is configured (CONTINUUM_SMTP_HOST): nothing was sent")
        return
    with _app_factory()() as session:
        run = outbox.send_notifications(
            session, settings, system_clock, outbox.smtp_mailer(settings)
        )
    click.echo(f"sent: {run.sent}")
    if run.no_address:
        click.echo(f"waiting, the charity has no notification address: {run.no_address}")
    if run.given_up:
        click.echo(f"not tried, refused {outbox.MOST_ATTEMPTS} times already: {run.given_up}")
    if run.failed:
        click.echo(f"error: {run.failed} could not be sent; they stay in the outbox", err=True)
        sys.exit(1)


@click.group("transfers", cls=AppGroup)
def transfers_group() -> None:
    """Transfers of cases between charities."""


@transfers_group.command("expire")
def transfers_expire() -> None:
    """Lapse every offer nobody answered in time: the package is voided and the sending
    charity's case is active again. Run it daily."""
    from app.services.audit import Origin
    from app.services.reference import charities
    from app.services.transfers import expire_overdue

    origin = Origin("cli transfers expire", system_clock)
    lapsed = 0
    with _app_factory()() as session:
        for charity in charities(session):
            lapsed += expire_overdue(session, origin, charity.id)
            session.commit()
    click.echo(f"offers lapsed: {lapsed}")


# --- demo -----------------------------------------------------------------------------------


HISTORIES_AT_MOST = 20_000


def _seed_national(families: int, today: date) -> int:
    """The national-scale families, written in bulk through the app role, each charity's under
    its own tenant context (app.demo_national)."""
    from app.demo_national import seed_national

    written = seed_national(_app_factory(), _root_key(), families, today)
    return sum(written.families.values())


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
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="the day the histories lead up to (default: today)",
)
@click.option(
    "--national",
    is_flag=True,
    help="write the families in bulk at national scale (app.demo_national), without transfers",
)
def demo(
    host: str, port: int, no_serve: bool, families: int, today: datetime | None, national: bool
) -> None:
    """Create and migrate the database, load demo data, print the logins, and serve."""
    if families > HISTORIES_AT_MOST and not national:
        raise click.BadParameter(
            f"at most {HISTORIES_AT_MOST:,} full histories; add --national for more",
            param_hint="--families",
        )
    from app import demo as demo_data
    from app.demo_records import seed_histories
    from app.migrate import upgrade

    settings = _settings()
    upgrade(settings)
    with _owner_session() as owner:
        organisations = demo_data.seed_reference(owner)
        organisation_ids = {slug: org.id for slug, org in organisations.items()}
    with _app_factory()() as session:
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
    from app.services.keys import ensure_charity_keys

    with _app_factory()() as session:
        ensure_charity_keys(session, _root_key())
    started = time.perf_counter()
    if national:
        created = _seed_national(families, today.date() if today else date.today())
    else:
        created = seed_histories(
            _app_factory(),
            _root_key(),
            organisation_ids,
            today.date() if today else date.today(),
            families,
        ).created
    seconds = time.perf_counter() - started
    from app.demo_releases import seed_releases

    day = today.date() if today else date.today()
    seed_releases(_app_factory(), _owner_session, organisation_ids, day, settings)
    url = f"http://{host}:{port}"
    added = f"added {created} case histories in {seconds:.1f} s" if created else "data reused"
    click.echo(f"\nContinuum demo ({added})")
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
    from app import demo as demo_data

    credentials = demo_data._load_credentials(demo_data.credentials_path(_settings().instance_path))
    if who not in credentials:
        raise click.BadParameter(f"no demo user {who!r}; run `continuum demo` first")
    click.echo(demo_data.current_code(credentials[who], time.time()))


def _serve(app: Flask, host: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            # Paths only: query strings could carry search terms about people.
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss')

        def load(self) -> Flask:
            return app

    _Server().run()


def register_cli(app: Flask) -> None:
    from app.cli_releases import releases_group

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
