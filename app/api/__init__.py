"""The JSON API under ``/api/v1`` and its OpenAPI document."""

from __future__ import annotations

import threading
from typing import Any

from apispec import APISpec
from flask import Flask
from flask_smorest import Api, Blueprint

from app.extensions import csrf
from app.models.oauth import METRICS_READ
from schemas.common import ErrorEnvelope


class ContinuumApi(Api):
    # Every error, documented by status or as the "default" response, is the one envelope that
    # app.http.errors builds; flask-smorest's own error schema is never sent.
    ERROR_SCHEMA = ErrorEnvelope

    # The OpenAPI document is written the first time something reads it (its route, the CLI, a
    # test), not in every app the factory makes: flask-smorest documents each view as its
    # blueprint is registered, deep-copying every schema, which was half the time create_app
    # took (so half of every test's setup, and of a worker's start). What is documented, and in
    # what order, is unchanged.
    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        self._undocumented: list[tuple[Blueprint, str, Any]] = []
        self._documenting = threading.Lock()
        self._spec: APISpec | None = None
        super().__init__(app, **kwargs)

    @property  # type: ignore[override]
    def spec(self) -> APISpec | None:
        with self._documenting:
            while self._spec is not None and self._undocumented:
                blueprint, name, parameters = self._undocumented.pop(0)
                blueprint.register_views_in_doc(
                    self, self._app, self._spec, name=name, parameters=parameters
                )
                self._spec.tag({"name": name, "description": blueprint.description})
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp: Blueprint, *, parameters: Any = None, **options: Any) -> None:
        """As flask-smorest's, with the views' documentation left for when the spec is read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))


def init_api(app: Flask) -> None:
    """The API's blueprints and OpenAPI document, its OAuth2 server, and its two checks with
    the deny-by-default gate: a ministry client's view checks its own token, and every other
    request under /api/ or /oauth/ needs a personal token."""
    from app.api import cases, casework, consents, equality, oauth, releases, transfers
    from app.api.auth import bearer_member
    from app.http.gate import Side, register_authenticator, register_self_checked

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
    register_self_checked(app, oauth.protects)
    register_authenticator(app, Side.API, bearer_member)
