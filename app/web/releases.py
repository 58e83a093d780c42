"""Charity admins' sign-off of their quarter and the coordinator's release screens (issue 5)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("releases", __name__)
