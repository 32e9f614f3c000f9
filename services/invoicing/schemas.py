"""The invoicing API documents."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.models import InvoiceStatus


class InvoiceSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    invoice_number: str = Field(
        ..., description="The supplier's invoice number (BT-1)", examples=["INV-2026-0042"]
    )
    status: InvoiceStatus
    created_at: datetime


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    total: int = Field(..., description="Invoices in all pages")
    limit: int
    offset: int
