"""An actor at the JSON API, as ``desk`` (tests/support/cases.py) is an actor at the use cases:
a test client and a fresh personal token. The ``api_desk`` fixture (tests/conftest.py) makes
them by actor key."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient


class ApiDesk:
    """One actor at the API: a client and a fresh bearer token."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(url, json=body, headers={**self.headers, **(headers or {})})
