"""Settings shared by every Tessera process, read from the environment.

Each service subclasses :class:`CommonSettings` with its own ``env_prefix``
(``TESSERA_PAYMENTS_`` ...); the fields here are read from their full names (``TESSERA_ENV``...)
whatever the prefix. Development defaults let ``make run`` work on a bare machine; in
production (``TESSERA_ENV=production``) any development secret is refused at start-up.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-"
REPO_ROOT = Path(__file__).resolve().parents[2]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettings(ValueError):
    """A production process was configured with a development secret or default."""


def split_secrets(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        validation_alias="TESSERA_ENV",
        description="development, test or production; production refuses development secrets",
    )
    data_dir: Path = Field(
        REPO_ROOT / "var",
        validation_alias="TESSERA_DATA_DIR",
        description="Where embedded defaults keep their files (SQLite databases, development keys)",
    )
    log_level: str = Field("INFO", validation_alias="TESSERA_LOG_LEVEL", description="Log level name")
    log_format: str = Field(
        "json", validation_alias="TESSERA_LOG_FORMAT", description="json (one object per line) or console"
    )
    worker_threads: int = Field(
        8,
        ge=2,
        le=256,
        validation_alias="TESSERA_WORKER_THREADS",
        description="Threads per process for blocking request work (database, XML); more only adds GIL contention",
    )
    webhook_secrets: str = Field(
        "dev-webhook-secret",
        validation_alias="TESSERA_WEBHOOK_SECRETS",
        description="Comma-separated HMAC secrets for signed webhooks between services; senders sign with "
        "each (one v1 value per secret) and receivers accept any, so a new secret can be rolled out",
    )

    internal_secrets: str = Field(
        "dev-internal-secret",
        validation_alias="TESSERA_INTERNAL_SECRETS",
        description="Comma-separated HMAC secrets with which the gateway signs the caller identity it "
        "forwards to the services; the first signs, all verify (rotation)",
    )

    @property
    def webhook_secret_list(self) -> list[str]:
        return split_secrets(self.webhook_secrets)

    @property
    def internal_secret_list(self) -> list[str]:
        return split_secrets(self.internal_secrets)

    def secret_fields(self) -> dict[str, str]:
        """Every secret this process holds, by setting name: subclasses add their own."""
        return {
            "TESSERA_WEBHOOK_SECRETS": self.webhook_secrets,
            "TESSERA_INTERNAL_SECRETS": self.internal_secrets,
        }

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> CommonSettings:
        if self.environment is Environment.PRODUCTION:
            weak = [
                name
                for name, value in self.secret_fields().items()
                if not value or any(part.strip().startswith(DEV_SECRET_PREFIX) for part in value.split(","))
            ]
            if weak:
                raise InsecureSettings(
                    "TESSERA_ENV=production refuses development secrets; set real values for: "
                    + ", ".join(weak)
                )
        return self

    def sqlite_url(self, name: str) -> str:
        """The embedded default database of one service: a SQLite file under the data directory."""
        return f"sqlite:///{self.data_dir / f'{name}.db'}"


class MunicipalitySettings(BaseSettings):
    """The municipality this installation serves: the buyer on suppliers' invoices and the issuer of
    receipts. The defaults describe the demo municipality seeded by ``make run``."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_MUNICIPALITY_", env_file=".env", extra="ignore")

    name: str = Field("Città di Demo", description="Legal name (BT-44 on invoices, issuer on receipts)")
    vat_id: str = Field("IT00000000000", description="VAT identifier (BT-48)")
    legal_id: str = Field("00000000000", description="Legal registration identifier (BT-47)")
    endpoint_id: str = Field("0201:UFDEMO", description="Electronic address with scheme, SCHEME:ID (BT-49)")
    routing_codes: str = Field(
        "UFDEMO-FIN,UFDEMO-PW", description="Comma-separated buyer references (BT-10) suppliers may invoice"
    )
    country: str = Field("IT", description="ISO 3166-1 alpha-2 country code")

    @property
    def routing_code_list(self) -> list[str]:
        return split_secrets(self.routing_codes)


class ServiceSettings(CommonSettings):
    """What every service with its own database and outbox adds: subclasses set ``service_name``
    and their ``env_prefix`` (``TESSERA_PAYMENTS_`` gives ``TESSERA_PAYMENTS_DATABASE_URL``...)."""

    service_name: ClassVar[str]

    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of this service's database; a SQLite file under the data dir if unset",
    )
    subscribers: str = Field(
        "",
        description="Where this service's events go as signed webhooks: comma-separated entries, each "
        "`URL` (every event type) or `TYPES=URL` with `;`-separated event types or prefixes ending in "
        "`*` (`payment.*;invoice.accepted=https://...`)",
    )
    relay_enabled: bool = Field(
        True, description="Run the outbox relay as a background thread of the web process"
    )
    relay_interval_seconds: float = Field(
        1.0, gt=0, description="How often the relay looks for due deliveries when it has nothing to do"
    )
    relay_batch_size: int = Field(20, gt=0, le=1000, description="Deliveries one relay claims at a time")
    relay_concurrency: int = Field(
        4, gt=0, le=64, description="Deliveries one relay sends at once (never two of one resource)"
    )
    relay_timeout_seconds: float = Field(10.0, gt=0, description="Seconds a subscriber gets to answer")
    relay_backoff_seconds: float = Field(
        2.0,
        gt=0,
        description="Wait after the first failed delivery, or after a subscriber is first found down; "
        "doubled after each further failure",
    )
    relay_backoff_cap_seconds: float = Field(
        900.0,
        gt=0,
        description="Longest wait between two attempts of one delivery, or to a subscriber found down",
    )

    @field_validator("subscribers")
    @classmethod
    def _subscribers_are_readable(cls, value: str) -> str:
        from services.common.outbox import Subscriptions  # the parser lives with the outbox

        Subscriptions.parse(value)
        return value

    @model_validator(mode="after")
    def _backoff_cap_above_base(self) -> ServiceSettings:
        if self.relay_backoff_cap_seconds < self.relay_backoff_seconds:
            raise ValueError("relay_backoff_cap_seconds must be at least relay_backoff_seconds")
        return self

    def resolved_database_url(self) -> str:
        return self.database_url or self.sqlite_url(self.service_name)
