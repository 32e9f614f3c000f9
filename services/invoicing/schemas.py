"""The invoicing API documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.models import DocumentKind, Invoice, RoutingCode, StatusChange, SupplierWebhook
from services.invoicing.ubl.lifecycle import InvoiceStatus, StatusAction, StatusReason

STATUS_NAMES: dict[InvoiceStatus, str] = {
    InvoiceStatus.RECEIVED: "Received",
    InvoiceStatus.IN_PROCESS: "In process",
    InvoiceStatus.UNDER_QUERY: "Under query",
    InvoiceStatus.CONDITIONALLY_ACCEPTED: "Conditionally accepted",
    InvoiceStatus.REJECTED: "Rejected",
    InvoiceStatus.ACCEPTED: "Accepted",
    InvoiceStatus.PAID: "Paid",
}


def links(invoice_id: uuid.UUID) -> dict[str, str]:
    base = f"/v1/invoices/{invoice_id}"
    return {
        "self": base,
        "original": f"{base}/original",
        "sealed": f"{base}/sealed",
        "report": f"{base}/report",
        "events": f"{base}/events",
        "html": f"{base}/html",
    }


class InvoiceSummary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    kind: DocumentKind = Field(..., description="Invoice or CreditNote (the UBL root element)")
    invoice_number: str = Field(
        ..., description="The supplier's invoice number (BT-1)", examples=["INV-2026-0042"]
    )
    issue_date: dt.date = Field(..., description="BT-2 Invoice issue date")
    supplier_id: str = Field(..., description="The supplier identity that submitted it")
    seller_name: str | None = Field(None, description="BT-27 Seller name")
    amount_due: str | None = Field(
        None, description="BT-115 Amount due for payment, as written", examples=["1220.00"]
    )
    currency: str | None = Field(None, description="BT-5 Invoice currency code", examples=["EUR"])
    buyer_reference: str | None = Field(None, description="BT-10 Buyer reference (the routing code)")
    status: InvoiceStatus = Field(..., description="Peppol Invoice Response status (UNCL 4343 subset)")
    status_name: str = Field(..., examples=["Received"])
    created_at: dt.datetime = Field(..., description="When Tessera received it")
    links: dict[str, str] = Field(..., serialization_alias="_links")

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceSummary:
        return cls(**_summary_fields(invoice))


def _summary_fields(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "kind": invoice.kind,
        "invoice_number": invoice.invoice_number,
        "issue_date": dt.date.fromisoformat(invoice.issue_date),
        "supplier_id": invoice.supplier_id,
        "seller_name": invoice.seller_name,
        "amount_due": invoice.amount_due,
        "currency": invoice.currency,
        "buyer_reference": invoice.buyer_reference,
        "status": invoice.status,
        "status_name": STATUS_NAMES[invoice.status],
        "created_at": invoice.created_at,
        "links": links(invoice.id),
    }


class Seal(BaseModel):
    sealed_at: dt.datetime
    subject: str = Field(..., description="Who sealed: the seal certificate's subject")
    development: bool = Field(..., description="Sealed with the development seal, which proves nothing")
    original_sha256: str = Field(..., description="SHA-256 of the exact bytes received")
    sealed_sha256: str


class InvoiceRead(InvoiceSummary):
    type_code: str | None = Field(None, description="BT-3 Invoice type code")
    updated_at: dt.datetime
    payment_reference: str | None = Field(None, description="Set when the invoice is marked paid (PD)")
    seal: Seal
    supplier_signature: dict[str, Any] | None = Field(
        None, description="The check of a signature the supplier put on the invoice (report only)"
    )
    report: dict[str, Any] = Field(..., description="The validation report: EN 16931 and the buyer's checks")

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceRead:
        return cls(
            **_summary_fields(invoice),
            type_code=invoice.type_code,
            updated_at=invoice.updated_at,
            payment_reference=invoice.payment_reference,
            seal=Seal(
                sealed_at=invoice.sealed_at,
                subject=invoice.seal_subject,
                development=invoice.seal_development,
                original_sha256=invoice.original_sha256,
                sealed_sha256=invoice.sealed_sha256,
            ),
            supplier_signature=invoice.supplier_signature,
            report=invoice.report,
        )


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    total: int = Field(..., description="Invoices in all pages")
    limit: int
    offset: int


class StatusChangeRead(BaseModel):
    number: int = Field(..., description="1 for the acknowledgement (AB), then one per move")
    status: InvoiceStatus
    status_name: str
    reasons: list[str] = Field(..., description="OPStatusReason codes")
    actions: list[str] = Field(..., description="OPStatusAction codes")
    note: str | None
    payment_reference: str | None
    actor: str = Field(..., description="Who made the move (the key's name)")
    actor_role: str
    actor_key_id: str
    created_at: dt.datetime
    response: str = Field(..., description="The Invoice Response document of this status")

    @classmethod
    def of(cls, change: StatusChange) -> StatusChangeRead:
        return cls(
            number=change.number,
            status=change.status,
            status_name=STATUS_NAMES[change.status],
            reasons=change.reasons,
            actions=change.actions,
            note=change.note,
            payment_reference=change.payment_reference,
            actor=change.actor_name,
            actor_role=change.actor_role,
            actor_key_id=change.actor_key_id,
            created_at=change.created_at,
            response=f"/v1/invoices/{change.invoice_id}/responses/{change.number}",
        )


class StatusChangeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: InvoiceStatus = Field(..., description="The new status", examples=["AP"])
    reasons: list[StatusReason] = Field(default_factory=list, max_length=10, examples=[["PRI"]])
    actions: list[StatusAction] = Field(default_factory=list, max_length=10, examples=[["NIN"]])
    note: str | None = Field(
        None,
        max_length=2000,
        description="Text for the supplier",
        examples=["Unit price differs from the order"],
    )
    payment_reference: str | None = Field(
        None,
        max_length=200,
        description="Required with PD: the payment's reference",
        examples=["SEPA-2026-000987"],
    )


class VerificationRead(BaseModel):
    status: str = Field(..., examples=["intact"])
    intact: bool
    message: str
    certificate_subject: str | None
    certificate_sha256: str | None
    signed_at: str | None
    development: bool


class RoutingCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(..., min_length=1, max_length=100, pattern=r"^\S(.*\S)?$", examples=["UFDEMO-FIN"])
    description: str = Field("", max_length=300, examples=["Finance office"])


class RoutingCodeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    description: str | None = Field(None, max_length=300)


class RoutingCodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    description: str
    active: bool
    created_by: str
    created_at: dt.datetime

    @classmethod
    def of(cls, routing: RoutingCode) -> RoutingCodeRead:
        return cls.model_validate(routing)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., max_length=500, examples=["https://erp.supplier.example/tessera/events"])
    rotate_secret: bool = Field(False, description="Make a new signing secret (the old one stops at once)")


class WebhookRead(BaseModel):
    supplier_id: str
    url: str
    secret: str | None = Field(
        None,
        description="The secret that signs this supplier's deliveries (Tessera-Signature, HMAC-SHA256): "
        "shown only when it is made (first registration or rotate_secret); keep it",
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, hook: SupplierWebhook, secret: str | None = None) -> WebhookRead:
        return cls(
            supplier_id=hook.supplier_id,
            url=hook.url,
            secret=secret,
            created_at=hook.created_at,
            updated_at=hook.updated_at,
        )
