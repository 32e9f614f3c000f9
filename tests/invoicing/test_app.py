"""Start-up of the invoicing service: the seal it loads (PEM, PKCS#12, development), settings
that refuse an incomplete seal or none in production, and routing codes seeded once."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12
from cryptography.x509 import load_pem_x509_certificate
from pydantic import ValidationError

from services.invoicing.app import load_sealer
from services.invoicing.settings import InvoicingSettings
from services.invoicing.ubl.seal import development_paths


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("seal")
    load_sealer(InvoicingSettings(data_dir=directory, environment="test"))  # creates the development seal
    return development_paths(directory)


def test_without_configuration_the_development_seal_is_used(pem_files: tuple[Path, Path]) -> None:
    directory = pem_files[0].parent.parent
    assert load_sealer(InvoicingSettings(data_dir=directory, environment="test")).is_development


def test_a_pem_key_and_certificate_or_a_pkcs12_file_are_loaded(
    pem_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key_path, certificate_path = pem_files
    pem = load_sealer(
        InvoicingSettings(data_dir=tmp_path, seal_key_path=key_path, seal_certificate_path=certificate_path)
    )
    key = load_pem_private_key(key_path.read_bytes(), None)
    certificate = load_pem_x509_certificate(certificate_path.read_bytes())
    bundle = tmp_path / "seal.p12"
    bundle.write_bytes(
        pkcs12.serialize_key_and_certificates(b"seal", key, certificate, None, BestAvailableEncryption(b"pw"))  # type: ignore[arg-type]
    )
    p12 = load_sealer(InvoicingSettings(data_dir=tmp_path, seal_pkcs12_path=bundle, seal_password="pw"))
    assert pem.certificate == p12.certificate == certificate
    assert not (tmp_path / "keys").exists()  # no development seal was made


def test_an_incomplete_seal_or_none_in_production_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="seal_certificate_path"):
        InvoicingSettings(data_dir=tmp_path, seal_key_path=tmp_path / "k.pem")
    with pytest.raises(ValidationError, match="needs the municipality's seal"):
        InvoicingSettings(
            data_dir=tmp_path, environment="production", internal_secrets="x-in", webhook_secrets="x-hook"
        )


def test_routing_codes_are_seeded_once_and_a_deactivated_one_stays_off(
    invoicing_settings: InvoicingSettings, principal_headers: object
) -> None:
    from fastapi.testclient import TestClient

    from services.invoicing.app import create_app

    officer = principal_headers("officer")  # type: ignore[operator]
    with TestClient(create_app(invoicing_settings)) as client:
        assert (
            client.patch("/v1/routing-codes/UFDEMO-PW", json={"active": False}, headers=officer).status_code
            == 200
        )
    with TestClient(create_app(invoicing_settings)) as client:
        codes = client.get("/v1/routing-codes?include_inactive=true", headers=officer).json()
        assert [(c["code"], c["active"]) for c in codes] == [("UFDEMO-FIN", True), ("UFDEMO-PW", False)]


def test_readiness_needs_the_ubl_schemas(invoicing_client: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from services.common import ubl_schemas

    assert isinstance(invoicing_client, TestClient)

    def missing(directory: Path | None = None, **_: object) -> Path:
        raise ubl_schemas.SchemasMissing("UBL 2.1 schemas missing; run tessera ubl-schemas fetch")

    def present(directory: Path | None = None, **_: object) -> Path:
        return Path("/schemas")

    monkeypatch.setattr(ubl_schemas, "verify", missing)
    down = invoicing_client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"] == {"database": "ok", "ubl_schemas": "failing"}
    monkeypatch.setattr(ubl_schemas, "verify", present)
    assert invoicing_client.get("/readyz").status_code == 200
