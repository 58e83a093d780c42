"""The JSON API under ``/api/v1`` and its OpenAPI document."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.extensions import csrf
from app.models.oauth import METRICS_READ
from schemas.common import ErrorEnvelope


class ContinuumApi(Api):
    # Every error, documented by status or as the "default" response, is the one envelope that
    # app.web.errors builds; flask-smorest's own error schema is never sent.
    ERROR_SCHEMA = ErrorEnvelope


def init_api(app: Flask) -> None:
    from app.api import cases, casework, consents, equality, oauth, releases, transfers
    from app.web.errors import init_errors

    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "Personal API token",
                    },
                    # The ministry's clients (app.api.oauth); only the release operations.
                    "oauth2": {
                        "type": "oauth2",
                        "description": "A ministry client's token (client credentials)",
                        "flows": {
                            "clientCredentials": {
                                "tokenUrl": "/oauth/token",
                                "scopes": {METRICS_READ: "Read published releases"},
                            }
                        },
                    },
                }
            },
            "security": [{"bearerAuth": []}],
            "servers": [{"url": "/"}],
        },
    )
    api = ContinuumApi(app)
    for blueprint in (
        cases.blp,
        casework.blp,
        consents.blp,
        equality.blp,
        cases.search_blp,
        transfers.blp,
        transfers.case_blp,
        transfers.request_blp,
        releases.blp,
    ):
        api.register_blueprint(blueprint)
        # Cookies never authenticate the API (app.api.auth), so there is no session to ride.
        csrf.exempt(blueprint)
    oauth.init_oauth(app)
    # After flask-smorest, whose own handler would answer HTML pages with JSON and drop headers.
    init_errors(app)
