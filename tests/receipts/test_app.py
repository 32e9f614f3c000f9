"""The receipts app's start-up: the signing key it loads (a configured one, or the development key,
refused in production) and its background PDF worker, which draws in a child process."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.receipts.app import PdfProcess, build_issuing, create_app
from services.receipts.document import SignatureAlgorithm
from services.receipts.models import ReceiptPdf
from services.receipts.settings import ReceiptsSettings
from services.receipts.signing import ReceiptSigner, SigningKeyError
from tests.receipts.test_endpoints import deliver, paid_event


def test_a_configured_ecdsa_key_signs_receipts(receipts_settings: ReceiptsSettings, tmp_path: Path) -> None:
    path = tmp_path / "municipality.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    issuing = build_issuing(receipts_settings.model_copy(update={"signing_key_file": path}))
    assert issuing.signer.algorithm is SignatureAlgorithm.ECDSA_P256_SHA256
    assert list(issuing.verifier.keys) == [issuing.signer.key_id]


def test_production_refuses_to_start_without_a_signing_key(tmp_path: Path) -> None:
    secrets: dict[str, Any] = {"webhook_secrets": "a-real-secret", "internal_secrets": "another-real-secret"}
    with pytest.raises(ValueError, match="TESSERA_RECEIPTS_SIGNING_KEY_FILE"):
        ReceiptsSettings(environment="production", data_dir=tmp_path, **secrets)
    ReceiptsSettings(
        environment="production", data_dir=tmp_path, signing_key_file=tmp_path / "k.pem", **secrets
    )


@pytest.mark.parametrize(("field", "value"), [("series_code", "demo city"), ("default_language", "de"),
                                              ("time_zone", "Mars/Olympus")])  # fmt: skip
def test_unusable_receipt_settings_are_refused(field: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=field):
        values: dict[str, Any] = {field: value}
        ReceiptsSettings(data_dir=tmp_path, **values)


def test_the_pdf_worker_renders_in_the_background(receipts_settings: ReceiptsSettings) -> None:
    settings = receipts_settings.model_copy(update={"pdf_worker_enabled": True, "pdf_interval_seconds": 0.05})
    with TestClient(create_app(settings)) as client:
        deliver(client, paid_event().encode())
        worker: Any = client.app.state.pdf_worker  # type: ignore[attr-defined]
        assert worker.running
        deadline = time.monotonic() + 30
        status = "pending"
        while status != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)
            with client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
                status = session.scalar(select(ReceiptPdf.status)) or "missing"
        assert status == "ready"
    assert not worker.running


def test_receipts_signed_with_a_previous_key_keep_verifying(
    receipts_settings: ReceiptsSettings, tmp_path: Path
) -> None:
    old = ReceiptSigner(Ed25519PrivateKey.generate())
    old_public = tmp_path / "old.pem"
    old_public.write_bytes(old.public_pem())
    settings = receipts_settings.model_copy(update={"previous_public_keys": f" {old_public} ,"})
    issuing = build_issuing(settings)
    assert set(issuing.verifier.keys) == {old.key_id, issuing.signer.key_id}
    missing = receipts_settings.model_copy(update={"previous_public_keys": str(tmp_path / "gone.pem")})
    with pytest.raises(SigningKeyError, match="previous public key"):
        build_issuing(missing)


# Module-level, so that the child process can import them.
def _where(_sealed: object) -> bytes:
    return json.dumps({"pid": os.getpid(), "nice": os.nice(0)}).encode()


def _die_once(marker: str, sealed: object) -> bytes:
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(3)
    return _where(sealed)


def test_pdfs_are_drawn_in_a_child_process_that_yields_the_cpu_to_requests() -> None:
    renderer = PdfProcess(_where, niceness=5)
    try:
        drawn = json.loads(renderer(None))  # type: ignore[arg-type]
    finally:
        renderer.close()
    # Not in this process, so drawing never holds the GIL the web requests need.
    assert drawn["pid"] != os.getpid()
    assert drawn["nice"] == min(os.nice(0) + 5, 19)


def test_the_drawing_process_is_replaced_after_a_number_of_pdfs() -> None:
    renderer = PdfProcess(_where, renders_per_process=2)
    try:
        pids = [json.loads(renderer(None))["pid"] for _ in range(3)]  # type: ignore[arg-type]
    finally:
        renderer.close()
    assert pids[0] == pids[1] != pids[2]  # whatever a child leaves in memory goes with it


def test_a_drawing_process_that_dies_fails_one_pdf_and_is_replaced(tmp_path: Path) -> None:
    renderer = PdfProcess(functools.partial(_die_once, str(tmp_path / "died")))
    try:
        with pytest.raises(BrokenProcessPool):
            renderer(None)  # type: ignore[arg-type]
        assert json.loads(renderer(None))["pid"] != os.getpid()  # type: ignore[arg-type]
    finally:
        renderer.close()


def test_the_drawing_process_ends_when_the_web_process_is_killed_outright() -> None:
    # A web process that draws one PDF, says its child's pid, then dies by SIGKILL (no shutdown).
    script = (
        "import json, os, signal, sys\n"
        "from services.receipts.app import PdfProcess\n"
        "from tests.receipts.test_app import _where\n"
        "renderer = PdfProcess(_where)\n"
        "print(json.loads(renderer(None))['pid'], flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    web = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=30)
    child = int(web.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, f"the PDF child {child} outlived its killed parent"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child reparented to an init that does not reap it stays a zombie: it has ended all the same.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return False
    return True


def test_the_app_draws_its_pdfs_in_a_child_process(receipts_settings: ReceiptsSettings) -> None:
    with TestClient(create_app(receipts_settings)) as client:
        worker: Any = client.app.state.pdf_worker  # type: ignore[attr-defined]
        assert isinstance(worker._renderer, PdfProcess)
