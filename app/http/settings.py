"""The running app's settings, for entry points (web and API) that pass one to a use case."""

from __future__ import annotations

from flask import current_app

from config import Settings


def current_settings() -> Settings:
    settings: Settings = current_app.extensions["continuum"].settings
    return settings
