"""The API's blueprint: flask-smorest's, plus one way to document the errors an operation gives.

Every error leaves as the one envelope built in ``app.http.errors``; each operation names the
statuses it can answer with, so the OpenAPI document says what a client will meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_smorest import Blueprint

from app.api.parser import ApiParser
from schemas.common import ErrorEnvelope

F = TypeVar("F", bound=Callable[..., object])

WHY = {
    400: "The body is missing, or is not JSON that can be read (not UTF-8, nested too deeply, "
    "a number too long); the message says which",
    401: "No valid personal token (the answer carries a Bearer challenge)",
    403: "Your role has no access to case records, or this step needs a site manager",
    404: "No such record that you may see: a record that is not yours gets the same answer",
    409: "The record's state does not allow it (a closed case takes no new work)",
    415: "The body is not sent as JSON (Content-Type: application/json)",
    422: "The input has errors, named by field; nothing was written",
}
# What every case operation may answer besides success.
READ = (401, 403, 404)
WRITE = (400, 401, 403, 404, 409, 415, 422)
# An operation that opens a record has no record in its URL to miss.
OPEN = (400, 401, 403, 415, 422)
# A step that takes no body (an Idempotency-Key header at most): no body to be unreadable.
STEP = (401, 403, 404, 409, 422)


class ApiBlueprint(Blueprint):
    # Every body is read strictly: present, labelled JSON, and readable (app.api.parser).
    ARGUMENTS_PARSER = ApiParser()

    def errors(self, *statuses: int) -> Callable[[F], F]:
        """Document the error envelope for each of ``statuses``."""

        def decorate(view: F) -> F:
            for status in statuses:
                view = self.alt_response(status, schema=ErrorEnvelope, description=WHY[status])(
                    view
                )
            return view

        return decorate
