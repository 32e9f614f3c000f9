"""Invoicing errors, each with its HTTP status and stable code::

NotFound (404)
└── InvoiceNotFound (invoice_not_found)
"""

from __future__ import annotations

from services.common.errors import NotFound


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
