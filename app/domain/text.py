"""What a text field may hold, whichever way it comes in (the API, a web form, an import).

Two things look like text to Python and are not: a NUL, which PostgreSQL text cannot hold and
which no name, note or address needs; and a lone surrogate (JSON's ``"\\ud800"``, or bytes that
were not UTF-8 kept as such), which cannot be encoded, so can be neither encrypted nor stored.
Both are refused as the field's error, never stored, replaced or dropped in silence.
"""

from __future__ import annotations

import re

NUL = "remove the NUL character (\\u0000): text cannot hold it"
LONE_SURROGATE = "remove the lone surrogate (like \\ud800): it is not a character"
NOT_UTF8 = "this was not sent as UTF-8 text: type it again"

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be kept as text, or None when it can."""
    if "\x00" in value:
        return NUL
    if _SURROGATE.search(value):
        return LONE_SURROGATE
    return None
