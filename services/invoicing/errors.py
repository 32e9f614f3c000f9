"""Invoicing errors, each with its HTTP status and stable code::

Forbidden (403)
├── SupplierNotBound (supplier_not_bound)
└── SellerMismatch (seller_mismatch)
NotFound (404)
├── InvoiceNotFound (invoice_not_found)
├── ResponseNotFound (response_not_found)
├── RoutingCodeNotFound (routing_code_not_found)
└── WebhookNotRegistered (webhook_not_registered)
Conflict (409)
├── DuplicateInvoice (duplicate_invoice)
├── IdempotencyKeyReused (idempotency_key_reused)
├── TransitionRefused (transition_not_allowed)
└── RoutingCodeExists (routing_code_exists)
PayloadTooLarge (413)
└── InvoiceTooLarge (invoice_too_large)
UnsupportedMediaType (415)
└── NotXml (not_xml)
Unprocessable (422)
├── InvoiceInvalid (invoice_invalid): carries the full validation report
├── StatusRequestInvalid (status_request_invalid)
└── WebhookUrlInvalid (webhook_url_invalid)
BadRequest (400)
└── IdempotencyKeyInvalid (idempotency_key_invalid)
"""

from __future__ import annotations

from services.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)


class SupplierNotBound(Forbidden):
    code = "supplier_not_bound"


class SellerMismatch(Forbidden):
    code = "seller_mismatch"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class ResponseNotFound(NotFound):
    code = "response_not_found"


class RoutingCodeNotFound(NotFound):
    code = "routing_code_not_found"


class WebhookNotRegistered(NotFound):
    code = "webhook_not_registered"


class DuplicateInvoice(Conflict):
    code = "duplicate_invoice"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class TransitionRefused(Conflict):
    code = "transition_not_allowed"


class RoutingCodeExists(Conflict):
    code = "routing_code_exists"


class InvoiceTooLarge(PayloadTooLarge):
    code = "invoice_too_large"


class NotXml(UnsupportedMediaType):
    code = "not_xml"


class InvoiceInvalid(Unprocessable):
    code = "invoice_invalid"
    title = "Invoice not accepted"


class StatusRequestInvalid(Unprocessable):
    code = "status_request_invalid"


class WebhookUrlInvalid(Unprocessable):
    code = "webhook_url_invalid"


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency_key_invalid"
