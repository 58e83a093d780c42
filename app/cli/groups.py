"""Every command group, added to an app by ``register_cli`` (create_app calls it), so the
``continuum`` command and a test's ``app.test_cli_runner()`` list the same commands."""

from __future__ import annotations

from flask import Flask

from app.cli.access import clients_group, tokens_group, users_group
from app.cli.database import db_group, reference_group
from app.cli.demo import demo, demo_code
from app.cli.records import audit_group, import_group, keys_group
from app.cli.releases import releases_group
from app.cli.transfers import movements_group, outbox_group, services_group, transfers_group


def register_cli(app: Flask) -> None:
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
