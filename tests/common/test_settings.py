from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.settings import CommonSettings, MunicipalitySettings


def test_development_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESSERA_ENV", raising=False)
    settings = CommonSettings()
    assert settings.environment == "development"
    assert settings.webhook_secret_list and settings.internal_secret_list


def test_production_refuses_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_ENV", "production")
    monkeypatch.setenv("TESSERA_INTERNAL_SECRETS", "a-real-internal-secret-of-some-length")
    monkeypatch.delenv("TESSERA_WEBHOOK_SECRETS", raising=False)
    with pytest.raises(ValidationError, match="TESSERA_WEBHOOK_SECRETS"):
        CommonSettings()


def test_production_refuses_a_development_secret_kept_for_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_ENV", "production")
    monkeypatch.setenv("TESSERA_WEBHOOK_SECRETS", "new-real-secret,dev-webhook-secret")
    monkeypatch.setenv("TESSERA_INTERNAL_SECRETS", "a-real-internal-secret")
    with pytest.raises(ValidationError, match="TESSERA_WEBHOOK_SECRETS"):
        CommonSettings()


def test_production_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_ENV", "production")
    monkeypatch.setenv("TESSERA_WEBHOOK_SECRETS", "whsec-new, whsec-old")
    monkeypatch.setenv("TESSERA_INTERNAL_SECRETS", "internal-1")
    settings = CommonSettings()
    assert settings.webhook_secret_list == ["whsec-new", "whsec-old"]


def test_municipality_routing_codes_are_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_MUNICIPALITY_ROUTING_CODES", " A1 , B2,,")
    assert MunicipalitySettings().routing_code_list == ["A1", "B2"]
