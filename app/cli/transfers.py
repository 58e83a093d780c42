"""``continuum movements``, ``services``, ``outbox`` and ``transfers``: cases between charities.

The operator feeds in prison movements (each may propose a transfer), moves a prison's service
to another charity, emails the transfer notifications waiting in the outbox, and lapses the
offers nobody answered in time (daily).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli.common import app_sessions, current_settings, exit_invalid, owner_session, root_key
from app.domain.errors import InvalidInput, NotFound
from app.extensions import app_clock

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
    from app.services.platform.audit import Origin
    from app.services.platform.vault import vault_for
    from app.services.transfers import movements

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = movements.read_movement_file(handle)
    except movements.MovementFileLayoutError as exc:
        raise click.UsageError(f"{path.name}: {exc}") from None
    with app_sessions()() as session:
        try:
            summary = movements.import_movements(
                session,
                Origin("cli movements import", app_clock()),
                vault_for(session, root_key()),
                rows,
                offer_days=current_settings().transfer_offer_days,
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
    from app.services.platform.audit import Origin
    from app.services.platform.reference import organisation_by_slug
    from app.services.platform.vault import vault_for
    from app.services.transfers import contract_change

    prison_code = prison_code.strip().upper()
    origin = Origin("cli services transfer-prison", app_clock())
    with owner_session() as owner, app_sessions()() as session:
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
                vault_for(session, root_key()),
                prison_code=prison_code,
                to_charity_id=charity.id,
                on=on.date(),
                offer_days=current_settings().transfer_offer_days,
            )
        except InvalidInput as exc:
            exit_invalid(exc)
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
    from app.services.transfers import outbox

    settings = current_settings()
    if not settings.smtp_host:
        click.echo("no mail server is configured (CONTINUUM_SMTP_HOST): nothing was sent")
        return
    with app_sessions()() as session:
        run = outbox.send_notifications(
            session, settings, app_clock(), outbox.smtp_mailer(settings)
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
    from app.services.platform.audit import Origin
    from app.services.platform.reference import charities
    from app.services.transfers import expire_overdue

    origin = Origin("cli transfers expire", app_clock())
    lapsed = 0
    with app_sessions()() as session:
        for charity in charities(session):
            lapsed += expire_overdue(session, origin, charity.id)
            session.commit()
    click.echo(f"offers lapsed: {lapsed}")
