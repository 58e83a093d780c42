"""What every page about one family shares: the family file (read once, audited once) for the
identity bar and the form, and the form round trip (load, call the one use case, redirect to
the family page with a success banner, or show the form again with the error summary).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError

from app.domain.errors import InvalidInput
from app.http.audit import request_origin
from app.http.fields import flatten_errors
from app.http.vault import request_vault
from app.services.cases import family_file
from app.web.forms import FormFields, form_errors, read_form
from tenants.flask import require_context, tenant_session


def load_form(schema: Schema, spec: FormFields) -> Any:
    """The posted form through its schema; a refusal is InvalidInput like a service's."""
    try:
        return schema.load(read_form(request.form, spec))
    except ValidationError as exc:
        raise InvalidInput(flatten_errors(exc.messages)) from exc


def read_file(case_id: uuid.UUID) -> family_file.FamilyFile:
    return family_file.read_family(
        tenant_session(), require_context(), request_origin(), request_vault(), case_id
    )


def render_family(
    template: str,
    file: family_file.FamilyFile,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> ResponseReturnValue:
    """A page about one family, with the form as posted when it is shown again with errors."""
    page = render_template(
        template,
        file=file,
        # Read with the case, in the read's own transaction (issue 13).
        prison=file.prison,
        errors=errors or {},
        form=request.form,
        posted=request.method == "POST",
        today=request_origin().clock().date(),
        **extra,
    )
    # 400 like every refused form here: the input, not the record, is what is wrong.
    return page, 400 if errors else 200


def family_page(
    template: str, case_id: uuid.UUID, errors: dict[str, list[str]] | None = None, **extra: Any
) -> ResponseReturnValue:
    return render_family(template, read_file(case_id), errors, **extra)


def form_round_trip(
    case_id: uuid.UUID,
    template: str,
    spec: FormFields,
    write: Callable[[], object],
    done: str,
    choices: Callable[[family_file.FamilyFile], dict[str, Any]] | None = None,
    **extra: Any,
) -> ResponseReturnValue:
    """GET shows the form; POST runs ``write`` (load the schema, call one use case) and goes
    back to the family page saying ``done``, or shows the form again naming every problem.
    ``choices`` adds what the form offers that depends on the case (its prison's workers)."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            write()
        except InvalidInput as exc:
            errors = form_errors(exc.errors, spec)
        else:
            flash(done, "success")
            return redirect(url_for("web.case_detail", case_id=case_id))
    file = read_file(case_id)
    if choices is not None:
        extra.update(choices(file))
    return render_family(template, file, errors, spec=spec, **extra)
