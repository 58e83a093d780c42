"""The server-rendered web interface for staff."""

from __future__ import annotations

from flask import Flask


def init_web(app: Flask) -> None:
    from app.web import (
        admin,
        auth,
        cases,
        casework,
        consents,
        dashboard,
        equality,
        labels,
        public,
        releases,
        transfers,
    )
    from app.web.forms import FormRequest
    from app.web.security import init_security

    app.request_class = FormRequest
    init_security(app)
    app.add_template_filter(_first_messages, "first_messages")
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(casework.bp)
    app.register_blueprint(consents.bp)
    app.register_blueprint(equality.bp)
    app.register_blueprint(transfers.bp)
    app.register_blueprint(labels.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(releases.bp)
    app.register_blueprint(dashboard.bp)


def _first_messages(errors: dict[str, list[str]]) -> dict[str, str]:
    """The GOV.UK error summary shows one message per field: the first."""
    return {field: messages[0] for field, messages in errors.items() if messages}
