"""Liveness, readiness and Prometheus metrics, the same on every Tessera process.

``/healthz`` answers while the process runs. ``/readyz`` runs the readiness checks the app
registered (database reachable, UBL schemas present...) and answers 503 naming each failing one.
``/metrics`` exposes request counts and latencies in the Prometheus text format.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ReadinessCheck = Callable[[FastAPI], bool]

REQUESTS = Counter(
    "tessera_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "tessera_http_request_seconds",
    "Time to handle an HTTP request",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: every dependency this process needs answers")
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness_checks", {})
    results = {name: "ok" if check(request.app) else "failing" for name, check in checks.items()}
    ready = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def add_readiness_check(app: FastAPI, name: str, check: ReadinessCheck) -> None:
    if not hasattr(app.state, "readiness_checks"):
        app.state.readiness_checks = {}
    app.state.readiness_checks[name] = check


class MetricsMiddleware:
    """Count and time every HTTP request by route template and status (plain ASGI, for the
    reason given on :class:`services.common.logging.RequestIdMiddleware`)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # The labelled series, looked up once per (method, route, status) rather than per request.
        self._series: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_counted)
        # The router records the matched route in the scope it was given, this same dict.
        template = getattr(scope.get("route"), "path", "unmatched")
        key = (scope["method"], template, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                LATENCY.labels(self.service, key[0], template),
                REQUESTS.labels(self.service, key[0], template, str(status)),
            )
        series[0].observe(time.perf_counter() - started)
        series[1].inc()
