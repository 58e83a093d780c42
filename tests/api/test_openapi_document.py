"""The OpenAPI document is written when first read, not as each app is made (app/api,
``ContinuumApi``); what it says must be exactly what flask-smorest writes when it documents each
blueprint as it is registered, and reading it twice, or from two threads at once, writes it once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask_smorest import Api

from app.api import ContinuumApi


def _document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def test_the_document_written_on_first_read_is_the_one_written_at_registration(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
):
    lazy = _document(make_app())
    # flask-smorest's own registration, which documents each blueprint as it is registered.
    monkeypatch.setattr(ContinuumApi, "register_blueprint", Api.register_blueprint)
    eager_app = make_app()
    assert eager_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]._undocumented == []
    eager = _document(eager_app)
    assert lazy == eager
    assert "/api/v1/cases/{case_id}/family" in lazy["paths"]
    # Every blueprint the app registered under the API is a tag of the document.
    registered = set(eager_app.extensions["flask-smorest"]["blp_name_to_api"])
    assert {tag["name"] for tag in lazy["tags"]} == registered


def test_an_app_leaves_its_document_unwritten_until_it_is_read(app: Flask):
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    assert len(api._undocumented) > 5
    assert api.spec is not None
    assert api._undocumented == []


def test_two_threads_reading_the_document_at_once_write_each_operation_once(app: Flask):
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    pending = len(api._undocumented)
    start = threading.Barrier(4)
    documents: list[dict[str, Any]] = []

    def read() -> None:
        start.wait()
        documents.append(api.spec.to_dict())

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert pending > 5
    assert all(document == documents[0] for document in documents)
    tags = [tag["name"] for tag in documents[0]["tags"]]
    assert len(tags) == len(set(tags)) == pending
