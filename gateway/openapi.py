"""One OpenAPI document for the whole suite: the gateway's own paths plus, from each service's
``/openapi.json``, the paths the gateway exposes (``policy.ROUTES``), with one security scheme
for the API key.

Component schemas that two services define differently under one name are renamed
``<Service><Name>`` in the second service's part, and its ``$ref`` pointers follow. A service
that cannot be fetched is listed under ``x-tessera-unavailable`` and the document is not
cached, so the next request tries again.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable
from typing import Any

from gateway.errors import UpstreamTimeout, UpstreamUnreachable
from gateway.policy import ROUTES, Auth, Route, Upstream, find_route
from gateway.upstream import Upstreams
from services.common.openapi import document_problems

Document = dict[str, Any]
SCHEMA_REF = "#/components/schemas/"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

SECURITY_SCHEMES: Document = {
    "bearerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A Tessera API key (tsk_<id>_<secret>) as 'Authorization: Bearer <key>'",
    },
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "The same key"},
}
KEY_SECURITY: list[dict[str, list[str]]] = [{"bearerKey": []}, {"apiKeyHeader": []}]


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value[len(SCHEMA_REF) :]
                out[key] = SCHEMA_REF + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _exposed_paths(upstream: Upstream, paths: Document, routes: tuple[Route, ...]) -> Document:
    """The service's paths that the gateway routes to that same service, with the security
    the route demands."""
    exposed: Document = {}
    for path, item in paths.items():
        route = find_route(path, routes)
        if route is None or route.upstream is not upstream or not isinstance(item, dict):
            continue
        item = copy.deepcopy(item)
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                operation["security"] = KEY_SECURITY if route.auth is Auth.API_KEY else []
                operation.setdefault("tags", [upstream.value])
        exposed[path] = item
    return exposed


def _renames(upstream: Upstream, theirs: Document, ours: Document) -> dict[str, str]:
    """Names in ``theirs`` that must change to not clash with ``ours``. Renaming one schema
    changes every schema that refers to it, so this repeats until nothing more clashes."""
    renames: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name, schema in theirs.items():
            if name in renames or name not in ours or ours[name] == _rewrite_refs(schema, renames):
                continue
            new_name = f"{upstream.value.capitalize()}{name}"
            while new_name in ours or new_name in theirs:
                new_name = f"{upstream.value.capitalize()}{new_name}"
            renames[name] = new_name
            changed = True
    return renames


# What the gateway itself may answer on any path, before or instead of the service.
GATEWAY_ANSWERS: dict[int, str] = {
    413: "The body is larger than the gateway forwards",
    429: "Too many requests for this key or address; see Retry-After",
    502: "The service answered badly or not at all",
    504: "The service took too long to answer",
}


def _needs_key(path: str, routes: tuple[Route, ...]) -> bool:
    route = find_route(path, routes)
    return path.startswith("/v1/") or (route is not None and route.auth is Auth.API_KEY)


def merge(
    gateway: Document, services: dict[Upstream, Document | None], *, routes: tuple[Route, ...] = ROUTES
) -> Document:
    """The combined document: ``gateway``'s own paths and each available service's exposed ones."""
    combined = copy.deepcopy(gateway)
    combined["openapi"] = gateway.get("openapi", "3.1.0")
    paths: Document = combined.setdefault("paths", {})
    components: Document = combined.setdefault("components", {})
    schemas: Document = components.setdefault("schemas", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    unavailable: list[str] = []
    for upstream, document in services.items():
        if document is None:
            unavailable.append(upstream.value)
            continue
        theirs: Document = document.get("components", {}).get("schemas", {})
        renames = _renames(upstream, theirs, schemas)
        for name, schema in theirs.items():
            schemas[renames.get(name, name)] = _rewrite_refs(schema, renames)
        for path, item in _exposed_paths(upstream, document.get("paths", {}), routes).items():
            paths[path] = _rewrite_refs(item, renames)
    document_problems(combined, identified=lambda path: _needs_key(path, routes), extra=GATEWAY_ANSWERS)
    combined.setdefault("info", {})["x-tessera-unavailable"] = unavailable
    combined["x-tessera-routes"] = [
        {"prefix": r.prefix, "service": r.upstream.value, "auth": r.auth.value} for r in routes
    ]
    return combined


class CombinedOpenApi:
    """The merged document, rebuilt at most every ``ttl`` seconds while every service answered."""

    def __init__(
        self,
        upstreams: Upstreams,
        gateway_document: Callable[[], Document],
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        routes: tuple[Route, ...] = ROUTES,
    ) -> None:
        self._routes = routes
        self._upstreams = upstreams
        self._gateway_document = gateway_document
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, Document] | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self, upstream: Upstream) -> Document | None:
        try:
            status, body = await self._upstreams[upstream].get(
                "/openapi.json", timeout=self._upstreams.health_timeout
            )
            document = json.loads(body) if status == 200 else None
        except (UpstreamTimeout, UpstreamUnreachable, ValueError):
            return None
        return document if isinstance(document, dict) else None

    async def document(self) -> Document:
        async with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return self._cached[1]
            fetched = await asyncio.gather(*(self._fetch(u) for u in Upstream))
            combined = merge(
                self._gateway_document(), dict(zip(Upstream, fetched, strict=True)), routes=self._routes
            )
            if all(d is not None for d in fetched):
                self._cached = (self._clock(), combined)
            return combined
