"""docker-compose.yml describes the production-like deployment. No Docker engine runs here, so
this parses it and checks that every process, port, health check and required setting is there,
and that every setting it passes is one Tessera actually reads."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.settings_doc import settings_rows

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"invoicing": 8001, "payments": 8002, "receipts": 8003, "gateway": 8000}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def test_every_process_is_described(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", "migrate", "payments-relay", *SERVICES} <= set(compose["services"])


@pytest.mark.parametrize("name,port", SERVICES.items())
def test_each_web_process_runs_its_app_on_its_port_with_a_health_check(
    compose: dict[str, Any], name: str, port: int
) -> None:
    service = compose["services"][name]
    command = service["command"]
    assert command[0] == "uvicorn" and "--factory" in command
    assert command[command.index("--port") + 1] == str(port)
    module, factory = command[1].split(":")
    assert callable(getattr(importlib.import_module(module), factory)), command[1]
    probe = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/" in probe and ("/readyz" in probe or "/healthz" in probe)


def test_only_the_gateway_is_published(compose: dict[str, Any]) -> None:
    published = {name for name, s in compose["services"].items() if s.get("ports")}
    assert published == {"gateway"}
    assert compose["services"]["gateway"]["ports"] == ["8000:8000"]


def test_services_use_postgresql_redis_and_production_mode(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        env = env_of(compose["services"][name])
        assert env["TESSERA_ENV"] == "production"
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        for db in ("GATEWAY", "INVOICING", "PAYMENTS", "RECEIPTS"):
            assert env[f"TESSERA_{db}_DATABASE_URL"].startswith("postgresql+psycopg://"), db
    gateway = env_of(compose["services"]["gateway"])
    for upstream, port in (("INVOICING", 8001), ("PAYMENTS", 8002), ("RECEIPTS", 8003)):
        assert gateway[f"TESSERA_GATEWAY_{upstream}_URL"] == f"http://{upstream.lower()}:{port}"


def test_secrets_are_required_never_defaulted(compose: dict[str, Any]) -> None:
    env = env_of(compose["services"]["payments"])
    for secret in ("TESSERA_WEBHOOK_SECRETS", "TESSERA_INTERNAL_SECRETS"):
        assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret]), env[secret]
    assert ":?" in compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_every_setting_passed_is_one_tessera_reads(compose: dict[str, Any]) -> None:
    known = {env for _group, env, _default, _text in settings_rows()}
    for name, service in compose["services"].items():
        for key in env_of(service):
            if key.startswith("TESSERA_") or key == "REDIS_URL":
                assert key in known, f"{name} sets {key}, which no Tessera setting reads"


def test_databases_are_migrated_before_the_services_start(compose: dict[str, Any]) -> None:
    assert compose["services"]["migrate"]["command"] == ["tessera", "migrate"]
    for name in ("invoicing", "payments", "receipts"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for db in ("tessera_invoicing", "tessera_payments", "tessera_receipts"):
        assert f"CREATE DATABASE {db}" in init


def test_dockerfile_installs_the_suite_and_its_schemas() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("COPY services", "COPY gateway", "alembic.ini", "tessera schemas fetch", "USER tessera"):
        assert needed in dockerfile
