from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from services.invoicing.ubl import cli
from services.invoicing.ubl.seal import Sealer, development_paths
from tests.invoicing.ubl.support import SERVICES_INVOICE


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tessera")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    code: int = args.func(args)
    return code


@pytest.fixture
def data_dir(seal_dir: Path, sealer: Sealer) -> Path:
    """The session's development seal folder (the seal exists already)."""
    return seal_dir


def test_sign_then_verify_with_the_development_seal(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = tmp_path / "invoice.xml"
    original.write_bytes(SERVICES_INVOICE.read_bytes())
    sealed = tmp_path / "sealed.xml"
    assert run("seal", "sign", str(original), "-o", str(sealed), "--data-dir", str(data_dir)) == 0
    assert original.read_bytes() == SERVICES_INVOICE.read_bytes()
    out = capsys.readouterr().out
    assert "sealed by" in out and "original SHA-256" in out

    assert run("seal", "verify", str(sealed), "--data-dir", str(data_dir)) == 0
    out = capsys.readouterr().out
    assert "intact" in out
    assert "Tessera DEVELOPMENT seal" in out
    assert "sealed at:" in out
    assert "DEVELOPMENT seal: it proves nothing" in out

    assert run("seal", "verify", str(sealed), "--data-dir", str(data_dir), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "intact" and result["development"] is True


def test_verify_exit_codes(
    tmp_path: Path, data_dir: Path, sealer: Sealer, capsys: pytest.CaptureFixture[str]
) -> None:
    sealed = sealer.seal(SERVICES_INVOICE.read_bytes()).sealed
    altered = tmp_path / "altered.xml"
    altered.write_bytes(sealed.replace(b">1161.60</cbc:PayableAmount>", b">1.00</cbc:PayableAmount>"))
    assert run("seal", "verify", str(altered), "--data-dir", str(data_dir)) == 1
    assert "altered" in capsys.readouterr().out

    assert run("seal", "verify", str(SERVICES_INVOICE), "--data-dir", str(data_dir)) == 1
    assert "unsigned" in capsys.readouterr().out

    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"%PDF-1.7 not xml")
    assert run("seal", "verify", str(garbage), "--data-dir", str(data_dir)) == 2
    assert "unreadable" in capsys.readouterr().out

    assert run("seal", "verify", str(tmp_path / "missing.xml"), "--data-dir", str(data_dir)) == 2
    assert "cannot read" in capsys.readouterr().err


def test_verify_trusts_only_the_given_certificates(
    tmp_path: Path, sealer: Sealer, capsys: pytest.CaptureFixture[str]
) -> None:
    sealed = tmp_path / "sealed.xml"
    sealed.write_bytes(sealer.seal(SERVICES_INVOICE.read_bytes()).sealed)
    empty_data_dir = tmp_path / "no-seal-here"
    assert run("seal", "verify", str(sealed), "--data-dir", str(empty_data_dir)) == 1
    assert "untrusted" in capsys.readouterr().out
    assert not development_paths(empty_data_dir)[0].exists(), "verify must never create a seal"

    trusted = tmp_path / "trusted.pem"
    trusted.write_bytes(sealer.certificate.public_bytes(serialization.Encoding.PEM))
    assert run("seal", "verify", str(sealed), "--trust", str(trusted), "--data-dir", str(empty_data_dir)) == 0
    not_a_cert = tmp_path / "not-a-cert.pem"
    not_a_cert.write_text("hello")
    assert run("seal", "verify", str(sealed), "--trust", str(not_a_cert)) == 2
    assert "not a PEM certificate" in capsys.readouterr().err


def test_sign_with_key_and_certificate_files_and_password_from_the_environment(
    tmp_path: Path, sealer: Sealer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "seal.key"
    key.write_bytes(
        sealer._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    cert = tmp_path / "seal.pem"
    cert.write_bytes(sealer.certificate.public_bytes(serialization.Encoding.PEM))
    out = tmp_path / "out.xml"
    monkeypatch.setenv("SEAL_PASS", "s3cret")
    arguments = [
        "seal",
        "sign",
        str(SERVICES_INVOICE),
        "-o",
        str(out),
        "--key",
        str(key),
        "--cert",
        str(cert),
    ]
    assert run(*arguments, "--password-env", "SEAL_PASS") == 0
    assert run("seal", "verify", str(out), "--trust", str(cert)) == 0
    capsys.readouterr()

    monkeypatch.setenv("SEAL_PASS", "wrong")
    assert run(*arguments, "--password-env", "SEAL_PASS") == 2
    assert "cannot load the seal key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--key", "k.pem"], "--key and --cert go together"),
        (["--p12", "a.p12", "--cert", "c.pem"], "either --p12"),
        (["--p12", "missing.p12"], "cannot read"),
    ],
)
def test_sign_usage_errors(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("seal", "sign", str(SERVICES_INVOICE), "-o", str(tmp_path / "o.xml"), *extra) == 2
    assert message in capsys.readouterr().err


def test_sign_never_overwrites_the_original_and_refuses_non_invoices(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = tmp_path / "invoice.xml"
    original.write_bytes(SERVICES_INVOICE.read_bytes())
    assert run("seal", "sign", str(original), "-o", str(original), "--data-dir", str(data_dir)) == 2
    assert "must not replace the original" in capsys.readouterr().err
    assert original.read_bytes() == SERVICES_INVOICE.read_bytes()

    order = tmp_path / "order.xml"
    order.write_bytes(b"<Order xmlns='urn:example'/>")
    assert run("seal", "sign", str(order), "-o", str(tmp_path / "x.xml"), "--data-dir", str(data_dir)) == 2
    assert "cannot seal" in capsys.readouterr().err
    assert not (tmp_path / "x.xml").exists()


def test_the_tessera_entry_point_accepts_the_module() -> None:
    from services.cli import build_parser

    parser = build_parser(("services.invoicing.ubl.cli",))
    args = parser.parse_args(["seal", "verify", "invoice.xml", "--trust", "a.pem", "--trust", "b.pem"])
    assert args.func is cli.run_verify
    assert args.trust == [Path("a.pem"), Path("b.pem")]


def test_default_data_dir_comes_from_the_settings(
    tmp_path: Path, sealer: Sealer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sealed = tmp_path / "sealed.xml"
    sealed.write_bytes(sealer.seal(SERVICES_INVOICE.read_bytes()).sealed)
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path / "elsewhere"))
    assert run("seal", "verify", str(sealed)) == 1  # no development seal there: untrusted
    assert "untrusted" in capsys.readouterr().out
    monkeypatch.setenv("TESSERA_ENV", "not-an-environment")
    assert run("seal", "verify", str(sealed)) == 2
    assert "give --data-dir" in capsys.readouterr().err
