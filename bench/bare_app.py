"""The baseline of bench/load.py: a bare Flask app whose one route returns JSON of a given size,
served by the same gunicorn settings as the real app, so each ratio compares like with like."""

from __future__ import annotations

import json

from flask import Flask, Response, request

_BODIES: dict[int, bytes] = {}


def _body(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least a few)."""
    if size not in _BODIES:
        bare = json.dumps({"padding": ""}).encode()
        _BODIES[size] = json.dumps({"padding": "x" * max(size - len(bare), 0)}).encode()
    return _BODIES[size]


def create() -> Flask:
    app = Flask("bare")

    @app.get("/json")
    def payload() -> Response:
        size = min(int(request.args.get("bytes", "200")), 1_000_000)
        return Response(_body(size), mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app
