"""The API's blueprint: flask-smorest's, plus one way to document the errors an operation gives.

Every error leaves as the one envelope built in ``app.web.errors``; each operation names the
statuses it can answer with, so the OpenAPI document says what a client will meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_smorest import Blueprint

from schemas.common import ErrorEnvelope

F = TypeVar("F", bound=Callable[..., object])

WHY = {
    400: "The body is not JSON",
    401: "No valid personal token (the answer carries a Bearer challenge)",
    403: "Your role has no access to case records, or this step needs a site manager",
    404: "No such record that you may see: a record that is not yours gets the same answer",
    409: "The record's state does not allow it (a closed case takes no new work)",
    422: "The input has errors, named by field; nothing was written",
}
# What every case operation may answer besides success.
READ = (401, 403, 404)
WRITE = (400, 401, 403, 404, 409, 422)


class ApiBlueprint(Blueprint):
    def errors(self, *statuses: int) -> Callable[[F], F]:
        """Document the error envelope for each of ``statuses``."""

        def decorate(view: F) -> F:
            for status in statuses:
                view = self.alt_response(status, schema=ErrorEnvelope, description=WHY[status])(
                    view
                )
            return view

        return decorate
