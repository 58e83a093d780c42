"""``continuum releases``: sign-offs, builds and publication from the command line (issue 5).

The operator runs these for the alliance: a sign-off is still the charity admin's own act (the
command names the admin, and refuses anyone else), while a build and a publication are recorded
as the command line's ("cli") in the platform chain, as the web's are recorded as the
coordinator's.
"""

from __future__ import annotations

import json
import sys
import uuid

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli.common import app_sessions, charity_named, current_settings, exit_invalid
from app.domain.errors import CannotProtect, Conflict, InvalidInput, NotFound, NotSignedOff
from app.domain.figures.periods import Quarter
from app.extensions import app_clock
from app.models import Organisation
from app.models.releases import Release
from app.services.figures import releases
from app.services.platform.audit import Origin
from tenants.permissions import OrganisationKind, Permission, Role, may

# The steps build_release reports, in order: the progress bar's length.
BUILD_STEPS = 4


@click.group("releases", cls=AppGroup)
def releases_group() -> None:
    """Build and publish the Ministry's quarterly releases."""


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except InvalidInput as exc:
        exit_invalid(exc)
        raise  # unreachable: exit_invalid exits


def _builder(source: str) -> releases.Builder:
    """The command line acts for the alliance, whose platform chain records it."""
    with app_sessions()() as session:
        alliance = session.scalar(
            select(Organisation.id).where(Organisation.kind == OrganisationKind.ALLIANCE.value)
        )
    if alliance is None:
        raise click.UsageError("no alliance organisation: run `continuum demo` or set one up")
    return releases.Builder(None, alliance, Origin(source, app_clock()))


def _refuse(exc: Conflict) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@releases_group.command("sign-off")
@click.option("--charity", "slug", required=True, help="charity slug, e.g. pops")
@click.option("--quarter", "quarter_text", required=True, help="e.g. 2026Q3")
@click.option("--as", "username", required=True, help="the charity admin signing off")
def releases_sign_off(slug: str, quarter_text: str, username: str) -> None:
    """The charity admin's sign-off of the charity's figures for a finished quarter: from then
    on its records in that quarter are locked."""
    from app.services.accounts import accounts
    from app.services.figures.sign_offs import sign_off_quarter

    quarter = _quarter(quarter_text)
    with app_sessions()() as session:
        charity = charity_named(session, slug)
        user = accounts.find_user(session, charity.id, username)
        # Only the charity's own admin signs its figures off; nobody signs for another charity.
        if user is None or not user.active or not may(Role(user.role), Permission.FIGURES_SIGN_OFF):
            raise click.BadParameter(f"{username!r} is not an admin of {slug}", param_hint="--as")
        try:
            sign_off_quarter(
                session,
                charity_id=charity.id,
                quarter=quarter,
                user_id=user.id,
                origin=Origin("cli releases sign-off", app_clock()),
            )
        except InvalidInput as exc:
            exit_invalid(exc)
        except Conflict as exc:
            _refuse(exc)
        session.commit()
    click.echo(f"{slug}: {quarter.label} signed off by {user.username}")


def _cells(release: Release) -> tuple[int, int]:
    """How many cells of the document are published, and how many suppressed (null)."""
    published = suppressed = 0
    for table in json.loads(release.content)["tables"]:
        for row in table["rows"]:
            for value in row["values"].values():
                if value is None:
                    suppressed += 1
                else:
                    published += 1
    return published, suppressed


@releases_group.command("build")
@click.option("--quarter", "quarter_text", required=True, help="e.g. 2026Q3")
@click.option("--reason", default=None, help="why a published quarter is revised")
def releases_build(quarter_text: str, reason: str | None) -> None:
    """Count, protect and store a finished quarter's release as a draft for review. Every
    charity serving in the quarter must have signed it off."""
    quarter = _quarter(quarter_text)
    builder = _builder("cli releases build")
    settings = current_settings()
    rules = releases.rules_from(settings.disclosure_threshold, settings.disclosure_base)
    # A fresh session with no tenant bound and no transaction begun: build_release begins its
    # own (REPEATABLE READ on PostgreSQL) and reads through the walls charity by charity.
    with app_sessions()() as session:
        with click.progressbar(length=BUILD_STEPS, label=f"building {quarter.label}") as bar:

            def progress(step: str) -> None:
                bar.label = step
                bar.update(1)

            try:
                release = releases.build_release(
                    session, quarter, builder=builder, rules=rules, reason=reason, progress=progress
                )
            except NotSignedOff as exc:
                click.echo(
                    f"\nerror: {quarter.label} is not signed off yet by: {', '.join(exc.slugs)}",
                    err=True,
                )
                sys.exit(1)
            except CannotProtect as exc:
                _refuse(exc)
            except InvalidInput as exc:
                exit_invalid(exc)
        session.commit()
        published, suppressed = _cells(release)
        click.echo(f"draft {release.id} ({release.quarter} revision {release.revision})")
        click.echo(f"sha256: {release.sha256}")
        click.echo(f"cells: {published} published, {suppressed} suppressed")


@releases_group.command("publish")
@click.argument("release_id")
def releases_publish(release_id: str) -> None:
    """Publish a reviewed draft; it never changes again."""
    try:
        parsed = uuid.UUID(release_id)
    except ValueError:
        raise click.BadParameter(f"no release {release_id!r}", param_hint="RELEASE_ID") from None
    builder = _builder("cli releases publish")
    with app_sessions()() as session:
        try:
            release = releases.publish_release(session, parsed, builder=builder)
        except NotFound:
            raise click.BadParameter(
                f"no release {release_id!r}", param_hint="RELEASE_ID"
            ) from None
        except Conflict as exc:
            _refuse(exc)
        session.commit()
        click.echo(f"published {release.id} ({release.quarter} revision {release.revision})")
        click.echo(f"sha256: {release.sha256}")


@releases_group.command("list")
def releases_list() -> None:
    """Drafts waiting for review, then every published release, newest quarter first."""
    with app_sessions()() as session:
        every = releases.drafts(session) + releases.published_releases(session)
        if not every:
            click.echo("no releases yet")
        for release in every:
            when = release.published_at or release.built_at
            click.echo(
                f"{release.id}  {release.quarter} r{release.revision}  {release.status:<9}  "
                f"{when:%Y-%m-%d %H:%M}  sha256 {release.sha256[:16]}"
            )
