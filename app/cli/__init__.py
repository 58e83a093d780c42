"""The ``continuum`` command: Flask's CLI with the platform's own commands.

One module per command group (``access``, ``database``, ``demo``, ``records``, ``releases``,
``transfers``), what they share in ``common``, and ``groups.register_cli``, which create_app
calls to add them all to the app. This module imports none of them: it makes the app, and the
app brings its commands.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from config import load_settings


def _create_app() -> Flask:
    from app import create_app

    return create_app(load_settings())


main = FlaskGroup(
    create_app=_create_app,
    add_default_commands=True,
    load_dotenv=False,
    help="Continuum: the Prison Family Support Alliance's data-sharing platform.",
)
