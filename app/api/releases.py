"""Published releases over the API, for the ministry's OAuth2 clients (issue 5 item 5)."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("releases_api", __name__, url_prefix="/api/v1/releases")
