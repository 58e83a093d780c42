"""The JSON API under ``/api/v1`` and its OpenAPI document."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.extensions import csrf


def init_api(app: Flask) -> None:
    from app.api import cases
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
                    }
                }
            },
            "security": [{"bearerAuth": []}],
            "servers": [{"url": "/"}],
        },
    )
    api = Api(app)
    api.register_blueprint(cases.blp)
    csrf.exempt(cases.blp)
    # After flask-smorest, whose own handler would answer HTML pages with JSON and drop headers.
    init_errors(app)
