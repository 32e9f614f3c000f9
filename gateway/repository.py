"""Every query the gateway makes on its own database. Functions add and flush; the caller's
session commits at the edge."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.models import ApiKey


def add_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def get_key(session: Session, key_id: uuid.UUID) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_keys(session: Session, *, include_revoked: bool = True) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return session.scalars(query).all()


def mark_used(session: Session, key_id: uuid.UUID, *, at: datetime, not_since: datetime) -> None:
    """Record a use at ``at`` unless one was already recorded after ``not_since``: one write a
    minute per key instead of one per request."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < not_since))
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )
