"""Every invoicing query."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.invoicing.models import Invoice


def page_for_supplier(
    session: Session, *, supplier_id: str, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    mine = Invoice.supplier_id == supplier_id
    total = session.scalar(select(func.count()).select_from(Invoice).where(mine)) or 0
    items = session.scalars(
        select(Invoice)
        .where(mine)
        .order_by(Invoice.created_at.desc(), Invoice.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total
