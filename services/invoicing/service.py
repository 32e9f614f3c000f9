"""Invoicing rules (so far: what a supplier may list)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.invoicing import repository
from services.invoicing.models import Invoice


def list_supplier_invoices(
    session: Session, *, supplier_id: str, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    """A supplier sees only its own invoices."""
    return repository.page_for_supplier(session, supplier_id=supplier_id, limit=limit, offset=offset)
