"""Domain errors and their rendering as RFC 9457 ``application/problem+json``.

Every error a service raises below its endpoints is a :class:`TesseraError` subclass that
carries its HTTP status and a stable machine-readable ``code``::

    TesseraError (500 internal_error)
    ├── BadRequest (400 bad_request)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    ├── PreconditionFailed (412 precondition_failed)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── UnsupportedMediaType (415 unsupported_media_type)
    ├── Unprocessable (422 unprocessable)
    ├── TooManyRequests (429 rate_limited)
    └── ServiceUnavailable (503 service_unavailable)

Services subclass these with their own codes (``class DuplicateInvoice(Conflict): code = ...``).
:func:`install_error_handlers` renders them, request validation errors (naming each field),
unknown routes and an unreachable database (503) in one shape; nothing else is caught.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

PROBLEM_JSON = "application/problem+json"


class TesseraError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class BadRequest(TesseraError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthorized(TesseraError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(TesseraError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(TesseraError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(TesseraError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(TesseraError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class PayloadTooLarge(TesseraError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(TesseraError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(TesseraError):
    status, code, title = 422, "unprocessable", "Unprocessable content"


class TooManyRequests(TesseraError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(TesseraError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


def problem(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:tessera:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# The status logged for a request whose caller went away (nginx's convention).
CALLER_LEFT = 499


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TesseraError)
    async def _domain(request: Request, exc: TesseraError) -> JSONResponse:
        return problem(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_name(tuple(e.get("loc", ()))),
                "message": e.get("msg", ""),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        names = ", ".join(sorted({e["field"] for e in errors}))
        return problem(
            request,
            status=422,
            code="validation_error",
            title="Invalid request",
            detail=f"Invalid value for: {names}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return problem(
            request,
            status=exc.status_code,
            code=codes.get(exc.status_code, "http_error"),
            title=str(exc.detail) if exc.status_code not in codes else exc.detail,
            detail=str(exc.detail),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(ClientDisconnect)
    async def _caller_left(request: Request, exc: ClientDisconnect) -> Response:
        # The caller hung up while sending its body: nothing was done, and nobody is left to
        # read an answer. Logged as what it is (499, as nginx names it), not as a server error
        # with a traceback.
        structlog.get_logger().info("caller left before its request body was read", path=request.url.path)
        return Response(status_code=CALLER_LEFT)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        return problem(
            request,
            status=503,
            code="database_unavailable",
            title="Service unavailable",
            detail="The database cannot be reached right now; nothing was changed. Retry later.",
            headers={"Retry-After": "5"},
        )
