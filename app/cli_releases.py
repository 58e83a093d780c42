"""``continuum releases``: sign-offs, builds and publication from the command line (issue 5)."""

from __future__ import annotations

import click
from flask.cli import AppGroup


@click.group("releases", cls=AppGroup)
def releases_group() -> None:
    """Build and publish the Ministry's quarterly releases."""
