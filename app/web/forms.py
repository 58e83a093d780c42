"""Turning HTML form posts into schema input, and schema errors into GOV.UK error messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def date_from_parts(form: Mapping[str, str], name: str) -> str | None:
    """GOV.UK date input: day, month and year fields become one ISO date string (or None)."""
    parts = [form.get(f"{name}-{part}", "").strip() for part in ("year", "month", "day")]
    if not any(parts):
        return None
    year, month, day = parts
    if not (year.isdigit() and month.isdigit() and day.isdigit()):
        return f"{year}-{month}-{day}"  # left for the schema to refuse with a field message
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


def flatten_errors(messages: Any) -> dict[str, list[str]]:
    """marshmallow's nested messages as {field: [message, ...]} for the error summary."""
    if isinstance(messages, list):
        return {"_schema": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for field, value in messages.items():
        if isinstance(value, dict):
            for sub, sub_messages in flatten_errors(value).items():
                flat[f"{field}.{sub}"] = sub_messages
        else:
            flat[str(field)] = [str(m) for m in value]
    return flat
