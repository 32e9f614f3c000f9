"""The gateway's own database: API keys, stored only as a SHA-256 hash of their secret part."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import IdMixin, TimestampMixin, UtcDateTime, new_metadata
from services.common.identity import Role


class Base(DeclarativeBase):
    metadata = new_metadata()


class ApiKey(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="api_key_role",
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
    )
    # The supplier identity (e.g. a VAT id) a supplier key acts for; empty for every other role.
    supplier_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Hex SHA-256 of the key's secret part: the key itself is shown once and never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
