"""``continuum audit``, ``keys`` and ``import``: the charities' records kept safe and brought in.

The operator checks and signs the audit log's hash chains, rotates and lists the charities' data
keys (no key material is ever printed), and imports a charity's cases from a CSV file, all
rows or none.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app.cli.common import app_sessions, charity_named, current_settings, root_key
from app.extensions import app_clock

# --- audit ----------------------------------------------------------------------------------


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """The audit log's hash chains."""


def _signing_key_path() -> Path:
    return current_settings().instance_path / "audit-signing.key"


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
    from app.services.platform import audit

    key = load_or_create_signing_key(_signing_key_path())
    kid = key_id(key.public_key())
    with app_sessions()() as session:
        heads = [audit.last_event(session, chain) for chain in audit.chains(session)]
    checkpoints = [
        sign_checkpoint(head, key, kid, app_clock()()).to_dict() for head in heads if head
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
    from app.services.platform import audit

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
    from app.services.platform import audit

    broken = False
    # The app role may read the audit log; it may not change it (SELECT and INSERT only).
    with app_sessions()() as session:
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


@keys_group.command("rotate")
@click.option("--charity", "slug", required=True, help="charity slug, e.g. pops")
def keys_rotate(slug: str) -> None:
    """Add a charity's next data key version: new data is written under it, old stays readable."""
    from app.services.platform.keys import rotate_charity_key

    with app_sessions()() as session:
        charity = charity_named(session, slug)
        version = rotate_charity_key(session, root_key(), charity.id)
    click.echo(f"{slug}: data key version {version} is now current")


@keys_group.command("status")
def keys_status() -> None:
    """Each charity's data key versions and when they were made."""
    from app.services.platform.keys import SqlKeyStore
    from app.services.platform.reference import charities

    with app_sessions()() as session:
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
    from app.services.cases import imports
    from app.services.platform.audit import Origin
    from app.services.platform.vault import vault_for
    from schemas.casework import CaseIn
    from tenants.guard import bind_tenant

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = imports.read_case_file(handle)
    except imports.CaseFileLayoutError as exc:
        raise click.UsageError(f"{path.name}: {exc}") from None
    with app_sessions()() as session:
        charity = charity_named(session, slug)
        context = imports.import_context(session, charity.id)
        bind_tenant(session, context)
        try:
            count = imports.import_cases(
                session,
                context,
                Origin("cli import", app_clock()),
                vault_for(session, root_key()),
                rows,
                CaseIn().load,
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
