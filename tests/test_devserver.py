"""``tessera run`` (behind ``make run``) for real: four processes on 127.0.0.1, the demo seed, the
thin flow through the gateway (a citizen pays a demo fee with the sandbox card and the receipts
service records one receipt), the auth refusals, and a clean stop on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_base_port() -> int:
    """A port P such that P..P+3 are all free on 127.0.0.1."""
    for base in range(18100, 19000, 10):
        sockets = []
        try:
            for port in range(base, base + 4):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no four consecutive free ports")


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    data_dir = tmp_path_factory.mktemp("var")
    base = free_base_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(TESSERA_DATA_DIR=str(data_dir), TESSERA_PAYMENTS_RELAY_INTERVAL_SECONDS="0.2")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "--base-port", str(base)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    gateway = f"http://127.0.0.1:{base}"
    try:
        wait_for(lambda: httpx.get(f"{gateway}/healthz", timeout=2).status_code == 200, 60, "the gateway")
        yield gateway, data_dir, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_gateway_reports_every_service_ready(suite: tuple[str, Path, subprocess.Popen[str]]) -> None:
    gateway, _data_dir, _process = suite
    body = httpx.get(f"{gateway}/healthz").json()
    assert body == {"status": "ok", "services": {"invoicing": "ok", "payments": "ok", "receipts": "ok"}}


def test_thin_flow_and_refusals_through_the_gateway(suite: tuple[str, Path, subprocess.Popen[str]]) -> None:
    gateway, data_dir, _process = suite
    seeded = json.loads((data_dir / "demo-keys.json").read_text())
    officer = {"Authorization": f"Bearer {seeded['keys']['officer']}"}
    supplier = {"Authorization": f"Bearer {seeded['keys']['supplier']}"}
    payment_id = seeded["payments"][0]["id"]

    assert httpx.get(f"{gateway}/v1/receipts").status_code == 401
    assert httpx.get(f"{gateway}/v1/receipts", headers=supplier).status_code == 403
    assert httpx.get(f"{gateway}/v1/invoices", headers=supplier).status_code == 200
    assert httpx.get(f"{gateway}/v1/receipts", headers=officer).json()["total"] == 0

    page = httpx.get(f"{gateway}/pay/{payment_id}")
    assert page.status_code == 200 and "card_number" in page.text
    paid = httpx.post(
        f"{gateway}/pay/{payment_id}",
        data={"card_number": "4242 4242 4242 4242", "expiry": "12/39", "cvc": "123"},
    )
    assert paid.status_code == 303, paid.text
    assert (
        httpx.get(f"{gateway}/v1/payments/{payment_id}", headers=officer).json()["state"]["status"]
        == "success"
    )

    receipts = wait_for(
        lambda: httpx.get(f"{gateway}/v1/receipts", headers=officer).json()["items"], 20, "the receipt"
    )
    assert [r["payment_id"] for r in receipts] == [payment_id]


def test_the_demo_invoice_is_accepted_from_the_demo_supplier(
    suite: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    gateway, data_dir, _process = suite
    seeded = json.loads((data_dir / "demo-keys.json").read_text())
    supplier = {"Authorization": f"Bearer {seeded['keys']['supplier']}", "Content-Type": "application/xml"}
    response = httpx.post(
        f"{gateway}/v1/invoices",
        headers=supplier,
        content=(data_dir / "demo-invoice.xml").read_bytes(),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["report"]["valid"] is True


def test_ctrl_c_stops_every_process(suite: tuple[str, Path, subprocess.Popen[str]]) -> None:
    gateway, _data_dir, process = suite
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Tessera stopped." in output
    port = int(gateway.rsplit(":", 1)[1])
    for p in range(port, port + 4):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still answers after Ctrl-C"
