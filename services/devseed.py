"""First-start preparation for ``tessera run``: migrate every database, create the development
signing key, and seed the demo municipality (API keys for a supplier, an officer and an admin,
and a few payments waiting to be paid) so a person can try every flow at once.

The demo keys are kept in ``var/demo-keys.json`` (development only: production keys are shown
once and never stored in plain text) so that every start can print them again.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from gateway import service as keys
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.devkeys import ensure_dev_signing_key
from services.common.identity import Role
from services.common.migrations import SECTIONS, upgrade
from services.common.settings import MunicipalitySettings
from services.invoicing.samples import sample_invoice
from services.payments import references
from services.payments import service as payments
from services.payments.providers import SandboxProvider
from services.payments.schemas import PaymentCreate, PaymentRequestCreate
from services.payments.settings import PaymentsSettings

DEMO_FILE = "demo-keys.json"
DEMO_SUPPLIER = "IT01234567890"  # VAT id of the demo supplier


def _create_demo_keys() -> dict[str, str]:
    database = Database(GatewaySettings().effective_database_url)
    try:
        with database.sessionmaker() as session:
            created = {}
            for role, name, supplier in (
                (Role.SUPPLIER, "Demo supplier (Fornitore Demo S.r.l.)", DEMO_SUPPLIER),
                (Role.OFFICER, "Demo finance officer", None),
                (Role.ADMIN, "Demo administrator", None),
            ):
                _key, plaintext = keys.create_key(session, name=name, role=role, supplier_id=supplier)
                created[role.value] = plaintext
            session.commit()
            return created
    finally:
        database.dispose()


def _create_demo_payments() -> list[dict[str, str]]:
    """A few fees waiting to be paid, created through the payments service's own rules."""
    settings = PaymentsSettings()
    provider = SandboxProvider(settings.public_url)
    limits = payments.Limits(max_amount=settings.max_amount_by_currency)
    demo = [
        (4500, "EUR", "DEMO-PARK-0001", "Parking fine, Via Roma"),
        (12000, "EUR", "DEMO-WASTE-0001", "Waste collection fee 2026, first instalment"),
        (2500, "EUR", "DEMO-LIB-0001", "Library card renewal"),
    ]
    database = Database(settings.resolved_database_url())
    try:
        with database.sessionmaker() as session:
            created = []
            for amount, currency, reference, description in demo:
                data = PaymentCreate.model_validate(
                    {
                        "amount": amount,
                        "currency": currency,
                        "reference": reference,
                        "description": description,
                        "return_url": f"{settings.public_url}/",
                    }
                )
                payment = payments.create_payment(
                    session, data=data, provider=provider, created_by="demo-seed", limits=limits
                )
                created.append(
                    {
                        "id": str(payment.id),
                        "description": description,
                        "pay": provider.checkout_url(payment.id),
                    }
                )
            session.commit()
            return created
    finally:
        database.dispose()


def _create_demo_payment_requests() -> list[dict[str, str]]:
    """A few amounts owed, each with its RF creditor reference, as a city would print on notices."""
    settings = PaymentsSettings()
    limits = payments.Limits(max_amount=settings.max_amount_by_currency)
    due = (date.today() + timedelta(days=60)).isoformat()
    first = (date.today() + timedelta(days=30)).isoformat()
    demo: list[dict[str, object]] = [
        {
            "payer": {"name": "Maria Rossi"},
            "description": "Waste collection tax 2026",
            "category": "TARI",
            "amount": 24000,
            "currency": "EUR",
            "due_date": due,
            "instalments": [{"amount": 12000, "due_date": first}, {"amount": 12000, "due_date": due}],
        },
        {
            "payer": {"name": "Anna Svensson"},
            "description": "Preschool fee, December",
            "category": "SCHOOL",
            "amount": 145000,
            "currency": "SEK",
            "due_date": due,
        },
        {
            "payer": {"name": "Kovács Péter"},
            "description": "Parking permit 2027",
            "category": "PARK",
            "amount": 1200000,
            "currency": "HUF",
            "due_date": due,
        },
    ]
    database = Database(settings.resolved_database_url())
    try:
        with database.sessionmaker() as session:
            created = []
            for body in demo:
                request = payments.create_payment_request(
                    session,
                    data=PaymentRequestCreate.model_validate(body),
                    created_by="demo-seed",
                    limits=limits,
                )
                created.append(
                    {
                        "reference": references.display(request.creditor_reference),
                        "description": request.description,
                        "pay": f"{settings.public_url}/pay/owed/{request.creditor_reference}",
                    }
                )
            session.commit()
            return created
    finally:
        database.dispose()


def prepare(*, data_dir: Path, demo: bool) -> list[str]:
    """Migrate, make the dev key, seed the demo once; return lines to print for a person."""
    for section in SECTIONS:
        upgrade(section)
    ensure_dev_signing_key(data_dir)
    if not demo:
        return [
            "Demo data off (TESSERA_DEMO=0): create keys with `tessera keys create --role ... --name ...`"
        ]

    seed_file = data_dir / DEMO_FILE
    if seed_file.exists():
        seeded = json.loads(seed_file.read_text())
    else:
        created_keys = _create_demo_keys()
        seeded = {
            "keys": created_keys,
            "payments": _create_demo_payments(),
            "requests": _create_demo_payment_requests(),
        }
        seed_file.touch(mode=0o600)
        seed_file.write_text(json.dumps(seeded, indent=2))

    municipality = MunicipalitySettings()
    invoice_file = data_dir / "demo-invoice.xml"
    if not invoice_file.exists():
        # A valid 20-line invoice from the demo supplier to this municipality, to upload in the portal.
        invoice_file.write_bytes(
            sample_invoice(
                number=f"DEMO-{date.today():%Y%m%d}-1", issue_date=date.today(), municipality=municipality
            )
        )
    lines = [
        f"Demo municipality  {municipality.name} (VAT {municipality.vat_id}, "
        f"routing codes {', '.join(municipality.routing_code_list)})",
        f"Supplier key       {seeded['keys']['supplier']}   (supplier {DEMO_SUPPLIER})",
        f"Officer key        {seeded['keys']['officer']}",
        f"Admin key          {seeded['keys']['admin']}",
    ]
    for payment in seeded["payments"]:
        lines.append(f"Pay a demo fee     {payment['pay']}   ({payment['description']})")
    for owed in seeded.get("requests", []):
        lines.append(f"Owed (RF ref)      {owed['reference']}   {owed['pay']}   ({owed['description']})")
    lines.append(f"Invoice to upload  {invoice_file}   (in the supplier portal, or POST /v1/invoices)")
    lines.append(
        "Try it:            curl -H 'Authorization: Bearer <officer key>' http://127.0.0.1:8000/v1/payments/<id>"
    )
    return lines
