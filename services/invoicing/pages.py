"""Server-rendered pages (placeholder until the portal lands)."""

from __future__ import annotations

from fastapi import APIRouter

pages = APIRouter(prefix="/invoicing", include_in_schema=False)
