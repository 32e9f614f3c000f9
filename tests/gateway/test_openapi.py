"""Merging the services' OpenAPI documents into one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from gateway.openapi import KEY_SECURITY, CombinedOpenApi, merge
from gateway.policy import Upstream
from gateway.proxy import Upstreams
from gateway.settings import GatewaySettings

GATEWAY: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Tessera API", "version": "0.1.0"},
    "paths": {"/v1/keys": {"get": {"operationId": "list_keys", "security": KEY_SECURITY}}},
    "components": {"schemas": {"KeyRead": {"type": "object"}}},
}


def service_doc(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def op(ref: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"responses": {"200": {"description": "ok"}}}
    if ref:
        operation["responses"]["200"]["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}
        }
    return operation


def test_merge_keeps_exposed_paths_and_secures_them() -> None:
    invoicing = service_doc(
        {
            "/v1/invoices": {"post": op("Invoice")},
            "/webhooks/events": {"post": op()},
            "/readyz": {"get": op()},
            "/v1/payments": {"get": op()},  # not invoicing's prefix: never taken from it
        },
        {"Invoice": {"type": "object", "properties": {"id": {"type": "string"}}}},
    )
    payments = service_doc({"/v1/payments": {"get": op()}, "/pay/{token}": {"get": op()}}, {})
    combined = merge(
        GATEWAY, {Upstream.INVOICING: invoicing, Upstream.PAYMENTS: payments, Upstream.RECEIPTS: None}
    )
    assert set(combined["paths"]) == {"/v1/keys", "/v1/invoices", "/v1/payments", "/pay/{token}"}
    assert combined["paths"]["/v1/invoices"]["post"]["security"] == KEY_SECURITY
    assert combined["paths"]["/v1/invoices"]["post"]["tags"] == ["invoicing"]
    assert combined["paths"]["/pay/{token}"]["get"]["security"] == []
    assert set(combined["components"]["securitySchemes"]) == {"bearerKey", "apiKeyHeader"}
    assert combined["info"]["x-tessera-unavailable"] == ["receipts"]
    assert "Invoice" in combined["components"]["schemas"]
    assert GATEWAY["paths"].keys() == {"/v1/keys"}  # the input is not modified


def test_conflicting_schema_names_are_renamed_with_their_refs() -> None:
    payments = service_doc(
        {"/v1/payments": {"get": op("Problem")}},
        {
            "Problem": {"type": "object", "title": "payments"},
            "Money": {"$ref": "#/components/schemas/Problem"},
        },
    )
    receipts = service_doc(
        {"/v1/receipts": {"get": op("Problem")}, "/verify/{id}": {"get": op("Money")}},
        {
            "Problem": {"type": "object", "title": "receipts"},
            "Money": {"$ref": "#/components/schemas/Problem"},
        },
    )
    combined = merge(GATEWAY, {Upstream.PAYMENTS: payments, Upstream.RECEIPTS: receipts})
    schemas = combined["components"]["schemas"]
    assert schemas["Problem"]["title"] == "payments"
    assert schemas["ReceiptsProblem"]["title"] == "receipts"
    # Identical definitions are shared, not duplicated (after the refs they contain are renamed).
    assert schemas["Money"] == {"$ref": "#/components/schemas/Problem"}
    assert schemas["ReceiptsMoney"] == {"$ref": "#/components/schemas/ReceiptsProblem"}
    ref = combined["paths"]["/v1/receipts"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert ref == {"$ref": "#/components/schemas/ReceiptsProblem"}
    assert combined["paths"]["/v1/payments"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/Problem"}


class Thing(BaseModel):
    name: str


def tiny_service(path: str) -> FastAPI:
    app = FastAPI()
    app.state.calls = 0

    @app.middleware("http")
    async def count(request: Any, call_next: Any) -> Any:
        app.state.calls += 1
        return await call_next(request)

    @app.get(path)
    def read() -> Thing:
        return Thing(name="x")

    return app


@pytest.mark.anyio
async def test_combined_document_is_cached_only_when_complete() -> None:
    apps = {
        Upstream.INVOICING: tiny_service("/v1/invoices"),
        Upstream.PAYMENTS: tiny_service("/v1/payments"),
    }
    transports: dict[Upstream, httpx.AsyncBaseTransport] = {
        u: httpx.ASGITransport(app=a) for u, a in apps.items()
    }
    settings = GatewaySettings(receipts_url="http://127.0.0.1:1")
    upstreams = Upstreams(settings, transports)
    now = [0.0]
    combined = CombinedOpenApi(upstreams, lambda: GATEWAY, ttl=60, clock=lambda: now[0])
    first = await combined.document()
    assert first["info"]["x-tessera-unavailable"] == ["receipts"]
    assert {"/v1/invoices", "/v1/payments"} <= set(first["paths"])
    await combined.document()
    assert apps[Upstream.INVOICING].state.calls == 2  # incomplete: fetched again

    transports[Upstream.RECEIPTS] = httpx.ASGITransport(app=tiny_service("/v1/receipts"))
    await upstreams.aclose()
    upstreams = Upstreams(settings, transports)
    combined = CombinedOpenApi(upstreams, lambda: GATEWAY, ttl=60, clock=lambda: now[0])
    complete = await combined.document()
    assert complete["info"]["x-tessera-unavailable"] == []
    calls = apps[Upstream.INVOICING].state.calls
    now[0] = 30
    await combined.document()
    assert apps[Upstream.INVOICING].state.calls == calls
    now[0] = 61
    await combined.document()
    assert apps[Upstream.INVOICING].state.calls == calls + 1
    await upstreams.aclose()
