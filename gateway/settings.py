"""Gateway settings, read from ``TESSERA_GATEWAY_*`` (plus the common ``TESSERA_*`` fields and
``REDIS_URL``). Defaults let the gateway run on a bare development machine in front of the
three services on ports 8001-8003."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.identity import Role
from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_GATEWAY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the API key database; a SQLite file under the data dir if unset"
    )
    invoicing_url: str = Field(
        "http://127.0.0.1:8001",
        description="Base URL of the invoicing service; several, comma-separated, for replicas taken in turn",
    )
    payments_url: str = Field(
        "http://127.0.0.1:8002",
        description="Base URL of the payments service; several, comma-separated, for replicas taken in turn",
    )
    receipts_url: str = Field(
        "http://127.0.0.1:8003",
        description="Base URL of the receipts service; several, comma-separated, for replicas taken in turn",
    )

    upstream_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for an upstream to answer (read/write/pool) before a 504"
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to wait to connect to an upstream")
    replica_rest_seconds: float = Field(
        5.0,
        ge=0,
        description="A replica that refused a connection is passed over for this long, its requests going "
        "to the other replicas of the service; then it is tried again",
    )
    health_timeout: float = Field(2.0, gt=0, description="Seconds each service gets to answer /readyz")
    openapi_cache_seconds: float = Field(
        300.0, ge=0, description="How long the combined OpenAPI document is reused before refetching"
    )
    max_body_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Largest request body forwarded; larger ones get a 413"
    )
    trust_forwarded_headers: bool = Field(
        False,
        description="Behind one trusted load balancer: keep its X-Forwarded-* headers and take the client "
        "address for rate limits from the X-Forwarded-For entry it appended (the last)",
    )

    redis_url: str | None = Field(
        None,
        validation_alias="REDIS_URL",
        description="When set, rate-limit buckets live in Redis and are shared by every gateway process",
    )
    key_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description="How long a gateway process trusts a key it has checked before asking the database again; "
        "a key revoked elsewhere (another gateway process, the CLI) is refused within this many seconds, "
        "0 checks every request",
    )
    rate_limit_window_seconds: float = Field(
        60.0, gt=0, description="The window the per-role request budgets below are counted over"
    )
    rate_limit_supplier: int = Field(120, gt=0, description="Requests per window for a supplier key")
    rate_limit_officer: int = Field(600, gt=0, description="Requests per window for an officer key")
    rate_limit_admin: int = Field(600, gt=0, description="Requests per window for an admin key")
    rate_limit_service: int = Field(1200, gt=0, description="Requests per window for a service key")
    rate_limit_anonymous: int = Field(
        60, gt=0, description="Requests per window per client address without a (valid) key"
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError(f"not a database URL: {value!r}")
        # psycopg 3 is the PostgreSQL driver Tessera installs; the bare scheme would ask for psycopg2.
        if scheme in ("postgres", "postgresql"):
            return f"postgresql+psycopg://{rest}"
        if scheme in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
            return value
        raise ValueError(f"the gateway database must be SQLite or PostgreSQL, got the scheme {scheme!r}")

    @field_validator("invoicing_url", "payments_url", "receipts_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        urls = [url.strip().rstrip("/") for url in value.split(",") if url.strip()]
        if not urls:
            raise ValueError("at least one upstream URL is needed")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"an upstream URL must start with http:// or https://, got {url!r}")
        return ",".join(urls)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url("gateway")

    def upstream_urls(self) -> dict[str, list[str]]:
        """Each service's replicas: the base URLs its requests go to, in turn."""
        urls = {"invoicing": self.invoicing_url, "payments": self.payments_url, "receipts": self.receipts_url}
        return {name: value.split(",") for name, value in urls.items()}

    def role_limit(self, role: Role | None) -> int:
        """Requests per window for a key of ``role``; ``None`` is a caller without a key."""
        if role is None:
            return self.rate_limit_anonymous
        return {
            Role.SUPPLIER: self.rate_limit_supplier,
            Role.OFFICER: self.rate_limit_officer,
            Role.ADMIN: self.rate_limit_admin,
            Role.SERVICE: self.rate_limit_service,
        }[role]
