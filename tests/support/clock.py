"""The one clock of a test: the app under test, its desks, its command line and the test itself
read it, so a test says what time it is and nothing reads the wall clock behind its back.

It stands still until the test moves it. Its default instant is fixed (``DEFAULT_NOW``), so a
run at 04:26 UTC and a run at 23:55 UTC see the same day; ``CONTINUUM_TEST_NOW`` (an ISO 8601
instant with its offset) moves the default for the clock sweep (tests/clock-sweep.sh), which
runs the suite on the days that catch date bugs: a quarter's last day, 29 February, the nights
the UK's clocks change.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

# A Monday morning, after the test world's cases opened (2025-06-01), after the quarter the
# release tests publish (2026Q3) ended, and after every date in the examples under docs/examples.
_FIXED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _default_now() -> datetime:
    text = os.environ.get("CONTINUUM_TEST_NOW", "").strip()
    if not text:
        return _FIXED
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"CONTINUUM_TEST_NOW needs an offset (Z or +01:00): {text!r}")
    return when.astimezone(UTC)


DEFAULT_NOW = _default_now()


class ManualClock:
    """A clock the test moves by hand; every reader sees the same instant, in UTC."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self._now = _aware(now)

    def __call__(self) -> datetime:
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"

    def today(self) -> date:
        """The UTC day, as the service counts days."""
        return self._now.date()

    def set(self, when: datetime) -> None:
        self._now = _aware(when)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock is moved back with set(), on purpose, not by advance()")
        self._now += delta
        return self._now


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("a naive datetime: say which zone (the service works in UTC)")
    return when.astimezone(UTC)
