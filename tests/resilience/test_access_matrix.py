"""The authorization matrix: every operation of every service, called through the gateway in front
of the real apps by every kind of caller, compared with the intended policy in
``docs/access-policy.md`` (a table written by hand, not derived from ``gateway/policy.py``).

The operations come from the gateway's combined OpenAPI document and from the pages each service
serves behind a gateway route, so a new endpoint without a row in the policy fails here, as does
a row whose endpoint is gone. Resources in the paths are real (supplier A's invoice, a payment, a
receipt, a reconciliation run), so "another supplier gets 404" is checked against an invoice its
owner can read.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from gateway.openapi import HTTP_METHODS
from gateway.policy import SESSION_COOKIE, Upstream, find_route
from services.common.identity import Role
from services.common.webhooks import SIGNATURE_HEADER, sign
from services.invoicing.samples import default_seller, sample_invoice
from tests.conftest import INTERNAL_SECRET, WEBHOOK_SECRET
from tests.gateway.conftest import gateway_client, make_key, running, settings_for
from tests.invoicing.conftest import SELLER

pytestmark = pytest.mark.anyio

POLICY = Path(__file__).resolve().parents[2] / "docs" / "access-policy.md"
CALLERS = ("no key", "revoked key", "supplier", "other supplier", "officer", "admin", "service")
OUTCOMES = frozenset({"allow", "401", "403", "404"})
NOT_EXPOSED_SECTION = "Not exposed"
SUPPLIER_A = SELLER  # the seller of services.invoicing.samples.sample_invoice
SUPPLIER_B = "NL999999999B01"
ROW = re.compile(r"^\|\s*([A-Z]+) (/\S*)\s*\|(.*)\|\s*$")

Operation = tuple[str, str]  # (method, path template)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True, slots=True)
class PolicyRow:
    section: str
    outcomes: dict[str, str]


def read_policy(text: str) -> dict[Operation, PolicyRow]:
    """The policy table: (method, template) -> caller -> outcome; malformed rows are errors."""
    rows: dict[Operation, PolicyRow] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        match = ROW.match(line)
        if match is None:
            continue
        method, template, cells = match.groups()
        outcomes = [c.strip() for c in cells.split("|")]
        assert len(outcomes) == len(CALLERS), f"line {number}: {len(outcomes)} outcomes, not {len(CALLERS)}"
        assert set(outcomes) <= OUTCOMES, f"line {number}: unknown outcome in {outcomes}"
        assert (method, template) not in rows, f"line {number}: {method} {template} twice"
        rows[(method, template)] = PolicyRow(section, dict(zip(CALLERS, outcomes, strict=True)))
    return rows


def test_policy_reader_refuses_malformed_rows() -> None:
    assert (
        read_policy("## A\n| GET /x | allow | 401 | 403 | 404 | 403 | allow | allow |\n")[
            ("GET", "/x")
        ].outcomes["other supplier"]
        == "404"
    )
    with pytest.raises(AssertionError, match="outcomes"):
        read_policy("| GET /x | allow | 401 |\n")
    with pytest.raises(AssertionError, match="unknown outcome"):
        read_policy("| GET /x | ok | 401 | 403 | 404 | 400 | allow | allow |\n")


def page_operations(app: FastAPI, upstream: Upstream) -> set[Operation]:
    """Routes a service keeps out of its OpenAPI document (HTML pages) that the gateway still
    routes to it."""
    found: set[Operation] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path
        route = find_route(path) if path else None
        if context.include_in_schema or path is None or route is None or route.upstream is not upstream:
            continue
        found.update((m, path) for m in (context.methods or ()) if m != "HEAD")
    return found


def gateway_own_operations(app: FastAPI) -> set[Operation]:
    found: set[Operation] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path
        if path is None or "{path" in path:  # the catch-all that forwards to the services
            continue
        found.update((m, path) for m in (context.methods or ()) if m != "HEAD")
    return found


@dataclass
class World:
    http: httpx.AsyncClient
    apps: dict[Upstream, FastAPI]
    headers: dict[str, dict[str, str]]
    key_ids: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    database_url: str = ""


def service_apps(
    invoicing_settings: Any, payments_settings: Any, receipts_settings: Any
) -> dict[Upstream, FastAPI]:
    from services.invoicing.app import create_app as invoicing_app
    from services.payments.app import create_app as payments_app
    from services.receipts.app import create_app as receipts_app

    return {
        Upstream.INVOICING: invoicing_app(invoicing_settings),
        Upstream.PAYMENTS: payments_app(payments_settings),
        Upstream.RECEIPTS: receipts_app(receipts_settings),
    }


PAYMENT = {
    "amount": 4500,
    "currency": "EUR",
    "reference": "PARK-2026-000123",
    "description": "Residential parking permit",
    "return_url": "https://city.example/permits/123/paid",
}
OWED = {
    "payer": {"name": "Maria Rossi", "tax_code": "RSSMRA80A01H501U", "email": "maria@example.org"},
    "description": "Waste collection tax 2026",
    "category": "TARI",
    "amount": 10000,
    "currency": "EUR",
    "due_date": "2099-12-31",
}


async def prepare(world: World) -> None:
    """Real resources for every path parameter, made by the callers that may make them."""
    http, h = world.http, world.headers
    submitted = await http.post(
        "/v1/invoices",
        content=sample_invoice(number="MATRIX-1"),
        headers={**h["supplier"], "Content-Type": "application/xml"},
    )
    assert submitted.status_code == 201, submitted.text
    world.params["invoice_id"] = submitted.json()["id"]
    answer = await http.post(
        f"/v1/invoices/{world.params['invoice_id']}/status", headers=h["officer"], json={"status": "IP"}
    )
    assert answer.status_code < 300, answer.text
    world.params["number"] = "1"
    world.params["which"] = "original"
    payment = await http.post("/v1/payments", headers=h["officer"], json=PAYMENT)
    assert payment.status_code == 201, payment.text
    world.params["payment_id"] = payment.json()["payment_id"]
    owed = await http.post("/v1/payment-requests", headers=h["service"], json=OWED)
    assert owed.status_code == 201, owed.text
    world.params["request_id"] = owed.json()["payment_request_id"]
    world.params["creditor_reference"] = owed.json()["creditor_reference"]
    code = await http.post("/v1/routing-codes", headers=h["officer"], json={"code": "MATRIX-1"})
    assert code.status_code == 201, code.text
    world.params["code"] = "MATRIX-1"
    for supplier in ("supplier", "other supplier"):
        hook = await http.put(
            "/v1/invoices/webhook", headers=h[supplier], json=BODIES[("PUT", "/v1/invoices/webhook")]
        )
        assert hook.status_code < 300, hook.text
    world.params["key_id"], _ = make_key(world.database_url, Role.OFFICER, name="to revoke")
    await deliver_paid_event(world.apps[Upstream.RECEIPTS])
    receipts = await http.get("/v1/receipts", headers=h["officer"])
    assert receipts.status_code == 200, receipts.text
    receipt = receipts.json()["items"][0]
    world.params["receipt_id"] = str(receipt.get("receipt_id") or receipt["id"])
    await pdf_drawn(http, world.params["receipt_id"], h["officer"])
    series = await http.get("/v1/receipts/series", headers=h["officer"])
    world.params["series_key"] = series.json()[0]["key"]
    run = await http.post("/v1/reconciliation/runs", headers=h["officer"], json={})
    assert run.status_code == 201, run.text
    world.params["run_id"] = run.json()["id"]


async def pdf_drawn(http: httpx.AsyncClient, receipt_id: str, headers: dict[str, str]) -> None:
    """Wait until the receipt's PDF is drawn (in the background, by a child process that may
    still be starting), so that the matrix meets it in its steady state, not "not ready yet"."""
    deadline = time.monotonic() + 60
    while (answer := await http.get(f"/v1/receipts/{receipt_id}/pdf", headers=headers)).status_code == 503:
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.2)
    assert answer.status_code == 200, answer.text


async def deliver_paid_event(receipts_app: FastAPI) -> None:
    from tests.receipts.test_endpoints import paid_event

    body = paid_event().encode()
    transport = httpx.ASGITransport(app=receipts_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receipts.test") as direct:
        answer = await direct.post(
            "/webhooks/events",
            content=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, [WEBHOOK_SECRET])},
        )
    assert answer.status_code < 300, answer.text


def page_csrf(key_id: str) -> str:
    """The invoicing pages' form token for a key (HMAC of the key id under the internal secret)."""
    return hmac.new(INTERNAL_SECRET.encode(), f"pages:{key_id}".encode(), hashlib.sha256).hexdigest()


def request_for(world: World, method: str, template: str, caller: str) -> dict[str, Any]:
    """Path, headers and a plausible body for one call: allowed callers should reach the
    operation itself, not trip on a missing form token or an empty body."""
    path = template.format(**world.params)
    headers = dict(world.headers[caller])
    kwargs: dict[str, Any] = {}
    csrf = page_csrf(world.key_ids[caller]) if caller in world.key_ids else "none"
    if template == "/invoicing/login" and method == "POST":
        headers["Cookie"] = "tessera_login=matrix-token"
        kwargs["data"] = {"csrf": "matrix-token", "key": "tsk_" + "0" * 32 + "_" + "x" * 20}
    elif template.startswith("/invoicing/") and method == "POST":
        kwargs["data"] = {"csrf": csrf, "status": "IP"}
        if template.endswith("/upload"):
            kwargs["files"] = {"invoice": ("a.xml", b"<Invoice/>", "application/xml")}
    elif template in ("/v1/invoices", "/v1/invoices/verify") and method == "POST":
        headers["Content-Type"] = "application/xml"
        kwargs["content"] = b"<Invoice/>"
    elif method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = BODIES.get((method, template), {})
    return {"method": method, "url": path, "headers": headers, **kwargs}


BODIES: dict[Operation, Any] = {
    ("POST", "/v1/keys"): {"name": "matrix", "role": "officer"},
    ("PUT", "/v1/invoices/webhook"): {"url": "https://erp.supplier.example/tessera/events"},
    ("POST", "/v1/invoices/{invoice_id}/status"): {"status": "IP"},
    ("POST", "/v1/routing-codes"): {"code": "MATRIX-2"},
    ("PATCH", "/v1/routing-codes/{code}"): {"description": "Finance office"},
    ("POST", "/v1/payments"): PAYMENT,
    ("POST", "/v1/payments/{payment_id}/refunds"): {"amount": 100, "refund_amount_available": 4500},
    ("POST", "/v1/payment-requests"): OWED,
    ("POST", "/v1/reconciliation/runs"): {},
    ("POST", "/v1/reconciliation/closes"): {"day": date.today().isoformat()},
    ("POST", "/v1/reconciliation/payouts"): {"payouts": []},
}


def matches(outcome: str, status: int) -> bool:
    if outcome == "allow":
        return status < 500 and status not in (401, 403, 404)
    return status == int(outcome)


@pytest.fixture
async def world(
    gateway_db_url: str, invoicing_settings: Any, payments_settings: Any, receipts_settings: Any
) -> AsyncIterator[World]:
    apps = service_apps(invoicing_settings, payments_settings, receipts_settings)
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(running(app))
        transports = {u: httpx.ASGITransport(app=a) for u, a in apps.items()}
        big = 100_000
        settings = settings_for(
            gateway_db_url,
            rate_limit_supplier=big,
            rate_limit_officer=big,
            rate_limit_admin=big,
            rate_limit_service=big,
            rate_limit_anonymous=big,
        )
        http = await stack.enter_async_context(gateway_client(settings, transports=transports))
        key_ids: dict[str, str] = {}
        headers: dict[str, dict[str, str]] = {"no key": {}}
        roles = {
            "supplier": (Role.SUPPLIER, SUPPLIER_A),
            "other supplier": (Role.SUPPLIER, SUPPLIER_B),
            "officer": (Role.OFFICER, None),
            "admin": (Role.ADMIN, None),
            "service": (Role.SERVICE, None),
            "revoked key": (Role.OFFICER, None),
        }
        for caller, (role, supplier_id) in roles.items():
            key_id, plaintext = make_key(gateway_db_url, role, supplier_id=supplier_id, name=caller)
            key_ids[caller] = key_id
            headers[caller] = {"Authorization": f"Bearer {plaintext}"}
        world = World(http=http, apps=apps, headers=headers, key_ids=key_ids, database_url=gateway_db_url)
        revoked = await http.post(f"/v1/keys/{key_ids['revoked key']}/revoke", headers=headers["admin"])
        assert revoked.status_code == 200, revoked.text
        await prepare(world)
        yield world


async def exposed_operations(world: World) -> tuple[set[Operation], set[Operation]]:
    """(operations of the combined OpenAPI plus routed pages, the gateway's own extra routes)."""
    document = (await world.http.get("/openapi.json")).json()
    assert document["info"]["x-tessera-unavailable"] == []
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in HTTP_METHODS
        if method in item
    }
    for upstream, app in world.apps.items():
        operations |= page_operations(app, upstream)
    gateway_app: FastAPI = world.http._transport.app  # type: ignore[attr-defined]
    return operations, gateway_own_operations(gateway_app)


async def test_every_operation_answers_every_caller_as_the_policy_says(world: World) -> None:
    policy = read_policy(POLICY.read_text(encoding="utf-8"))
    operations, gateway_own = await exposed_operations(world)
    missing = sorted(operations - set(policy))
    assert not missing, f"operations without a row in docs/access-policy.md: {missing}"
    stale = sorted(
        op
        for op, row in policy.items()
        if op not in operations and op not in gateway_own and row.section != NOT_EXPOSED_SECTION
    )
    assert not stale, f"rows in docs/access-policy.md for operations that do not exist: {stale}"

    # Denied callers first, so that operations that change state (cancel, revoke) meet the
    # allowed callers last; the admin, whose key revocation would end the run, goes last.
    order = ("no key", "revoked key", "other supplier", "supplier", "service", "officer", "admin")
    differences: list[str] = []
    unexpected_allows: list[str] = []
    owner_answers: dict[Operation, int] = {}
    calls = 0
    # Deleting comes after reading, so the webhook a supplier registered is still there to read.
    for (method, template), row in sorted(policy.items(), key=lambda i: (i[0][0] == "DELETE", i[0])):
        for caller in order:
            answer = await world.http.request(**request_for(world, method, template, caller))
            calls += 1
            expected = row.outcomes[caller]
            if caller == "supplier":
                owner_answers[(method, template)] = answer.status_code
            if not matches(expected, answer.status_code):
                line = f"{method} {template} as {caller}: expected {expected}, got {answer.status_code} {answer.text[:160]}"
                differences.append(line)
                if expected != "allow" and matches("allow", answer.status_code):
                    unexpected_allows.append(line)
    print(f"authorization matrix: {len(policy)} operations x {len(CALLERS)} callers = {calls} calls")
    assert not unexpected_allows, "\n".join(unexpected_allows)
    assert not differences, "\n".join(differences)
    # A 404 for another supplier means something only if the owner reads the same path.
    for (method, template), row in policy.items():
        if row.outcomes["other supplier"] == "404" and row.outcomes["supplier"] == "allow":
            assert owner_answers[(method, template)] < 400, (method, template)
    cross = [
        op
        for op, row in policy.items()
        if row.outcomes["other supplier"] == "404" and row.outcomes["supplier"] == "allow"
    ]
    assert len(cross) >= 10


async def test_session_cookie_is_a_key_only_on_the_pages(world: World) -> None:
    """The login form's cookie opens the invoicing pages, never the API."""
    plaintext = world.headers["supplier"]["Authorization"].removeprefix("Bearer ")
    cookie = {"Cookie": f"{SESSION_COOKIE}={plaintext}"}
    assert (await world.http.get("/invoicing/portal", headers=cookie)).status_code == 200
    assert (await world.http.get("/v1/invoices", headers=cookie)).status_code == 401


async def test_a_guessed_invoice_id_is_404_for_everyone_who_may_read_invoices(world: World) -> None:
    guess = uuid.uuid4()
    for caller in ("supplier", "other supplier", "officer", "admin"):
        answer = await world.http.get(f"/v1/invoices/{guess}", headers=world.headers[caller])
        assert answer.status_code == 404, caller


PATH_VARIANTS = (
    "{path}/",
    "{upper}",
    "/{path}",
    "{path}%2F",
    "{path}/%2e%2e/%2e%2e/v1/keys",
    "{path};x=1",
    "{path}?role=admin",
)


async def test_spellings_of_a_path_never_widen_access(world: World) -> None:
    """Trailing slashes, case, doubled or encoded slashes and dots: a refused caller stays refused,
    and no answer points a browser at a service's internal address."""
    probes = (("/v1/keys", "officer"), ("/v1/receipts", "supplier"), ("/v1/payments", "supplier"))
    for path, caller in probes:
        for variant in PATH_VARIANTS:
            spelled = variant.format(path=path, upper=path.upper())
            answer = await world.http.get(spelled, headers=world.headers[caller])
            assert answer.status_code in (400, 403, 404, 405), (spelled, caller, answer.status_code)
    for path, caller in (("/v1/receipts", "officer"), ("/v1/payments", "service"), ("/v1/keys", "admin")):
        answer = await world.http.get(path + "/", headers=world.headers[caller])
        location = answer.headers.get("location", "")
        assert "127.0.0.1" not in location and ".test" not in location.replace("gateway.test", ""), (
            path,
            answer.status_code,
            location,
        )


async def test_another_supplier_can_neither_submit_in_a_suppliers_name_nor_learn_of_its_invoices(
    world: World,
) -> None:
    """Supplier B sending an invoice whose seller is supplier A is refused; B reusing A's
    invoice number or A's Idempotency-Key gets its own answer, never A's invoice."""
    a, b = world.headers["supplier"], world.headers["other supplier"]
    xml = {"Content-Type": "application/xml"}
    first = await world.http.post(
        "/v1/invoices",
        content=sample_invoice(number="CROSS-1"),
        headers={**a, **xml, "Idempotency-Key": "shared-key-1"},
    )
    assert first.status_code == 201, first.text
    a_invoice = first.json()["id"]
    impersonation = await world.http.post(
        "/v1/invoices", content=sample_invoice(number="CROSS-2"), headers={**b, **xml}
    )
    assert impersonation.status_code in (403, 422), impersonation.text
    own = sample_invoice(number="CROSS-1", seller=default_seller(SUPPLIER_B))
    same_number = await world.http.post("/v1/invoices", content=own, headers={**b, **xml})
    replayed = await world.http.post(
        "/v1/invoices",
        content=sample_invoice(number="CROSS-3", seller=default_seller(SUPPLIER_B)),
        headers={**b, **xml, "Idempotency-Key": "shared-key-1"},
    )
    # Numbers and idempotency keys are the supplier's own: B's invoices are simply new.
    assert same_number.status_code == 201 and replayed.status_code == 201, (same_number.text, replayed.text)
    for answer in (impersonation, same_number, replayed):
        assert a_invoice not in answer.text, (answer.status_code, answer.text[:300])
        assert answer.headers.get("idempotent-replayed") is None
    listed = (await world.http.get("/v1/invoices", headers=b)).json()
    assert a_invoice not in {i["id"] for i in listed["items"]}
    assert all(i["supplier_id"] == SUPPLIER_B for i in listed["items"] if "supplier_id" in i)
