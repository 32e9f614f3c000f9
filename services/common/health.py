"""Liveness, readiness and Prometheus metrics, the same on every Tessera process.

``/healthz`` answers while the process runs. ``/readyz`` runs the readiness checks the app
registered (database reachable, UBL schemas present...) and answers 503 naming each failing one.
``/metrics`` exposes request counts and latencies in the Prometheus text format.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

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


def metrics_middleware(
    service: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        LATENCY.labels(service, request.method, template).observe(time.perf_counter() - started)
        REQUESTS.labels(service, request.method, template, str(response.status_code)).inc()
        return response

    return middleware
