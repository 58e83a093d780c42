"""Time as a collaborator: use cases take a clock so tests can set the date.

The service has one clock: ``create_app`` takes it (the system's by default), and every request,
command and job reads that one through ``app_clock`` (app.extensions) or an ``Origin``. Nothing
else reads the wall clock, so a test that sets the clock sets it for everything it drives.
Datetimes are aware and in UTC; a "day" is a UTC calendar date (app.domain.clock.today).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def today(clock: Clock) -> date:
    """The UTC calendar day it is by ``clock``: never the machine's local date (``TZ`` may say
    Kiritimati, fourteen hours ahead of the date every other part of the service uses)."""
    return clock().astimezone(UTC).date()
