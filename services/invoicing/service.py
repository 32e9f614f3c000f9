"""Invoicing rules (so far: what a supplier may list)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.common.errors import Forbidden
from services.invoicing import repository
from services.invoicing.models import Invoice


def list_supplier_invoices(
    session: Session, *, supplier_id: str | None, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    """A supplier sees only its own invoices."""
    if not supplier_id:
        raise Forbidden(
            "This supplier key is not bound to a supplier identity; ask an administrator to bind it"
        )
    return repository.page_for_supplier(session, supplier_id=supplier_id, limit=limit, offset=offset)
