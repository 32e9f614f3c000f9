"""Webhooks to suppliers are signed with each supplier's own secret, never with the services'
shared ``TESSERA_WEBHOOK_SECRETS`` (a supplier that knew those could forge events between the
services).

The common relay signs every delivery with the shared secrets. :class:`SupplierSigning` is the
transport of the invoicing relay's HTTP client: a delivery to one of the configured (internal)
subscribers passes unchanged; an ``invoice.status_changed`` delivery for a supplier goes to the
URL that supplier has registered at the time of delivery, signed with that supplier's secret
(same ``Tessera-Signature`` scheme). When the supplier has since removed its registration the
delivery is dropped (answered locally with 204 ``Tessera-Delivery: dropped``): it never leaves
with the shared signature. The status history stays readable at ``.../events``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass

import httpx

from services.common.outbox import Outbox, Subscription, Subscriptions
from services.common.webhooks import SIGNATURE_HEADER, sign

STATUS_CHANGED = "invoice.status_changed"


def supplier_outbox(outbox: Outbox, webhook_url: str | None) -> Outbox:
    """``outbox`` with the supplier's webhook (if it registered one) subscribed to its status events."""
    if webhook_url is None:
        return outbox
    entries = (*outbox.subscriptions.entries, Subscription(patterns=(STATUS_CHANGED,), url=webhook_url))
    return Outbox(outbox.tables, Subscriptions(entries))


@dataclass(frozen=True, slots=True)
class Registration:
    url: str
    secret: str


RegistrationLookup = Callable[[str], Registration | None]
"""supplier id -> its current webhook registration, if any."""


class SupplierSigning(httpx.BaseTransport):
    def __init__(
        self, inner: httpx.BaseTransport, registration_of: RegistrationLookup, internal_urls: Collection[str]
    ) -> None:
        self.inner = inner
        self.registration_of = registration_of
        self.internal_urls = frozenset(internal_urls)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if (
            str(request.url) in self.internal_urls
            or request.headers.get("Tessera-Event-Type") != STATUS_CHANGED
        ):
            return self.inner.handle_request(request)
        body = request.read()
        try:
            supplier_id = str(json.loads(body)["data"]["supplier_id"])
        except (ValueError, KeyError, TypeError):
            return httpx.Response(204, headers={"Tessera-Delivery": "dropped"}, request=request)
        registration = self.registration_of(supplier_id)
        if registration is None:
            return httpx.Response(204, headers={"Tessera-Delivery": "dropped"}, request=request)
        headers = httpx.Headers(request.headers)
        headers.pop("host", None)
        headers[SIGNATURE_HEADER] = sign(body, [registration.secret])  # replaces the shared signature
        outgoing = httpx.Request(
            request.method, registration.url, headers=headers, content=body, extensions=request.extensions
        )
        return self.inner.handle_request(outgoing)

    def close(self) -> None:
        self.inner.close()
