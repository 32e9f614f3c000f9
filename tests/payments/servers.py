"""Real servers for payments tests: an app under uvicorn in a thread, and localstripe (a fake
Stripe API with its own Stripe.js and signed webhooks) as a subprocess, both on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn

# localstripe's server module builds its aiohttp app at import; serving it ourselves binds it to
# 127.0.0.1 only (its own entry point listens on every interface) and starts from an empty store.
LOCALSTRIPE_MAIN = (
    "import sys\n"
    "from aiohttp import web\n"
    "from localstripe.server import app\n"
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class Served:
    """An ASGI app served by uvicorn in a thread of this process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Localstripe:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        try:
            import localstripe  # noqa: F401
        except ImportError:
            skip_or_fail(
                "localstripe is not installed (pip install -e '.[dev]'): Stripe contract tests skipped"
            )
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCALSTRIPE_MAIN, str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                skip_or_fail(f"localstripe exited at start: {error.strip()[-500:]}")
            try:
                httpx.get(f"{self.url}/v1/balance", auth=("sk_test_tessera", ""), timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        skip_or_fail("localstripe did not answer within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()

    def send_webhooks_to(self, url: str, secret: str) -> None:
        response = httpx.post(f"{self.url}/_config/webhooks/tessera", data={"url": url, "secret": secret})
        response.raise_for_status()
