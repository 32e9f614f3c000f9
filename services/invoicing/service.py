"""Invoicing rules: submission (validation, the public buyer's checks, sealing, duplicates,
idempotency), what each caller may see, the Peppol lifecycle with its Invoice Responses and
events, routing codes and suppliers' webhook addresses.

Plain functions with keyword-only arguments; they add and flush, the request commits. An invoice
row is written with its sealed copy in the same transaction, so none exists without its seal.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.attributes import instance_dict

from services.common.db import utcnow
from services.common.identity import Principal, Role
from services.common.outbox import Outbox, Subscriptions, record_event
from services.common.settings import MunicipalitySettings
from services.invoicing import repository
from services.invoicing.checks import BuyerRules, buyer_findings, issue_date, seller_matches, storage_findings
from services.invoicing.errors import (
    DuplicateInvoice,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    InvoiceInvalid,
    InvoiceNotFound,
    ResponseNotFound,
    RoutingCodeExists,
    RoutingCodeNotFound,
    SellerMismatch,
    StatusRequestInvalid,
    SupplierNotBound,
    TransitionRefused,
    WebhookNotRegistered,
    WebhookUrlInvalid,
)
from services.invoicing.models import (
    DocumentKind,
    IdempotencyKey,
    Invoice,
    RoutingCode,
    StatusChange,
    SupplierWebhook,
)
from services.invoicing.repository import InvoiceFilter
from services.invoicing.ubl.facts import InvoiceFacts, read_facts
from services.invoicing.ubl.lifecycle import (
    REASON_REQUIRED,
    InvoiceStatus,
    StatusAction,
    StatusReason,
    TransitionNotAllowed,
    check_transition,
)
from services.invoicing.ubl.ns import NS, Element
from services.invoicing.ubl.response import (
    ResponseError,
    ResponseParty,
    build_invoice_response,
    invoice_reference,
    supplier_party,
)
from services.invoicing.ubl.seal import (
    NotSealable,
    SealedDocument,
    Sealer,
    SealError,
    SealStatus,
    SealVerification,
    verify_seal,
)
from services.invoicing.validation import Finding, Severity, ValidationReport
from services.invoicing.validation.engine import validate_tree
from services.invoicing.validation.parser import Limits, WrongDocumentType, XmlRejected, document_type, parse
from services.invoicing.validation.report import finding_dict
from services.invoicing.webhooks import STATUS_CHANGED, Registration, supplier_outbox

SYSTEM_ACTOR = ("tessera", "Tessera (automatic acknowledgement)", "system")


@dataclass(slots=True)
class Runtime:
    """What the invoicing rules need besides the database, built once at start-up."""

    sealer: Sealer
    municipality: MunicipalitySettings
    outbox: Outbox
    max_invoice_bytes: int
    max_attachments_bytes: int
    public_webhooks_only: bool = False  # production: suppliers' webhooks must be public https URLs

    @property
    def trusted_certificates(self) -> list[x509.Certificate]:
        return [self.sealer.certificate]


@dataclass(frozen=True, slots=True)
class Submitted:
    invoice: Invoice  # a new invoice is the row as written, not attached to the session
    created: bool  # False when an Idempotency-Key replayed an earlier submission


def report_dict(report: ValidationReport) -> dict[str, Any]:
    return {
        "valid": report.valid,
        "document_type": report.document_type,
        "customization_id": report.customization_id,
        "fatal": len(report.fatal),
        "warnings": len(report.warnings),
        "findings": [finding_dict(f) for f in report.findings],
    }


def verification_dict(result: SealVerification) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "intact": result.intact,
        "message": result.message,
        "certificate_subject": result.certificate_subject,
        "certificate_sha256": result.certificate_sha256,
        "signed_at": result.signed_at.isoformat() if result.signed_at else None,
        "development": result.development,
    }


def _bound_supplier(principal: Principal) -> str:
    if principal.role is not Role.SUPPLIER or not principal.supplier_id:
        raise SupplierNotBound(
            "This operation needs a supplier key bound to a supplier identity; ask an administrator to bind it"
        )
    return principal.supplier_id


def _refuse(report: ValidationReport) -> InvoiceInvalid:
    fatal = report.fatal
    first = f"{fatal[0].rule}: {fatal[0].message}" if fatal else ""
    return InvoiceInvalid(
        f"The invoice was not accepted: {len(fatal)} fatal finding(s), e.g. {first}",
        report=report_dict(report),
    )


def _idempotency(session: Session, supplier_id: str, key: str | None, digest: str) -> Invoice | None:
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise IdempotencyKeyInvalid("Idempotency-Key must be 1 to 255 printable characters")
    stored = repository.idempotency_key(session, supplier_id=supplier_id, key=key)
    if stored is None:
        return None
    if stored.request_sha256 != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with another body; use a new key for a new invoice",
            invoice=f"/v1/invoices/{stored.invoice_id}",
        )
    return repository.get_invoice(session, stored.invoice_id)


def _as_written(values: dict[str, Any]) -> Invoice:
    """A transient :class:`Invoice` holding ``values``, a row written without the ORM, to read
    from (the answer, the status event). Its attributes are filled as a loaded row's are, without
    the change tracking that ``Invoice(**values)`` records for a flush that never comes (2 us
    instead of 44 for the 24 columns); it must not be added to a session."""
    mapper = Invoice.__mapper__
    if not mapper.configured:  # Invoice(...) would configure the mappers first, new_instance does not
        configure_mappers()
    invoice: Invoice = mapper.class_manager.new_instance()
    instance_dict(invoice).update(values)
    return invoice


def _report(
    runtime: Runtime,
    validated: ValidationReport,
    facts: InvoiceFacts,
    written_date: str | None,
    routing_codes: Collection[str],
) -> ValidationReport:
    """The validation report with the buyer's checks added, ``routing_codes`` the active ones."""
    rules = BuyerRules(runtime.municipality, routing_codes, runtime.max_attachments_bytes)
    ours = buyer_findings(facts, rules) + storage_findings(facts, written_date)
    report = ValidationReport(
        validated.document_type, validated.customization_id, validated.findings + tuple(ours)
    )
    if report.valid and (facts.invoice_number is None or issue_date(written_date) is None):
        # BR-02, BR-03 and the XSD make this fatal already
        missing = Finding(
            "TESSERA-B2G-07", Severity.FATAL, "BT-1 or BT-2 cannot be read", f"/{facts.document_type}"
        )
        report = ValidationReport(report.document_type, report.customization_id, (*report.findings, missing))
    return report


def _unroutable(
    session: Session,
    runtime: Runtime,
    validated: ValidationReport,
    facts: InvoiceFacts,
    written_date: str | None,
) -> ValidationReport | None:
    """The report with the routing codes as they are, when the invoice's buyer reference (BT-10)
    turns out not to be an active routing code; None when it is one (or there is none)."""
    code = facts.buyer_reference
    if code is None or repository.routing_code_active(session, code):
        return None
    return _report(runtime, validated, facts, written_date, repository.active_routing_codes(session))


def _seal(
    runtime: Runtime, body: bytes, root: Element, facts: InvoiceFacts, report: ValidationReport
) -> tuple[dict[str, Any] | None, SealedDocument]:
    """Check the supplier's own signature, if any, and seal the validated tree ``root`` (which
    becomes the sealed copy); raises the refusal of a signature that shows a change, or of a
    document that cannot be sealed."""
    verdict = verify_seal(body) if facts.signed else None
    if verdict is not None and verdict.status in (SealStatus.ALTERED, SealStatus.INVALID):
        # A document its own signature shows changed (or a signature placed to mislead, e.g. wrapping)
        # is not taken: sealing it would vouch for the change.
        finding = Finding(
            "TESSERA-SIGNATURE", Severity.FATAL, f"the supplier's signature: {verdict.message}", "/"
        )
        raise _refuse(ValidationReport(report.document_type, report.customization_id, (finding,)))
    signature = verification_dict(verdict) if verdict is not None else None
    try:
        return signature, runtime.sealer.seal(body, parsed=root)
    except NotSealable as error:
        finding = Finding(
            "TESSERA-SEAL", Severity.FATAL, f"{error} (the archive seal cannot be applied)", "/"
        )
        raise _refuse(ValidationReport(report.document_type, report.customization_id, (finding,))) from None


def submit_invoice(
    session: Session,
    *,
    runtime: Runtime,
    principal: Principal,
    body: bytes,
    idempotency_key: str | None = None,
) -> Submitted:
    """Validate, check, seal and store one supplier invoice; raises the refusals of ``errors.py``."""
    supplier_id = _bound_supplier(principal)
    digest = hashlib.sha256(body).hexdigest()
    replayed = _idempotency(session, supplier_id, idempotency_key, digest)
    if replayed is not None:
        return Submitted(replayed, created=False)
    try:
        root = parse(body, Limits(max_bytes=runtime.max_invoice_bytes))
        kind = document_type(root)
    except (XmlRejected, WrongDocumentType) as error:
        rule = "XML" if isinstance(error, XmlRejected) else "DOCTYPE"
        raise _refuse(
            ValidationReport(None, None, (Finding(rule, Severity.FATAL, error.message, "/", error.line),))
        ) from None
    facts = read_facts(root)
    if not seller_matches(facts, supplier_id):
        raise SellerMismatch(
            f"The seller on this invoice (BT-31 VAT id {facts.seller_vat_id!r}, BT-29/BT-30 identifiers) is not "
            f"the supplier this API key acts for ({supplier_id}); nothing was stored"
        )
    validated = validate_tree(root, kind)
    written_date = root.findtext(f"{{{NS['cbc']}}}IssueDate")
    number, day = facts.invoice_number, issue_date(written_date)
    # A valid invoice names an active routing code (BT-10). Taken as one here, the code is checked
    # by the statement that writes the invoice (repository.insert_invoice), not by a query of its
    # own; a refusal raised before that write asks first (_unroutable), so that the supplier hears
    # about its routing code as it would have without the shortcut.
    routing_code = facts.buyer_reference
    codes = {routing_code} if routing_code is not None else repository.active_routing_codes(session)
    report = _report(runtime, validated, facts, written_date, codes)
    if not report.valid or number is None or day is None:
        unroutable = _unroutable(session, runtime, validated, facts, written_date)
        raise _refuse(unroutable if unroutable is not None else report)
    assert routing_code is not None  # BT-10 missing is the fatal TESSERA-B2G-02
    try:
        signature, sealed = _seal(runtime, body, root, facts, report)
    except (InvoiceInvalid, SealError):
        unroutable = _unroutable(session, runtime, validated, facts, written_date)
        if unroutable is not None:
            raise _refuse(unroutable) from None
        raise
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "supplier_id": supplier_id,
        "kind": DocumentKind(kind),
        "invoice_number": number,
        "issue_date": day.isoformat(),
        "issue_year": day.year,
        "type_code": facts.type_code,
        "currency": facts.currency,
        "amount_due": str(facts.amount_due) if facts.amount_due is not None else None,
        "buyer_reference": facts.buyer_reference,
        "seller_name": facts.seller_name[:300] if facts.seller_name else None,
        "status": InvoiceStatus.RECEIVED,
        "created_at": now,
        "updated_at": now,
        "payment_reference": None,
        "report": report_dict(report),
        "supplier_signature": signature,
        "original": body,
        "original_sha256": sealed.original_sha256,
        "sealed": sealed.sealed,
        "sealed_sha256": sealed.sealed_sha256,
        "sealed_at": sealed.signed_at,
        "seal_subject": sealed.certificate_subject,
        "seal_development": sealed.development,
    }
    # The row as written, for the answer; it is not attached to the session (see insert_invoice).
    invoice = _as_written(values)
    acknowledgement = _status_change(
        runtime=runtime,
        invoice=invoice,
        facts=facts,
        number=1,
        actor=SYSTEM_ACTOR,
        decision=StatusDecision(InvoiceStatus.RECEIVED),
    )
    # Nothing was written before this insert, so a refusal can roll the whole transaction back.
    # A plain statement rather than a savepoint: pysqlite opens no transaction before a SAVEPOINT,
    # whose RELEASE would then commit on its own.
    event = _status_event(runtime=runtime, invoice=invoice, change=acknowledgement, previous=None)
    try:
        written = repository.insert_invoice(
            session, values, first_change=acknowledgement, event=event, routing_code=routing_code
        )
    except IntegrityError:
        session.rollback()
        original = repository.find_duplicate(
            session,
            supplier_id=supplier_id,
            kind=DocumentKind(kind),
            number=number,
            year=day.year,
        )
        if original is None:
            raise
        if idempotency_key is not None:
            again = _idempotency(session, supplier_id, idempotency_key, digest)
            if again is not None:
                return Submitted(again, created=False)
        raise DuplicateInvoice(
            f"{supplier_id} already submitted {kind} {number} of "
            f"{day.year} (received {original.created_at.isoformat()})",
            original=f"/v1/invoices/{original.id}",
            original_id=str(original.id),
            headers={"Location": f"/v1/invoices/{original.id}"},
        ) from None
    if not written:  # the routing code is not (or no longer) an active one: nothing was written
        raise _refuse(
            _report(runtime, validated, facts, written_date, repository.active_routing_codes(session))
        )
    if idempotency_key is not None:
        session.add(
            IdempotencyKey(
                supplier_id=supplier_id, key=idempotency_key, request_sha256=digest, invoice_id=values["id"]
            )
        )
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used by another submission at the same moment; retry to see its answer"
            ) from None
    return Submitted(invoice, created=True)


def _municipality_party(town: MunicipalitySettings) -> ResponseParty:
    scheme, _, endpoint = town.endpoint_id.partition(":")
    return ResponseParty(endpoint_id=endpoint, endpoint_scheme=scheme, name=town.name)


@dataclass(frozen=True, slots=True)
class StatusDecision:
    status: InvoiceStatus
    reasons: Sequence[StatusReason] = ()
    actions: Sequence[StatusAction] = ()
    note: str | None = None
    payment_reference: str | None = None


def _status_change(
    *,
    runtime: Runtime,
    invoice: Invoice,
    facts: InvoiceFacts,
    number: int,
    actor: tuple[str, str, str],
    decision: StatusDecision,
) -> dict[str, Any]:
    """The row of status change ``number``, with its Invoice Response document."""
    now = utcnow()
    try:
        document = build_invoice_response(
            response_id=f"{invoice.id}-{number}",
            issue_date=now.date(),
            sender=_municipality_party(runtime.municipality),
            receiver=supplier_party(facts),
            invoice=invoice_reference(facts),
            status=decision.status,
            reasons=decision.reasons,
            actions=decision.actions,
            note=decision.note,
            effective_date=now.date() if decision.status is InvoiceStatus.PAID else None,
        )
    except ResponseError as error:
        raise StatusRequestInvalid(f"The Invoice Response cannot be made: {error}") from None
    return {
        "id": uuid.uuid4(),
        "invoice_id": invoice.id,
        "number": number,
        "status": decision.status,
        "reasons": [r.value for r in decision.reasons],
        "actions": [a.value for a in decision.actions],
        "note": decision.note,
        "payment_reference": decision.payment_reference,
        "actor_key_id": actor[0],
        "actor_name": actor[1],
        "actor_role": actor[2],
        "response": document,
        "created_at": now,
    }


def _status_event(
    *, runtime: Runtime, invoice: Invoice, change: dict[str, Any], previous: InvoiceStatus | None
) -> repository.StatusEvent:
    """The supplier's ``invoice.status_changed`` event for status change ``change``, its payload
    already in JSON values (what :func:`~services.common.outbox.record_event` would store)."""
    return repository.StatusEvent(
        outbox=runtime.outbox,
        event_type=STATUS_CHANGED,
        resource_id=str(invoice.id),
        payload={
            "invoice_id": str(invoice.id),
            "supplier_id": invoice.supplier_id,
            "invoice_number": invoice.invoice_number,
            "kind": str(invoice.kind),
            "status": str(change["status"]),
            "previous_status": str(previous) if previous is not None else None,
            "reasons": change["reasons"],
            "actions": change["actions"],
            "note": change["note"],
            "payment_reference": change["payment_reference"],
            "changed_at": change["created_at"].isoformat(),
            "response": f"/v1/invoices/{invoice.id}/responses/{change['number']}",
        },
    )


def _announce(session: Session, event: repository.StatusEvent, *, webhook_url: str | None) -> None:
    """Record ``event`` in the outbox, in the transaction of the change it tells about, for the
    service's subscribers and the supplier's webhook."""
    record_event(
        session,
        supplier_outbox(event.outbox, webhook_url),
        event_type=event.event_type,
        resource_id=event.resource_id,
        payload=event.payload,
    )


def visible_invoice(
    session: Session, *, principal: Principal, invoice_id: uuid.UUID, with_documents: bool = False
) -> Invoice:
    """The invoice if this caller may see it: officers see all, a supplier only its own (another's
    is reported as missing, so ids reveal nothing)."""
    invoice = repository.get_invoice(session, invoice_id, with_documents=with_documents)
    if principal.role in (Role.OFFICER, Role.ADMIN):
        if invoice is not None:
            return invoice
    elif principal.role is Role.SUPPLIER and principal.supplier_id:
        if invoice is not None and invoice.supplier_id == principal.supplier_id:
            return invoice
    else:
        raise SupplierNotBound("Invoices are for suppliers bound to an identity and for officers")
    raise InvoiceNotFound(f"No invoice {invoice_id}")


def list_supplier_invoices(
    session: Session, *, principal: Principal, where: InvoiceFilter, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    """A supplier sees only its own invoices, whatever filter it sends."""
    supplier_id = _bound_supplier(principal)
    mine = InvoiceFilter(
        supplier_id=supplier_id,
        status=where.status,
        issued_from=where.issued_from,
        issued_to=where.issued_to,
        number=where.number,
    )
    return repository.page(session, where=mine, limit=limit, offset=offset)


def list_all_invoices(
    session: Session, *, where: InvoiceFilter, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    """The officers' inbox: every invoice, filtered."""
    return repository.page(session, where=where, limit=limit, offset=offset)


def history(session: Session, *, invoice: Invoice) -> Sequence[StatusChange]:
    return repository.status_changes(session, invoice.id)


def response_document(session: Session, *, invoice: Invoice, number: int) -> bytes:
    change = repository.status_change(session, invoice.id, number)
    if change is None:
        raise ResponseNotFound(f"Invoice {invoice.id} has no Invoice Response number {number}")
    return change.response


def change_status(
    session: Session,
    *,
    runtime: Runtime,
    principal: Principal,
    invoice_id: uuid.UUID,
    decision: StatusDecision,
) -> StatusChange:
    """An officer moves an invoice along the Peppol lifecycle; the move, its Invoice Response and
    the supplier's event are written together."""
    invoice = repository.get_invoice(session, invoice_id, with_documents=True, for_update=True)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id}")
    try:
        check_transition(invoice.status, decision.status)
    except TransitionNotAllowed as error:
        raise TransitionRefused(str(error).capitalize(), current=invoice.status.value) from None
    if decision.status in REASON_REQUIRED and not (decision.reasons or decision.actions):
        raise StatusRequestInvalid(
            f"Status {decision.status} needs a reason or action code saying why (PEPPOL-T111-R001)"
        )
    if decision.status is InvoiceStatus.PAID and not (decision.payment_reference or "").strip():
        raise StatusRequestInvalid("Marking an invoice paid (PD) needs the payment reference")
    previous = invoice.status
    facts = read_facts(
        parse(invoice.original, Limits(max_bytes=max(runtime.max_invoice_bytes, len(invoice.original))))
    )
    number = repository.last_change_number(session, invoice.id) + 1
    invoice.status = decision.status
    invoice.updated_at = utcnow()
    if decision.status is InvoiceStatus.PAID:
        invoice.payment_reference = (decision.payment_reference or "").strip()
    actor = (principal.key_id, principal.name, principal.role.value)
    hook = repository.supplier_webhook(session, invoice.supplier_id)
    change = _status_change(
        runtime=runtime, invoice=invoice, facts=facts, number=number, actor=actor, decision=decision
    )
    repository.insert_status_change(session, change)
    _announce(
        session,
        _status_event(runtime=runtime, invoice=invoice, change=change, previous=previous),
        webhook_url=hook.url if hook is not None else None,
    )
    return StatusChange(**change)


def verify_document(*, runtime: Runtime, body: bytes) -> SealVerification:
    """Who sealed ``body`` and whether anything changed since (report only, nothing stored)."""
    return verify_seal(body, trusted_certs=runtime.trusted_certificates)


# Routing codes (BT-10) -----------------------------------------------------------------


def seed_routing_codes(session: Session, *, codes: Sequence[str]) -> int:
    """Add the configured codes that are not in the table yet (a code an officer deactivated stays
    so). Commits each code on its own: this runs at start-up, outside any request."""
    added = 0
    for code in codes:
        if repository.routing_code(session, code) is not None:
            continue
        session.add(
            RoutingCode(
                code=code, description="From TESSERA_MUNICIPALITY_ROUTING_CODES", created_by="settings"
            )
        )
        try:
            session.commit()
            added += 1
        except IntegrityError:
            session.rollback()  # another process seeded it at the same moment
    return added


def list_routing_codes(session: Session, *, include_inactive: bool) -> Sequence[RoutingCode]:
    return repository.routing_codes(session, active_only=not include_inactive)


def add_routing_code(session: Session, *, principal: Principal, code: str, description: str) -> RoutingCode:
    if repository.routing_code(session, code) is not None:
        raise RoutingCodeExists(f"The routing code {code!r} exists already; update it instead")
    routing = RoutingCode(code=code, description=description, active=True, created_by=principal.name)
    session.add(routing)
    try:
        session.flush()
    except IntegrityError:  # added by another officer at the same moment; nothing else was written
        session.rollback()
        raise RoutingCodeExists(f"The routing code {code!r} exists already; update it instead") from None
    return routing


def update_routing_code(
    session: Session, *, code: str, active: bool | None, description: str | None
) -> RoutingCode:
    routing = repository.routing_code(session, code)
    if routing is None:
        raise RoutingCodeNotFound(f"No routing code {code!r}")
    if active is not None:
        routing.active = active
    if description is not None:
        routing.description = description
    session.flush()
    return routing


# Suppliers' webhook addresses ----------------------------------------------------------


def _refuse_private_host(host: str) -> None:
    """In production a supplier's webhook may not point inside the municipality's network."""
    if host.lower() in ("localhost", "") or host.lower().endswith((".localhost", ".internal", ".local")):
        raise WebhookUrlInvalid(f"The webhook host {host!r} is not a public address")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if not address.is_global:
        raise WebhookUrlInvalid(f"The webhook address {host!r} is not a public address")


def set_webhook(
    session: Session, *, runtime: Runtime, principal: Principal, url: str, rotate_secret: bool = False
) -> tuple[SupplierWebhook, str | None]:
    """Register (or move) the supplier's webhook; the secret is returned only when new."""
    supplier_id = _bound_supplier(principal)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise WebhookUrlInvalid("The webhook URL must be an http(s) URL with a host and without credentials")
    if runtime.public_webhooks_only:
        if parts.scheme != "https":
            raise WebhookUrlInvalid("The webhook URL must use https")
        _refuse_private_host(parts.hostname)
    try:
        Subscriptions.parse(url)
    except ValueError as error:
        raise WebhookUrlInvalid(str(error)) from None
    hook = repository.supplier_webhook(session, supplier_id)
    now = utcnow()
    new_secret: str | None = None
    if hook is None:
        new_secret = f"whsec_{secrets.token_urlsafe(32)}"
        hook = SupplierWebhook(
            supplier_id=supplier_id, url=url, secret=new_secret, created_at=now, updated_at=now
        )
        session.add(hook)
    else:
        if rotate_secret:
            new_secret = f"whsec_{secrets.token_urlsafe(32)}"
            hook.secret = new_secret
        hook.url, hook.updated_at = url, now
    session.flush()
    return hook, new_secret


def webhook_registration(session: Session, *, supplier_id: str) -> Registration | None:
    hook = repository.supplier_webhook(session, supplier_id)
    return Registration(hook.url, hook.secret) if hook is not None else None


def get_webhook(session: Session, *, principal: Principal) -> SupplierWebhook:
    hook = repository.supplier_webhook(session, _bound_supplier(principal))
    if hook is None:
        raise WebhookNotRegistered("No webhook URL is registered for this supplier")
    return hook


def delete_webhook(session: Session, *, principal: Principal) -> None:
    hook = get_webhook(session, principal=principal)
    session.delete(hook)
    session.flush()
