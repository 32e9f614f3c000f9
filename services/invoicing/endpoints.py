"""Invoicing HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.common.db import SessionDep
from services.common.identity import SupplierDep
from services.invoicing import service
from services.invoicing.schemas import InvoicePage, InvoiceSummary

api = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@api.get("", summary="The calling supplier's invoices, newest first")
def list_invoices(
    session: SessionDep,
    supplier: SupplierDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InvoicePage:
    items, total = service.list_supplier_invoices(
        session, supplier_id=supplier.supplier_id, limit=limit, offset=offset
    )
    return InvoicePage(
        items=[InvoiceSummary.model_validate(i) for i in items], total=total, limit=limit, offset=offset
    )
