"""Request and response bodies of the gateway's own API (``/v1/keys``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.identity import Role


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=200,
        description="Who or what uses the key, for people reading the key list",
        examples=["Acme Supplies accounting system"],
    )
    role: Role = Field(description="supplier, officer, admin or service", examples=["supplier"])
    supplier_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The supplier identity (e.g. VAT id) a supplier key acts for; required for the "
        "supplier role and refused for the others",
        examples=["BE0123456789"],
    )


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Key id, also the second part of the key itself")
    name: str = Field(description="Who or what uses the key")
    role: Role = Field(description="The role the key acts with")
    supplier_id: str | None = Field(description="Supplier identity a supplier key is bound to")
    created_at: datetime = Field(description="When the key was created")
    last_used_at: datetime | None = Field(description="Last time the key was used, to the minute")
    revoked_at: datetime | None = Field(description="When the key was revoked; null while it is valid")

    @field_validator("created_at", "last_used_at", "revoked_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands back naive datetimes; every timestamp the gateway writes is UTC.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class KeyCreated(KeyRead):
    key: str = Field(
        description="The API key. It is shown this once and cannot be recovered: store it now",
        examples=["tsk_3f1c2b0a9d8e4f7a8b6c5d4e3f2a1b0c_Jq8..."],
    )
