"""marshmallow's error messages by field name: the form's error summary and the API's error
envelope name the same fields the same way."""

from __future__ import annotations

from typing import Any


def flatten_errors(messages: Any) -> dict[str, list[str]]:
    """marshmallow's nested messages as {field: [message, ...]} for the error summary."""
    if isinstance(messages, list):
        return {"_schema": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for field_name, value in messages.items():
        if isinstance(value, dict):
            for sub, sub_messages in flatten_errors(value).items():
                flat[f"{field_name}.{sub}"] = sub_messages
        else:
            flat[str(field_name)] = [str(m) for m in value]
    return flat
