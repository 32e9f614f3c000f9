"""Structured logs: one JSON object per line (or a readable console line in development),
each carrying the request id of the request that produced it."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Awaitable, Callable

import structlog
from starlette.requests import Request
from starlette.responses import Response

REQUEST_ID_HEADER = "X-Request-Id"
_MAX_REQUEST_ID = 128


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing (test runners and process
    supervisors swap it), rather than to the stream that was current when logging was set up."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(*, service: str, level: str = "INFO", fmt: str = "json") -> None:
    # The console renderer formats exceptions itself and fails on the structured tracebacks the
    # JSON lines carry, so those are made for JSON only.
    renderers: list[structlog.types.Processor] = (
        [structlog.dev.ConsoleRenderer(colors=False)]
        if fmt == "console"
        else [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def clean_request_id(value: str | None) -> str:
    """Keep a caller's request id when it is short and printable; otherwise make a new one."""
    if value and len(value) <= _MAX_REQUEST_ID and value.isascii() and value.isprintable():
        return value
    return uuid.uuid4().hex


Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


def request_id_middleware() -> Middleware:
    """Middleware body: take or make ``X-Request-Id``, bind it to every log line, echo it back."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.state.request_id = request_id
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
            structlog.get_logger().info(
                "request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
            )
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return middleware
