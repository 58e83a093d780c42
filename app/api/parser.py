"""How the API reads a request body: a JSON document sent as JSON, or a 4xx saying what is wrong.

webargs' parser reads a body only when it is labelled JSON, and loads nothing otherwise, so a
PATCH sent as text or as a form answered 200 having changed nothing; and ``json.loads`` let a
body nested thousands deep (RecursionError) or an integer past Python's digit limit (ValueError)
escape as a 500. Every operation that takes a body reads it here, before any use case runs.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import marshmallow as ma
from flask import Request
from webargs.flaskparser import FlaskParser, abort, is_json_request

# No field takes a number anywhere near this long (the largest bound is a page number); Python
# itself refuses to read an integer of more than 4,300 digits.
MOST_DIGITS = 30


class _Unreadable(Exception):
    """Raised while decoding when the body is JSON of a kind no operation reads."""


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MOST_DIGITS:
        raise _Unreadable(f"a number in the body has more than {MOST_DIGITS} digits")
    return int(digits)


def _constant(name: str) -> NoReturn:
    raise _Unreadable(f"{name} is not a JSON number")


def _refuse(status: int, why: str) -> NoReturn:
    # The envelope (app.http.errors) carries ``message``; ``messages`` as webargs gives them.
    abort(status, message=why, messages={"json": [why]})


class ApiParser(FlaskParser):
    """webargs' Flask parser, strict about the body: present, labelled JSON, and readable."""

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        body = req.get_data(cache=True)
        if not body:
            _refuse(400, "The request has no body: send a JSON object")
        if not is_json_request(req):
            _refuse(415, "Send the body as JSON, with Content-Type: application/json")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            _refuse(400, f"The body is not UTF-8 (byte {exc.start} cannot be read)")
        try:
            return json.loads(text, parse_int=_integer, parse_constant=_constant)
        except RecursionError:
            # No operation's body is more than a few levels deep.
            _refuse(400, "The body is nested too deeply to read")
        except _Unreadable as exc:
            _refuse(400, f"The body cannot be read: {exc}")
        except json.JSONDecodeError as exc:
            _refuse(400, f"The body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
