"""The error half of every OpenAPI document: what Tessera answers when it says no.

FastAPI documents only an operation's success and a 422 in its own ``application/json`` shape,
while every Tessera error is an RFC 9457 ``application/problem+json`` body (``errors.py``) and
some come from layers an endpoint never sees: a missing or refused identity (401, 403), a path
parameter naming nothing (404), an unreadable request (400), a database that is down (503).
:func:`document_problems` adds those to each operation and gives every error response the
problem shape, so clients and contract tests read the truth from the document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.errors import PROBLEM_JSON

Document = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: Document = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem: what went wrong, for people (detail) and programs (code)",
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong and what to do about it"},
        "code": {"type": "string", "description": "A stable machine-readable code"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "code"],
    "additionalProperties": True,
}

# Answers any operation may give whatever its endpoint does.
EVERY_OPERATION: Mapping[int, str] = {
    400: "The request cannot be read",
    422: "A parameter or the body is not acceptable (each field named)",
    503: "The service or its database is unavailable for the moment; try again",
}
IDENTIFIED: Mapping[int, str] = {
    401: "No caller identity (no valid API key)",
    403: "The caller's role may not do this",
}
WITH_PATH_PARAMETERS: Mapping[int, str] = {404: "Nothing with this identifier (or not the caller's)"}


def _operations(document: Document) -> list[tuple[str, Document]]:
    found: list[tuple[str, Document]] = []
    for path, item in document.get("paths", {}).items():
        if isinstance(item, dict):
            found.extend((path, item[m]) for m in HTTP_METHODS if isinstance(item.get(m), dict))
    return found


def document_problems(
    document: Document,
    *,
    identified: Callable[[str], bool] = lambda path: True,
    extra: Mapping[int, str] | None = None,
) -> Document:
    """``document`` (changed in place, and returned) with the problem responses of every
    operation: those of :data:`EVERY_OPERATION`, 401/403 where ``identified(path)``, 404 where
    the path has parameters, ``extra``; each error answer in the problem+json shape."""
    for path, operation in _operations(document):
        responses: Document = operation.setdefault("responses", {})
        added: dict[int, str] = dict(EVERY_OPERATION)
        if identified(path):
            added.update(IDENTIFIED)
        if "{" in path:
            added.update(WITH_PATH_PARAMETERS)
        added.update(extra or {})
        for code, description in added.items():
            responses.setdefault(str(code), {"description": description})
        for status, response in responses.items():
            if str(status)[:1] in ("4", "5") and isinstance(response, dict):
                response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    document.setdefault("components", {}).setdefault("schemas", {}).setdefault("Problem", PROBLEM_SCHEMA)
    return document


def install(app: FastAPI, *, identified: Callable[[str], bool] = lambda path: True) -> None:
    """Serve ``app``'s generated document with its problem responses (built once, then cached)."""

    def openapi() -> Document:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = document_problems(document, identified=identified)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
