"""Endpoints named public: a health check for the operator's load balancer."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from tenants.flask import db_session

bp = Blueprint("public", __name__)


@bp.get("/health")
def health() -> Response:
    db_session().execute(text("SELECT 1"))
    return jsonify(status="ok")
