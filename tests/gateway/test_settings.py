"""Gateway settings: prefixes, defaults, validation, production refusal."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from services.common.identity import Role
from services.common.settings import InsecureSettings


def test_environment_names_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_GATEWAY_PAYMENTS_URL", "http://payments:8002/")
    monkeypatch.setenv("TESSERA_GATEWAY_RATE_LIMIT_SUPPLIER", "7")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.delenv("TESSERA_GATEWAY_DATABASE_URL", raising=False)
    settings = GatewaySettings()
    assert settings.upstream_urls() == {
        "invoicing": ["http://127.0.0.1:8001"],
        "payments": ["http://payments:8002"],
        "receipts": ["http://127.0.0.1:8003"],
    }
    assert settings.role_limit(Role.SUPPLIER) == 7
    assert settings.role_limit(None) == settings.rate_limit_anonymous
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.max_body_bytes == 25 * 1024 * 1024
    assert settings.effective_database_url.endswith("gateway.db")


def test_upstream_urls_must_be_http() -> None:
    with pytest.raises(ValidationError, match="must start with http"):
        GatewaySettings(invoicing_url="invoicing:8001")
    with pytest.raises(ValidationError, match="must start with http"):
        GatewaySettings(invoicing_url="http://a:8001,invoicing:8001")
    with pytest.raises(ValidationError, match="at least one"):
        GatewaySettings(invoicing_url=" , ")


def test_several_urls_are_the_replicas_of_a_service() -> None:
    settings = GatewaySettings(payments_url=" http://p1:8002/, http://p2:8002 ,")
    assert settings.upstream_urls()["payments"] == ["http://p1:8002", "http://p2:8002"]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(rate_limit_officer=0)
    with pytest.raises(ValidationError):
        GatewaySettings(max_body_bytes=0)


def test_production_refuses_development_secrets() -> None:
    with pytest.raises((InsecureSettings, ValidationError), match="TESSERA_INTERNAL_SECRETS"):
        GatewaySettings(environment="production", webhook_secrets="real-1")
    GatewaySettings(environment="production", webhook_secrets="real-1", internal_secrets="real-2")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@db/tessera", "postgresql+psycopg://u@db/tessera"),
        ("postgres://u@db/tessera", "postgresql+psycopg://u@db/tessera"),
        ("postgresql+psycopg://u@db/tessera", "postgresql+psycopg://u@db/tessera"),
        ("sqlite:////srv/gateway.db", "sqlite:////srv/gateway.db"),
    ],
)
def test_database_urls_use_the_installed_driver(given: str, used: str) -> None:
    assert GatewaySettings(database_url=given).effective_database_url == used


@pytest.mark.parametrize("url", ["mysql://u@db/x", "gateway.db"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="database"):
        GatewaySettings(database_url=url)
