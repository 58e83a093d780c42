"""The ministry's dashboard of published releases (issue 5 item 4)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
