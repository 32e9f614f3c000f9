"""Small factories for invoicing tests: stored invoice rows without going through submission
(for listings and filters), and signed principal headers for suppliers and officers."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from services.common.db import utcnow
from services.invoicing.models import DocumentKind, Invoice
from services.invoicing.ubl.lifecycle import InvoiceStatus


def stored_invoice(
    supplier_id: str,
    number: str,
    *,
    issue_date: dt.date = dt.date(2026, 3, 2),
    status: InvoiceStatus = InvoiceStatus.RECEIVED,
    created_at: dt.datetime | None = None,
    kind: DocumentKind = DocumentKind.INVOICE,
    **overrides: Any,
) -> Invoice:
    """An invoice row as submission would leave it (documents are placeholders, not a real seal)."""
    body = f"<Invoice>{number}</Invoice>".encode()
    moment = created_at or utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "supplier_id": supplier_id,
        "kind": kind,
        "invoice_number": number,
        "issue_date": issue_date.isoformat(),
        "issue_year": issue_date.year,
        "type_code": "381" if kind is DocumentKind.CREDIT_NOTE else "380",
        "currency": "EUR",
        "amount_due": "122.00",
        "buyer_reference": "UFDEMO-FIN",
        "seller_name": f"Supplier {supplier_id}",
        "status": status,
        "created_at": moment,
        "updated_at": moment,
        "report": {"valid": True, "findings": []},
        "original": body,
        "original_sha256": hashlib.sha256(body).hexdigest(),
        "sealed": body,
        "sealed_sha256": hashlib.sha256(body).hexdigest(),
        "sealed_at": moment,
        "seal_subject": "CN=test",
        "seal_development": True,
    }
    values.update(overrides)
    return Invoice(**values)
