"""Structured logs: one JSON object per line (or a readable console line in development),
each carrying the request id of the request that produced it."""

from __future__ import annotations

import itertools
import logging
import os
import sys

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_ECHOED_NAME = REQUEST_ID_HEADER.lower().encode("latin-1")
_MAX_REQUEST_ID = 128
# Whether the one line per request is written: it is logged at INFO, and below that level it
# would be built only to be dropped (about 60 microseconds a request). Set by configure_logging.
_requests_logged = True


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
    global _requests_logged
    threshold = logging.getLevelName(level.upper())
    _requests_logged = not isinstance(threshold, int) or threshold <= logging.INFO


def log_request(method: str, path: str, status: int) -> None:
    """The line every handled request leaves, with its request id bound by the caller."""
    if _requests_logged:
        structlog.get_logger().info("request", method=method, path=path, status=status)


def clean_request_id(value: str | None) -> str:
    """Keep a caller's request id when it is short and printable; otherwise make a new one."""
    if value and len(value) <= _MAX_REQUEST_ID and value.isascii() and value.isprintable():
        return value
    return new_request_id()


class _RequestIds:
    """New request ids: 16 random bytes drawn once per process (again in a forked child), then a
    counter. Unique across processes and restarts like a UUID4, and made without a system call:
    ``os.urandom`` lets go of the GIL, and under load the event loop thread then waits for a
    worker thread to hand the GIL back before it can go on with the request."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


new_request_id = _RequestIds()


class RequestIdMiddleware:
    """Take or make ``X-Request-Id``, bind it to every log line, echo it back.

    Plain ASGI rather than ``app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs
    each request in an extra task with memory streams between the two halves, a cost paid on
    every request by every service and the gateway.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:  # names arrive lower-cased (ASGI)
            if name == _ECHOED_NAME:
                given = value.decode("latin-1")
                break
        request_id = clean_request_id(given)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        echoed = (_ECHOED_NAME, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _ECHOED_NAME]
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
            log_request(scope["method"], scope["path"], status)
        finally:
            structlog.contextvars.reset_contextvars(**bound)
