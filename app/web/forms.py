"""Turning HTML form posts into schema input, and schema errors into GOV.UK error messages.

A form posts flat names ("person.name", "opened_on-day"); the schemas take nested dicts with ISO
dates. `FormFields` lists the names one form reads and what each is called, so `read_form` passes
the schema only those names (the schema stays the allowlist) and `form_errors` turns every error,
from the schema or the service, into one sentence linked to the input it is about.

A field whose bytes are not UTF-8 is refused as that field's error (`FormRequest` notes which
fields they were), where werkzeug would quietly keep "%FF" as three characters, or U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qsl

from flask import Request
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict
from werkzeug.formparser import FormDataParser

from app.domain.errors import InvalidInput
from app.domain.text import NOT_UTF8
from app.http.fields import flatten_errors

# What decoding with "surrogateescape" leaves where a byte was not UTF-8.
_NOT_DECODED = re.compile("[\udc80-\udcff]")
_Parsed = tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, FileStorage]]


class PostedForm(ImmutableMultiDict[str, str]):
    """A form as posted, knowing which of its fields were not sent as UTF-8 text."""

    not_utf8: frozenset[str] = frozenset()


def _posted(pairs: list[tuple[str, str]], not_utf8: set[str]) -> PostedForm:
    form = PostedForm(pairs)
    form.not_utf8 = frozenset(not_utf8)
    return form


class FormParser(FormDataParser):
    """werkzeug's form parser, naming the fields whose bytes were not UTF-8. Their values hold
    U+FFFD in its place, so code that reads a field directly never meets undecodable text."""

    def _parse_urlencoded(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> _Parsed:
        # The stream is already limited to the app's MAX_CONTENT_LENGTH.
        text = stream.read().decode("utf-8", "surrogateescape")
        pairs, not_utf8 = [], set()
        for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
            name = _NOT_DECODED.sub("\ufffd", name)
            if _NOT_DECODED.search(value):
                not_utf8.add(name)
                value = _NOT_DECODED.sub("\ufffd", value)
            pairs.append((name, value))
        return stream, _posted(pairs, not_utf8), self.cls()

    def _parse_multipart(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> _Parsed:
        # No page posts multipart; werkzeug has put U+FFFD for each byte that was not UTF-8,
        # so here a U+FFFD is taken as one.
        stream, form, files = super()._parse_multipart(stream, mimetype, content_length, options)
        pairs = list(form.items(multi=True))
        return stream, _posted(pairs, {name for name, value in pairs if "\ufffd" in value}), files


class FormRequest(Request):
    """The app's requests: forms are read by `FormParser`."""

    form_data_parser_class = FormParser


def date_from_parts(form: Mapping[str, str], name: str) -> str | None:
    """GOV.UK date input: day, month and year fields become one ISO date string (or None)."""
    parts = [(form.get(f"{name}-{part}") or "").strip() for part in ("year", "month", "day")]
    if not any(parts):
        return None
    year, month, day = parts
    if not (year.isdigit() and month.isdigit() and day.isdigit()):
        return f"{year}-{month}-{day}"  # left for the schema to refuse with a field message
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


@dataclass(frozen=True)
class FormFields:
    """The names one form posts, in page order, with what each is called in an error message
    ("the person's name"); which are GOV.UK date inputs, checkbox lists, strict whole numbers
    and choices; and which nested groups are always sent (so their required fields are named
    even when the group is left empty)."""

    labels: Mapping[str, str]
    dates: frozenset[str] = field(default_factory=frozenset)
    lists: frozenset[str] = field(default_factory=frozenset)
    integers: frozenset[str] = field(default_factory=frozenset)
    choices: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)


def _put(data: dict[str, Any], path: list[str], value: object) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def _names_posted(name: str, spec: FormFields) -> set[str]:
    """The names a form field is posted under: a GOV.UK date input posts three."""
    if name in spec.dates:
        return {f"{name}-{part}" for part in ("day", "month", "year")}
    return {name}


def read_form(form: MultiDict[str, str], spec: FormFields) -> dict[str, Any]:
    """The posted values of the form's own fields as the nested dict its schema loads. A field
    left empty is left out, so the schema's default or its "required" message applies.

    Raises InvalidInput naming each field whose bytes were not UTF-8 text."""
    not_utf8 = form.not_utf8 if isinstance(form, PostedForm) else frozenset()
    garbled = {name: [NOT_UTF8] for name in spec.labels if _names_posted(name, spec) & not_utf8}
    if garbled:
        raise InvalidInput(garbled)
    data: dict[str, Any] = {group: {} for group in spec.groups}
    for name in spec.labels:
        value: Any
        if name in spec.dates:
            value = date_from_parts(form, name)
        elif name in spec.lists:
            value = [item for item in form.getlist(name) if item.strip()]
        else:
            value = (form.get(name) or "").strip()
            if name in spec.integers and value.isdigit():
                value = int(value)
        if value in (None, "", []):
            continue
        _put(data, name.split("."), value)
    return data


_BETWEEN = re.compile(r"Must be greater than or equal to (\d+) and less than or equal to (\d+)")
_LONGEST = re.compile(r"(?:Longer than maximum length|Length must be between \d+ and) (\d+)")


def _sentence(message: str, label: str, choice: bool) -> str:
    """One of marshmallow's generic messages in GOV.UK words; a service's own message as is."""
    if message == "Missing data for required field.":
        return f"{'Select' if choice else 'Enter'} {label}"
    if message == "Not a valid date.":
        return f"{label} must be a real date"
    if message == "Not a valid integer.":
        return f"{label} must be a whole number"
    if message == "Not a valid email address.":
        return f"Enter {label} in the right format, like name@example.com"
    if message.startswith(("Must be one of", "Not a valid UUID", "Not a valid boolean")):
        return f"Choose {label} from the options shown"
    if between := _BETWEEN.match(message):
        return f"{label} must be from {between[1]} to {between[2]}"
    if longest := _LONGEST.match(message):
        return f"{label} must be {longest[1]} characters or fewer"
    return message


def _field_for(key: str, names: list[str]) -> str:
    """The form field an error key is about: itself, the field it is part of ("needs.1",
    "scores.work.value"), or the first field of the group it names ("person")."""
    if key in names:
        return key
    owners = [name for name in names if key.startswith(f"{name}.")]
    if owners:
        return max(owners, key=len)
    members = [name for name in names if name.startswith(f"{key}.")]
    return members[0] if members else names[0]


def form_errors(messages: Any, spec: FormFields) -> dict[str, list[str]]:
    """Schema messages (nested) or a service's field errors, as {input id: [sentences]} in the
    order the fields appear on the page, so the error summary reads top to bottom."""
    names = list(spec.labels)
    found: dict[str, list[str]] = {}
    for key, texts in flatten_errors(messages).items():
        name = _field_for(key, names)
        label = spec.labels[name]
        for text in texts:
            sentence = _sentence(text, label, name in spec.choices or name in spec.lists)
            found.setdefault(name, []).append(sentence[:1].upper() + sentence[1:])
    return {name: found[name] for name in names if name in found}
