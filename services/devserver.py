"""``tessera run``: the whole suite in one terminal, on embedded defaults.

Migrates every database, seeds a demo municipality on first start (unless ``TESSERA_DEMO=0``),
then starts the three services and the gateway as child processes with their output
interleaved under a coloured name, and stops them all cleanly on Ctrl-C. This is the
development runner behind ``make run``; production runs each process on its own (see
docker-compose.yml).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from services.common.settings import REPO_ROOT


@dataclass(frozen=True)
class Process:
    name: str
    app: str  # "module:factory"
    port: int
    colour: str


def processes(base_port: int) -> list[Process]:
    return [
        Process("invoicing", "services.invoicing.app:create_app", base_port + 1, "\033[36m"),
        Process("payments", "services.payments.app:create_app", base_port + 2, "\033[35m"),
        Process("receipts", "services.receipts.app:create_app", base_port + 3, "\033[33m"),
        Process("gateway", "gateway.app:create_app", base_port, "\033[32m"),
    ]


def suite_environment(base_port: int, data_dir: Path) -> dict[str, str]:
    """Environment shared by every child: where the data lives and how the processes find each other.
    Values already set by the operator win."""
    env = dict(os.environ)
    defaults = {
        "TESSERA_DATA_DIR": str(data_dir),
        "TESSERA_LOG_FORMAT": "console",
        "TESSERA_GATEWAY_INVOICING_URL": f"http://127.0.0.1:{base_port + 1}",
        "TESSERA_GATEWAY_PAYMENTS_URL": f"http://127.0.0.1:{base_port + 2}",
        "TESSERA_GATEWAY_RECEIPTS_URL": f"http://127.0.0.1:{base_port + 3}",
        "TESSERA_PAYMENTS_SUBSCRIBERS": f"http://127.0.0.1:{base_port + 3}/webhooks/events",
        # Citizens reach the hosted payment page through the gateway, the one public entry point.
        "TESSERA_PAYMENTS_PUBLIC_URL": f"http://127.0.0.1:{base_port}",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env


def _pump(stream: IO[bytes], prefix: str, lock: threading.Lock) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        with lock:
            sys.stdout.write(f"{prefix} {line}\n")
            sys.stdout.flush()


def wait_ready(url: str, timeout: float) -> dict[str, object] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                data: dict[str, object] = response.json()
                return data
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return None


def run(args: argparse.Namespace) -> int:
    data_dir = Path(os.environ.get("TESSERA_DATA_DIR", REPO_ROOT / "var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    env = suite_environment(args.base_port, data_dir)
    os.environ.update({k: v for k, v in env.items() if k.startswith("TESSERA_")})

    from services.common.ubl_schemas import verify
    from services.devseed import prepare

    verify()
    banner = prepare(data_dir=data_dir, demo=os.environ.get("TESSERA_DEMO", "1") != "0")

    lock = threading.Lock()
    children: list[tuple[Process, subprocess.Popen[bytes]]] = []
    width = max(len(p.name) for p in processes(args.base_port))
    for proc in processes(args.base_port):
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            proc.app,
            "--factory",
            "--host",
            args.host,
            "--port",
            str(proc.port),
            "--no-access-log",
            "--log-level",
            "warning",
            # The fast event loop and HTTP parser (uvicorn[standard]); named so a missing one fails.
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ]
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        prefix = (
            f"{proc.colour}{proc.name:<{width}} |\033[0m"
            if sys.stdout.isatty()
            else f"{proc.name:<{width}} |"
        )
        assert child.stdout is not None
        threading.Thread(target=_pump, args=(child.stdout, prefix, lock), daemon=True).start()
        children.append((proc, child))

    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    gateway = f"http://{args.host}:{args.base_port}"
    health = wait_ready(f"{gateway}/healthz", timeout=60)
    with lock:
        if health is None:
            print("\n!! The gateway did not report healthy within 60 s; see the logs above.\n", flush=True)
        else:
            print(f"\nTessera is up: {health}\n", flush=True)
            print(f"  Citizen payments  {gateway}/pay")
            print(f"  Supplier portal   {gateway}/invoicing/login   (also the officer inbox)")
            print(f"  Reconciliation    {gateway}/reconciliation   (officers, after logging in)")
            print(f"  API docs          {gateway}/docs")
            print(f"  Health            {gateway}/healthz")
            for line in banner:
                print(f"  {line}")
            print("\nPress Ctrl-C to stop.\n", flush=True)

    exit_code = 0
    while not stopping.is_set():
        for proc, child in children:
            if child.poll() is not None:
                with lock:
                    print(
                        f"\n!! {proc.name} exited with code {child.returncode}; stopping the suite.",
                        flush=True,
                    )
                exit_code = 1
                stopping.set()
        stopping.wait(0.5)

    for _proc, child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for _proc, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    print("Tessera stopped.", flush=True)
    return exit_code


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="Run the whole suite on embedded defaults (development)")
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--base-port",
        type=int,
        default=8000,
        help="Gateway port; the services take the next three (default 8000)",
    )
    parser.set_defaults(func=run)
