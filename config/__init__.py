"""Typed, frozen settings, read once from the environment at the edge and passed in.

Unknown ``CONTINUUM_*`` variables and malformed values fail loudly at start-up, so a typo in a
deployment never silently falls back to a development default.
"""

from config.settings import (
    Settings,
    SettingsError,
    UnsafeProductionSettings,
    load_settings,
    refuse_unsafe_production,
)

__all__ = [
    "Settings",
    "SettingsError",
    "UnsafeProductionSettings",
    "load_settings",
    "refuse_unsafe_production",
]
